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
}
