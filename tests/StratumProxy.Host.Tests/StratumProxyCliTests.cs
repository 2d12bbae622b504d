using StratumProxy.Cli;

namespace StratumProxy.Host.Tests;

/// <summary>The executable's command line as a whole: verbs, exit codes, generated help and completions.</summary>
public sealed class StratumProxyCliTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await StratumProxyCli.InvokeAsync(args, new CliEnvironment(stdout, stderr, TimeProvider.System, StderrIsTerminal: false));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("version")]
    [InlineData("--version")]
    public async Task Version_prints_the_version_and_exits_0(string verb)
    {
        var (code, output, err) = await RunAsync(verb);
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Equal($"stratum-proxy {Admin.AdminEndpoints.Version}", output.Trim());
    }

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_lists_every_verb_and_the_run_options_and_exits_0(string verb)
    {
        var (code, output, _) = await RunAsync(verb);
        Assert.Equal(0, code);
        foreach (var name in new[] { "run", "check-config", "economics", "backtest", "demo", "version", "help" })
        {
            Assert.Matches($@"(?m)^\s+{name}\s", output);
        }

        foreach (var flag in new[] { "--config", "--listen", "--pool", "--user", "--password", "--mode", "--admin", "--start-difficulty", "--min-difficulty", "--max-difficulty", "--strict" })
        {
            Assert.Contains(flag + " ", output, StringComparison.Ordinal);
        }

        Assert.Contains("--Section:Key=value", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check-config")]
    [InlineData("demo")]
    [InlineData("run")]
    public async Task Every_verb_has_its_own_help(string verb)
    {
        var (code, output, _) = await RunAsync(verb, "--help");
        Assert.Equal(0, code);
        Assert.Matches($@"Usage:\s+\S+ {verb} \[options\]", output);
        Assert.Contains("--admin <HOST:PORT>", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "error: unknown verb 'frobnicate'; the verbs are run, check-config, economics, backtest, demo, version, help")]
    [InlineData(new[] { "--lisen", "1.2.3.4:1" }, "error: unknown option '--lisen'; see stratum-proxy --help")]
    [InlineData(new[] { "check-config", "--config" }, "error: --config needs a value")]
    [InlineData(new[] { "run", "--Admin:Endpoint" }, "error: --Admin:Endpoint needs a value")]
    [InlineData(new[] { "run", "--pool", "stratum+tcp://x:1" }, "error: --pool needs --user ACCOUNT[.WORKER] (the pool account miners' shares are credited to)")]
    [InlineData(new[] { "demo", "--admin", "nope" }, "error: demo: --admin 'nope': expected HOST:PORT (the port is missing)")]
    [InlineData(new[] { "demo", "extra" }, "error: demo: unexpected 'extra'; see stratum-proxy demo --help")]
    [InlineData(new[] { "economics", "--price", "1", "--bogus" }, "error: unknown option '--bogus' (see --help)")]
    [InlineData(new[] { "backtest", "--rig", "r:1:1" }, "error: --series FILE.csv is required")]
    public async Task A_bad_command_line_is_one_error_line_and_exit_2(string[] args, string expected)
    {
        var (code, output, err) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal(expected + Environment.NewLine, err);
    }

    [Fact]
    public async Task Economics_runs_through_the_root_command()
    {
        var (code, output, err) = await RunAsync("economics", "--price", "60000", "--electricity", "0.08", "--difficulty", "1.1e14", "--model", "S21", "--json");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains("\"model\": \"Antminer S21\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flag_given_twice_keeps_the_last_value_and_a_repeatable_one_keeps_all()
    {
        var (code, output, _) = await RunAsync("economics", "--price", "1", "--price", "60000", "--electricity", "0.08", "--difficulty", "1.1e14",
            "--model", "S21", "--model", "S19j Pro", "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"model\": \"Antminer S21\"", output, StringComparison.Ordinal);
        Assert.Contains("\"model\": \"Antminer S19j Pro\"", output, StringComparison.Ordinal);
        Assert.Contains("\"revenue_usd_per_day\": 6.85", output, StringComparison.Ordinal); // the S21 at $60,000 (no fees), not at $1

        var cli = CommandLine.Parse(["--admin", "127.0.0.1:1", "--admin", "127.0.0.1:2", "--listen", "127.0.0.1:3", "--listen", "127.0.0.1:4"]);
        Assert.Equal("127.0.0.1:2", cli.Admin);
        Assert.Equal(["127.0.0.1:3", "127.0.0.1:4"], cli.Listen);
    }

    [Fact]
    public async Task Completions_offer_the_verbs_and_each_verbs_flags()
    {
        var (code, output, _) = await RunAsync("[suggest:4]", "back");
        Assert.Equal(0, code);
        Assert.Equal(["backtest"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        (code, output, _) = await RunAsync("[suggest:17]", "economics --hashr");
        Assert.Equal(0, code);
        Assert.Equal(["--hashrate-eh"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        (code, output, _) = await RunAsync("[suggest:15]", "check-config --");
        Assert.Equal(0, code);
        Assert.Contains("--strict", output.Split('\n', StringSplitOptions.TrimEntries));
    }
}
