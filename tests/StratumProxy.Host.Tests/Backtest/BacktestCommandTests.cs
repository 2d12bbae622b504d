using System.Globalization;
using System.Text.Json;
using StratumProxy.Cli;

namespace StratumProxy.Host.Tests.Backtest;

public sealed class BacktestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("backtest-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = StratumProxyCli.InvokeVerb("backtest", args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Header = "time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh,subsidy_btc";

    // Difficulty 86 400 × 10¹⁹ / 2³²: one H/s earns 10⁻¹⁹ blocks a day, so 100 TH/s earns 3.125 × 10⁻⁵ BTC = $3.00 a day at $96 000.
    private const string RoundDifficulty = "201165676116943.36";

    private static (double Energy, double Revenue, double Cost, double Profit, long Cycles) Scenario(JsonElement root, string name)
    {
        var s = root.GetProperty(name);
        return (s.GetProperty("energy_kwh").GetDouble(), s.GetProperty("revenue_usd").GetDouble(), s.GetProperty("power_cost_usd").GetDouble(),
            s.GetProperty("profit_usd").GetDouble(), s.GetProperty("power_cycles").GetInt64());
    }

    [Fact]
    public void Two_row_series_gives_the_hand_computed_totals()
    {
        // One 100 TH/s, 3000 W rig. 12 h at 2 ¢ then 12 h at 10 ¢ (the last row holds as long as the one before it).
        // First half, running: revenue 3.00 / 2 = $1.50, energy 3 kW × 12 h = 36 kWh, cost 36 × 0.02 = $0.72.
        // At 10 ¢ the rig loses 3.00 − 7.20 = $4.20/day; sleeping costs the $0.10 cycle over the 24 h cycle horizon
        // = $0.10/day, a gain of $4.10 > the margin (max of $0.10 and 5 % of 4.20): it sleeps. The strike (sleep above $50/MWh,
        // wake below $50) does the same. Always-on adds 36 kWh × 0.10 = $3.60 of cost and $1.50 of revenue.
        var series = Write("two.csv", $"""
            {Header}
            2026-07-13T00:00:00Z,96000,{RoundDifficulty},0,0.02,3.125
            2026-07-13T12:00:00Z,96000,{RoundDifficulty},0,0.10,3.125

            """);
        var (code, output, err) = Run("--series", series, "--rig", "old:100:3000", "--json", "--step-minutes", "60",
            "--strike-sleep-usd-per-mwh", "50", "--strike-wake-usd-per-mwh", "50");
        Assert.Equal("", err);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(["policy", "always_on", "strike_price"], root.EnumerateObject().Select(p => p.Name));
        Assert.All(root.EnumerateObject(), s => Assert.Equal(
            ["energy_kwh", "revenue_usd", "power_cost_usd", "profit_usd", "power_cycles"], s.Value.EnumerateObject().Select(p => p.Name)));

        var policy = Scenario(root, "policy");
        Assert.Equal(36, policy.Energy, 1e-9);
        Assert.Equal(1.50, policy.Revenue, 1e-9);
        Assert.Equal(0.72, policy.Cost, 1e-9);
        Assert.Equal(0.78, policy.Profit, 1e-9);
        Assert.Equal(1, policy.Cycles);
        var alwaysOn = Scenario(root, "always_on");
        Assert.Equal(72, alwaysOn.Energy, 1e-9);
        Assert.Equal(3.00, alwaysOn.Revenue, 1e-9);
        Assert.Equal(4.32, alwaysOn.Cost, 1e-9);
        Assert.Equal(-1.32, alwaysOn.Profit, 1e-9);
        Assert.Equal(0, alwaysOn.Cycles);
        Assert.Equal(policy, Scenario(root, "strike_price"));
    }

    [Fact]
    public void Wake_loses_the_configured_hashing_time()
    {
        // Off-peak, peak, off-peak, 1 h each (the last row holds 1 h too). The rig sleeps at 1 h and wakes at 2 h; the
        // 600 s wake draws power and earns nothing: revenue = 3.00 × (1 h + 1 h − 10 min) / 24 h, energy 3 kW × 2 h.
        var series = Write("wake.csv", $"""
            {Header}
            2026-07-13T00:00:00Z,96000,{RoundDifficulty},0,0.02,3.125
            2026-07-13T01:00:00Z,96000,{RoundDifficulty},0,0.50,3.125
            2026-07-13T02:00:00Z,96000,{RoundDifficulty},0,0.02,3.125
            """);
        var (code, output, _) = Run("--series", series, "--rig", "old:100:3000", "--json", "--wake-seconds", "600",
            "--min-on-minutes", "0", "--min-off-minutes", "0");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var policy = Scenario(doc.RootElement, "policy");
        Assert.Equal(3.00 * (2 - (10.0 / 60)) / 24, policy.Revenue, 1e-9);
        Assert.Equal(6, policy.Energy, 1e-9);
        Assert.Equal(1, policy.Cycles);
    }

    [Fact]
    public void Text_output_lists_the_three_scenarios()
    {
        var (code, output, err) = Run("--series", SampleSeries.Path, "--model", "S21", "--strike-sleep-usd-per-mwh", "100", "--strike-wake-usd-per-mwh", "90");
        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.Contains("168 rows, 2026-07-13T00:00Z → 2026-07-20T00:00Z; 1 rigs", output, StringComparison.Ordinal);
        Assert.Contains("sleep above 100 $/MWh (held 0 min), wake below 90 $/MWh", output, StringComparison.Ordinal);
        var lines = output.Split('\n');
        Assert.Single(lines, l => l.StartsWith("policy ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("always_on ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("strike_price ", StringComparison.Ordinal));
    }

    [Fact]
    public void Help_prints_usage()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Matches(@"Usage:\s+\S+ backtest \[options\]", output);
        Assert.Contains("at least one --model or --rig", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+--progress\s+a progress line on stderr", output);
        Assert.Matches(@"(?m)^\s+--no-progress\s", output);
    }

    private static (int Code, string Out, string Err) RunOn(bool terminal, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = StratumProxyCli.InvokeVerb("backtest", args, stdout, stderr, stderrIsTerminal: terminal);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Progress_on_a_terminal_is_one_line_rewritten_on_stderr_and_erased_and_json_stays_clean()
    {
        var (code, output, err) = RunOn(true, "--series", SampleSeries.Path, "--model", "S21", "--copies", "50", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output); // stdout is exactly the JSON document
        Assert.Equal(3, doc.RootElement.EnumerateObject().Count());
        Assert.DoesNotContain("backtest", output, StringComparison.Ordinal);

        Assert.DoesNotContain('\n', err);
        var updates = err.Split('\r', StringSplitOptions.RemoveEmptyEntries).Select(u => u.TrimEnd()).Where(u => u.Length > 0).ToList();
        Assert.Equal(101, updates.Count); // 0 % to 100 %, each once
        Assert.StartsWith("backtest:   0%  50 rigs  policy at 2026-07-13T00:15Z", updates[0], StringComparison.Ordinal);
        Assert.StartsWith("backtest: 100%  50 rigs  strike_price at 2026-07-20T00:00Z", updates[^1], StringComparison.Ordinal);
        Assert.EndsWith("\r", err, StringComparison.Ordinal);
        Assert.True(string.IsNullOrWhiteSpace(err[(err.LastIndexOf('\r', err.Length - 2) + 1)..]), "the last update is erased");

        Assert.Equal("", RunOn(true, "--series", SampleSeries.Path, "--model", "S21", "--json", "--no-progress").Err);
    }

    [Fact]
    public void Progress_elsewhere_only_when_asked_as_a_plain_line_per_tenth()
    {
        Assert.Equal("", RunOn(false, "--series", SampleSeries.Path, "--model", "S21", "--json").Err);

        var (code, output, err) = RunOn(false, "--series", SampleSeries.Path, "--model", "S21", "--json", "--progress");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.DoesNotContain('\r', err);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Equal(Enumerable.Range(0, 11).Select(i => i * 10), Percents(lines));

        // A coarse replay (two hourly rows, hourly evaluations: six steps in all) still ends with its 100 % line.
        var two = Write("two.csv", $"{Header}\n2026-07-13T00:00:00Z,96000,{RoundDifficulty},0,0.02,3.125\n2026-07-13T01:00:00Z,96000,{RoundDifficulty},0,0.10,3.125\n");
        var coarse = RunOn(false, "--series", two, "--rig", "r:100:3000", "--step-minutes", "60", "--progress").Err.TrimEnd('\n').Split('\n');
        Assert.Equal([16, 33, 50, 66, 83, 100], Percents(coarse));

        static IEnumerable<int> Percents(IEnumerable<string> lines) =>
            lines.Select(l => int.Parse(l["backtest:".Length..l.IndexOf('%', StringComparison.Ordinal)], CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00Z,96000,1e14,0,0.05\n2026-07-13T01:00:00Z,96000,abc,0,0.05\n", ":3: difficulty 'abc' is not a number")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00Z,96000,1e14,0,0.05\n2026-07-13T01:00:00Z,96000,1e14,0\n", ":3: 4 fields, the header has 5")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00+02:00,96000,1e14,0,0.05\n2026-07-13T01:00:00Z,96000,1e14,0,0.05\n", ":2: time '2026-07-13T00:00:00+02:00' is not ISO 8601 UTC")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T01:00:00Z,96000,1e14,0,0.05\n2026-07-13T01:00:00Z,96000,1e14,0,0.05\n", ":3: time 2026-07-13T01:00:00.0000000+00:00 is not after")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00Z,-1,1e14,0,0.05\n2026-07-13T01:00:00Z,96000,1e14,0,0.05\n", ":2: btc_price_usd must be ≥ 0 (got -1)")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00Z,96000,0,0,0.05\n2026-07-13T01:00:00Z,96000,1e14,0,0.05\n", ":2: difficulty must be > 0")]
    [InlineData("time,btc_price,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n", ":1: unknown column 'btc_price'")]
    [InlineData("time,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n", ":1: missing column 'btc_price_usd'")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00Z,96000,1e14,0,0.05\n", "needs at least two rows")]
    [InlineData("", "empty file")]
    [InlineData("time,btc_price_usd,difficulty,fees_btc_per_block,electricity_usd_per_kwh\n2026-07-13T00:00:00Z,96000,1e14,0,0.05\n9026-07-13T01:00:00Z,96000,1e14,0,0.05\n", ":3: time 9026-07-13T01:00:00.0000000+00:00 is 2556697 days after the previous row, and the last row holds as long as that: past 9999-12-31")]
    public void Bad_series_exits_2_naming_the_file_and_line(string csv, string expected)
    {
        var path = Write("bad.csv", csv);
        var (code, output, err) = Run("--series", path, "--rig", "r:100:3000");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: " + path, err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("2526-07-13T00:00:00Z", "1", "35,063,234 evaluations of 1 rigs")]
    [InlineData("2026-07-14T00:00:00Z", "6000000", "194 evaluations of 6,000,000 rigs")]
    public void A_replay_past_its_limits_exits_2_at_once_saying_how_much_it_would_evaluate(string secondRow, string copies, string expected)
    {
        // A mistyped year (500 years between two rows, and the last row holds as long) or a huge farm would replay
        // for hours: refused before anything is allocated for the rigs.
        var path = Write("long.csv", $"{Header}\n2026-07-13T00:00:00Z,96000,{RoundDifficulty},0,0.05,3.125\n{secondRow},96000,{RoundDifficulty},0,0.05,3.125\n");
        var (code, output, err) = Run("--series", path, "--rig", "r:100:3000", "--copies", copies);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: " + path + ": the series spans", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Contains("give a larger --step-minutes, fewer rigs or a shorter series", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void A_long_series_replays_with_a_step_that_keeps_it_within_the_limits()
    {
        // The same 1,000 years, evaluated every 30 days: 12,177 evaluations.
        var path = Write("long.csv", $"{Header}\n2026-07-13T00:00:00Z,96000,{RoundDifficulty},0,0.05,3.125\n2526-07-13T00:00:00Z,96000,{RoundDifficulty},0,0.05,3.125\n");
        var (code, output, _) = Run("--series", path, "--rig", "r:100:3000", "--step-minutes", "43200", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.True(Scenario(doc.RootElement, "always_on").Cost > 0);
    }

    [Fact]
    public void Negative_wholesale_electricity_is_accepted()
    {
        var path = Write("negative.csv", $"{Header}\n2026-07-13T00:00:00Z,96000,{RoundDifficulty},0,-0.01,3.125\n2026-07-13T01:00:00Z,96000,{RoundDifficulty},0,0.01,3.125\n");
        var (code, output, _) = Run("--series", path, "--rig", "r:100:3000", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal((3 * -0.01) + (3 * 0.01), Scenario(doc.RootElement, "always_on").Cost, 1e-9);
    }

    [Theory]
    [InlineData(new[] { "--rig", "r:100:3000" }, "--series FILE.csv is required")]
    [InlineData(new[] { "--series", "MISSING" }, "give at least one --rig")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:100" }, "--rig must be NAME:THS:WATTS (got 'r:100')")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:-5:3000" }, "--rig must be NAME:THS:WATTS with TH/s > 0 and watts > 0")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--strike-sleep-usd-per-mwh", "50" }, "give both --strike-sleep-usd-per-mwh and --strike-wake-usd-per-mwh")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--strike-sleep-usd-per-mwh", "50", "--strike-wake-usd-per-mwh", "60" }, "must not be above")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--copies", "0" }, "--copies must be a whole number from 1")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--step-minutes", "1e-10" }, "--step-minutes must be ≥ 0.001 (got 1e-10)")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--step-minutes", "1e300" }, "--step-minutes must be ≤ 5256000 (got 1e300)")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--wake-seconds", "1e300" }, "--wake-seconds must be ≤ 315360000 (got 1e300)")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--min-on-minutes", "1e300" }, "--min-on-minutes must be ≤ 5256000 (got 1e300)")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--cycle-horizon-hours", "1e300" }, "--cycle-horizon-hours must be ≤ 87600 (got 1e300)")]
    [InlineData(new[] { "--series", "MISSING", "--rig", "r:1:1", "--strike-wake-minutes", "1e300" }, "--strike-wake-minutes must be ≤ 5256000 (got 1e300)")]
    [InlineData(new[] { "--series", "MISSING", "--model", "nope" }, "cannot read series 'MISSING'")]
    public void Bad_command_line_exits_2_with_one_line(string[] args, string expected)
    {
        var (code, output, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void Unknown_model_lists_the_catalog()
    {
        var (code, _, err) = Run("--series", SampleSeries.Path, "--model", "nope");
        Assert.Equal(2, code);
        Assert.Contains("unknown model 'nope'; known models: Antminer S19j Pro", err, StringComparison.Ordinal);
    }
}
