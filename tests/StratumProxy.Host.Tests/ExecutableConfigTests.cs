namespace StratumProxy.Host.Tests;

/// <summary>
/// What an operator sees from the real executable when the configuration is wrong: exit codes and stderr of
/// <c>check-config</c> and <c>run</c>, run as a child process in a folder of its own.
/// </summary>
public sealed class ExecutableConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-exe-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Theory]
    [InlineData("check-config")]
    [InlineData("run")]
    public async Task A_json_syntax_error_is_one_line_with_file_line_and_column_and_exit_1(string verb)
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, "{\n  \"Proxy\": {\n    \"Pools\": [ { \"Name\": \"a\" \"Url\": \"stratum+tcp://a:1\" } ]\n  }\n}\n");
        var (exit, _, stderr) = await ProxyProcess.RunAsync(_directory, [verb, "--config", file, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        Assert.Equal(1, exit);
        var line = Assert.Single(Lines(stderr));
        Assert.StartsWith($"error: {file}:3:30: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_appsettings_json_in_the_working_directory_is_reported_the_same_way()
    {
        File.WriteAllText(Path.Combine(_directory, "appsettings.json"), "{ \"Admin\": { \"Endpoint\": \"127.0.0.1:0\" }");
        var (exit, _, stderr) = await ProxyProcess.RunAsync(_directory, ["check-config"]);
        Assert.Equal(1, exit);
        Assert.StartsWith($"error: {Path.Combine(_directory, "appsettings.json")}:1:", Assert.Single(Lines(stderr)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check-config")]
    [InlineData("run")]
    public async Task A_key_given_twice_in_appsettings_json_is_one_line_and_exit_1(string verb)
    {
        // The web host reads ./appsettings.json itself, and its reader throws on a key given twice (in any case).
        var file = Path.Combine(_directory, "appsettings.json");
        File.WriteAllText(file, """{ "Admin": { "Endpoint": "127.0.0.1:0" }, "Proxy": { "Pools": [ { "Name": "a", "Url": "stratum+tcp://a:1", "url": "stratum+tcp://b:1", "User": "acct" } ] } }""");
        var (exit, _, stderr) = await ProxyProcess.RunAsync(_directory, [verb, "--listen", "127.0.0.1:0"]);
        Assert.Equal(1, exit);
        Assert.Equal($"error: {file}: Proxy:Pools:0:url is given twice (keys are not case-sensitive)", Assert.Single(Lines(stderr)));
    }

    [Fact]
    public async Task Unknown_keys_are_warnings_by_default_and_errors_with_strict()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """{ "Proxy": { "Pools": [ { "Name": "a", "Url": "stratum+tcp://a:1", "User": "acct", "Usr": "acct" } ], "Minerz": {} } }""");

        var (exit, stdout, stderr) = await ProxyProcess.RunAsync(_directory, ["check-config", "--config", file]);
        Assert.Equal(0, exit);
        Assert.Contains("configuration is valid", stdout, StringComparison.Ordinal);
        Assert.Contains($"warning: Proxy:Pools:0:Usr: unknown key; did you mean User? (in {file})", Lines(stderr));
        Assert.Contains($"warning: Proxy:Minerz: unknown key; did you mean Miners? (in {file})", Lines(stderr));

        (exit, stdout, stderr) = await ProxyProcess.RunAsync(_directory, ["check-config", "--strict", "--config", file]);
        Assert.Equal(1, exit);
        Assert.DoesNotContain("configuration is valid", stdout, StringComparison.Ordinal);
        Assert.Contains($"Proxy:Pools:0:Usr: unknown key; did you mean User? (in {file})", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_lists_admin_errors_beside_proxy_errors()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """{ "Proxy": { "Pools": [ { "Name": "a", "Url": "ftp://a:1", "User": "acct" } ] }, "Admin": { "Endpoint": "everywhere" } }""");
        var (exit, _, stderr) = await ProxyProcess.RunAsync(_directory, ["check-config", "--config", file]);
        Assert.Equal(1, exit);
        Assert.Contains("Proxy:Pools:0:Url 'ftp://a:1'", stderr, StringComparison.Ordinal);
        Assert.Contains("Admin:Endpoint 'everywhere'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_proxy_refuses_an_edit_that_breaks_the_json_logs_where_and_counts_it_then_applies_the_fix()
    {
        var file = Path.Combine(_directory, "farm.json");
        const string Valid = """{ "Proxy": { "Pools": [ { "Name": "main", "Url": "stratum+tcp://127.0.0.1:1", "User": "acct" } ] } }""";
        File.WriteAllText(file, Valid);
        await using var proxy = new RunningProxy(_directory, ["run", "--config", file, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]);
        var admin = await proxy.WaitForLineAsync(l => l.Contains("Admin endpoint on http://", StringComparison.Ordinal), "its admin endpoint");
        var url = new Uri(admin[admin.IndexOf("http://", StringComparison.Ordinal)..].Split(' ')[0]);
        using var http = new HttpClient { BaseAddress = url };

        // The file watcher sees the edit; the reload it triggers is refused, with the file, line and column.
        File.WriteAllText(file, Valid.Replace("\"acct\" }", "\"acct\" ", StringComparison.Ordinal));
        var refused = await proxy.WaitForLineAsync(l => l.Contains("Configuration reload refused", StringComparison.Ordinal), "the refused reload");
        Assert.Contains($"{file}:1:", refused, StringComparison.Ordinal);
        // The file watcher may report one edit more than once (truncate, then write): each sighting is refused.
        var refusedCount = System.Text.RegularExpressions.Regex.Match(
            await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            "stratumproxy_config_reloads_total\\{result=\"refused\"\\} (\\d+)");
        Assert.True(refusedCount.Success, "no refused-reload series on /metrics");
        Assert.InRange(int.Parse(refusedCount.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, 3);
        Assert.Contains("\"url\":\"stratum+tcp://127.0.0.1:1\"", await http.GetStringAsync(new Uri("/api/status", UriKind.Relative)), StringComparison.Ordinal);

        File.WriteAllText(file, Valid.Replace("127.0.0.1:1", "127.0.0.1:2", StringComparison.Ordinal));
        await proxy.WaitForLineAsync(l => l.Contains("Configuration reloaded and applied", StringComparison.Ordinal), "the applied reload");
        Assert.Contains("\"url\":\"stratum+tcp://127.0.0.1:2\"", await http.GetStringAsync(new Uri("/api/status", UriKind.Relative)), StringComparison.Ordinal);
        Assert.DoesNotContain(proxy.Seen, l => l.Contains("Unhandled", StringComparison.Ordinal));
    }
}
