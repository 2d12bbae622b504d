using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;
using StratumProxy.Farm;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;
using StratumProxy.Proxy.Routing;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed partial class CurtailmentLoopTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-curtail-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly Prometheus.CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly ProxyEngine _engine;
    private readonly FarmEconomics _farm;

    public CurtailmentLoopTests()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(_registry);
        var proxy = new ProxyOptions
        {
            Listeners = [new ListenerOptions { Endpoint = "127.0.0.1:0" }],
            Pools = [new PoolOptions { Name = "main", Url = "stratum+tcp://127.0.0.1:1", User = "u" }],
        };
        _engine = new ProxyEngine(proxy, _time, NullLogger.Instance, new ProxyMetrics(factory));
        var options = new FarmOptions
        {
            PriceUsd = 45_000,
            Difficulty = 1.1e14,
            FeesBtcPerBlock = 0.02,
            Rigs =
            [
                new RigOptions { Worker = "farm.s19", Model = "Antminer S19j Pro", Api = "cgminer", Address = "127.0.0.1:4028" },
                new RigOptions { Worker = "farm.s21xp", Model = "Antminer S21 XP", Api = "cgminer", Address = "127.0.0.1:4029" },
            ],
        };
        _farm = new FarmEconomics(options, _engine, _time, factory, new EnergyCostModel(new FlatTariff(new UsdPerKwh(0.08))), RigCatalog.LoadEmbedded(), null);
    }

    private readonly List<IDisposable> _stores = [];

    private CurtailmentLoop Loop(bool dryRun, IRigActuator actuator) => New(
        new CurtailmentSettings { DryRun = dryRun, AuditLog = "audit/decisions.jsonl", Ledger = "ledger.db", MinOffDwell = TimeSpan.FromMinutes(15), MinOnDwell = TimeSpan.FromMinutes(15) },
        _farm,
        _engine,
        actuator,
        Prometheus.Metrics.WithCustomRegistry(_registry));

    /// <summary>A loop with its audit log and ledger under the test's directory (closed when the test ends).</summary>
    private CurtailmentLoop New(CurtailmentSettings settings, FarmEconomics farm, ProxyEngine engine, IRigActuator actuator, Prometheus.IMetricFactory metrics)
    {
        var audit = new StratumProxy.Curtailment.AuditLog(Path.Combine(_directory, settings.AuditLog));
        var ledger = new StratumProxy.Curtailment.EnergyLedger(Path.Combine(_directory, settings.Ledger));
        _stores.Add(audit);
        _stores.Add(ledger);
        return new CurtailmentLoop(settings, farm, engine, _time, actuator, metrics, NullLogger.Instance, audit, ledger);
    }

    [Fact]
    public async Task In_dry_run_the_losing_rig_is_put_to_sleep_on_paper_only_and_wakes_when_the_price_recovers()
    {
        var actuator = Substitute.For<IRigActuator>();
        using var loop = Loop(dryRun: true, actuator);

        // At $45k, 1.1e14 and $0.08/kWh an S19j Pro loses about $3.1 a day (revenue 3.45 × 0.75, cost 5.66: see
        // docs/economics.md), more than a power cycle costs over the payback hour; an S21 XP still earns.
        await loop.EvaluateAsync(CancellationToken.None);
        var rigs = loop.Rigs();
        Assert.Equal("sleeping", rigs.Single(r => r.Rig == "farm.s19").State);
        Assert.Equal("running", rigs.Single(r => r.Rig == "farm.s21xp").State);
        await actuator.DidNotReceiveWithAnyArgs().SleepAsync(default!, default);

        var lines = loop.Audit.ReadCurrent();
        var sleep = lines.Select(l => JsonDocument.Parse(l).RootElement).Single(e => e.GetProperty("kind").GetString() == "sleep");
        Assert.Equal("farm.s19", sleep.GetProperty("rig").GetString());
        Assert.Equal("every_option_loses_money", sleep.GetProperty("reason").GetString());
        Assert.Equal("dry_run", sleep.GetProperty("outcome").GetString());
        Assert.True(sleep.GetProperty("dry_run").GetBoolean());
        Assert.Equal(45_000, sleep.GetProperty("price_usd").GetDouble());
        Assert.True(sleep.GetProperty("current_profit_usd_per_day").GetDouble() < 0);
        Assert.Contains(sleep.GetProperty("options").EnumerateArray(), o => o.GetProperty("option").GetString() == "off");

        // The price doubles: the S19j Pro pays again, but it must stay off for the dwell time first.
        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        _time.Advance(TimeSpan.FromMinutes(5));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("sleeping", loop.Rigs().Single(r => r.Rig == "farm.s19").State);
        Assert.Equal("min_off_dwell", loop.Rigs().Single(r => r.Rig == "farm.s19").LastReason);

        _time.Advance(TimeSpan.FromMinutes(11));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("running", loop.Rigs().Single(r => r.Rig == "farm.s19").State);
        Assert.Contains(loop.Audit.ReadCurrent(), l => l.Contains("\"kind\":\"wake\"", StringComparison.Ordinal));

        // The ledger booked the avoided energy of the sleeping hours: 16 minutes of an S19j Pro.
        var rows = loop.Ledger.Query(_time.GetUtcNow().AddHours(-2), _time.GetUtcNow().AddHours(1), "farm.s19");
        var watts = RigCatalog.LoadEmbedded().Find("Antminer S19j Pro")!.Nominal.Power.Watts;
        Assert.Equal(watts / 1000 * 16 / 60, rows.Sum(r => r.KwhAvoided), 6);

        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        var metrics = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("stratumproxy_rig_state{worker=\"farm.s19\",state=\"running\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_decisions_total{kind=\"sleep\",reason=\"every_option_loses_money\",mode=\"dry_run\",outcome=\"dry_run\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_a_rig_changes_state_only_when_its_api_confirms_and_a_failure_is_logged_not_retried_in_a_loop()
    {
        var actuator = Substitute.For<IRigActuator>();
        actuator.SleepAsync(Arg.Any<RigOptions>(), Arg.Any<CancellationToken>())
            .Returns(new ActuationOutcome("failed", "access denied (cgminer code 45)"), new ActuationOutcome("confirmed", "read back: all devices disabled"));
        using var loop = Loop(dryRun: false, actuator);

        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("running", loop.Rigs().Single(r => r.Rig == "farm.s19").State);
        Assert.Contains(loop.Audit.ReadCurrent(), l => l.Contains("\"outcome\":\"failed\"", StringComparison.Ordinal) && l.Contains("access denied", StringComparison.Ordinal));
        await actuator.Received(1).SleepAsync(Arg.Is<RigOptions>(r => r.Worker == "farm.s19"), Arg.Any<CancellationToken>());

        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("sleeping", loop.Rigs().Single(r => r.Rig == "farm.s19").State);
        await actuator.Received(2).SleepAsync(Arg.Any<RigOptions>(), Arg.Any<CancellationToken>());
        await actuator.DidNotReceiveWithAnyArgs().WakeAsync(default!, default);
    }

    [Fact]
    public async Task A_measured_power_override_is_what_the_policy_weighs()
    {
        // At $45k an S21 XP at its catalog 3645 W about breaks even (it keeps running); measured at 6000 W it loses
        // over $4 a day and is the one put to sleep.
        using (var loop = Loop(dryRun: true, Substitute.For<IRigActuator>()))
        {
            await loop.EvaluateAsync(CancellationToken.None);
            Assert.Equal("running", loop.Rigs().Single(r => r.Rig == "farm.s21xp").State);
        }

        _farm.Options = _farm.Options with { Rigs = [_farm.Options.Rigs[0], _farm.Options.Rigs[1] with { PowerW = 6000 }] };
        using var measured = New(
            new CurtailmentSettings { DryRun = true, AuditLog = "audit2/decisions.jsonl", Ledger = "ledger2.db" },
            _farm, _engine, Substitute.For<IRigActuator>(), Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        await measured.EvaluateAsync(CancellationToken.None);
        var rig = measured.Rigs().Single(r => r.Rig == "farm.s21xp");
        Assert.Equal("sleeping", rig.State);
        Assert.Equal("every_option_loses_money", rig.LastReason);
    }

    [Fact]
    public async Task A_rig_with_power_modes_is_moved_to_the_mode_that_pays_and_only_once_its_api_confirms()
    {
        // At $45k the S21 XP's normal mode (270 TH/s, 3645 W) about breaks even; its 2400 W target (200 TH/s) earns
        // about $0.57 a day: revenue 200 × $0.0259/TH/day against 2.4 kW × 24 h × $0.08.
        _farm.Options = _farm.Options with
        {
            Rigs =
            [
                _farm.Options.Rigs[0],
                _farm.Options.Rigs[1] with
                {
                    Modes =
                    [
                        new RigModeOptions { Name = "normal", Terahashes = 270, Watts = 3645 },
                        new RigModeOptions { Name = "eco", Terahashes = 200, Watts = 2400, PowerTargetW = 2400 },
                    ],
                },
            ],
        };
        var actuator = Substitute.For<IRigActuator>();
        actuator.SleepAsync(default!, default).ReturnsForAnyArgs(new ActuationOutcome("confirmed", "asleep"));
        actuator.SetModeAsync(default!, default!, default).ReturnsForAnyArgs(new ActuationOutcome("confirmed", "power target 2400 W read back"));
        using var loop = Loop(dryRun: false, actuator);
        await loop.EvaluateAsync(CancellationToken.None);

        await actuator.Received(1).SetModeAsync(Arg.Is<RigOptions>(r => r.Worker == "farm.s21xp"), Arg.Is<RigModeOptions>(m => m.PowerTargetW == 2400), Arg.Any<CancellationToken>());
        var entry = loop.Audit.ReadCurrent().Select(l => JsonDocument.Parse(l).RootElement).Single(e => e.GetProperty("rig").GetString() == "farm.s21xp");
        Assert.Equal("mode_change", entry.GetProperty("kind").GetString());
        Assert.Equal("main/1", entry.GetProperty("to").GetString());
        Assert.Equal("confirmed", entry.GetProperty("outcome").GetString());
        Assert.Equal(3, entry.GetProperty("options").GetArrayLength());
    }

    [Fact]
    public async Task An_interval_across_the_hour_is_booked_to_both_hours()
    {
        using var loop = Loop(dryRun: true, Substitute.For<IRigActuator>());
        _time.Advance(TimeSpan.FromMinutes(50));        // 12:50: the S19j Pro is put to sleep (on paper)
        await loop.EvaluateAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(20));        // 13:10
        await loop.EvaluateAsync(CancellationToken.None);

        var rows = loop.Ledger.Query(_time.GetUtcNow().AddHours(-3), _time.GetUtcNow().AddHours(1), "farm.s19");
        var kw = RigCatalog.LoadEmbedded().Find("Antminer S19j Pro")!.Nominal.Power.Watts / 1000;
        Assert.Equal(2, rows.Count);
        Assert.Equal(12, rows[0].Hour.Hour);
        Assert.Equal(kw * 10 / 60, rows[0].KwhAvoided, 9);
        Assert.Equal(13, rows[1].Hour.Hour);
        Assert.Equal(kw * 10 / 60, rows[1].KwhAvoided, 9);
    }

    [Fact]
    public async Task Rigs_move_to_a_pool_of_another_sha256_coin_when_it_pays_more()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry());
        var proxy = new ProxyOptions
        {
            Listeners = [new ListenerOptions { Endpoint = "127.0.0.1:0" }],
            Pools = [new PoolOptions { Name = "btc", Url = "stratum+tcp://127.0.0.1:1", User = "u" }, new PoolOptions { Name = "bch", Url = "stratum+tcp://127.0.0.1:2", User = "u" }],
        };
        await using var engine = new ProxyEngine(proxy, _time, NullLogger.Instance, new ProxyMetrics(factory));
        var options = new FarmOptions
        {
            PriceUsd = 60_000,
            Difficulty = 1.1e14,
            Rigs = [new RigOptions { Worker = "farm.s21xp", Model = "Antminer S21 XP" }],
            Pools = new Dictionary<string, PoolTermsOptions>(StringComparer.Ordinal) { ["bch"] = new PoolTermsOptions { Coin = "BCH" } },
            Coins = new Dictionary<string, CoinMarketOptions>(StringComparer.OrdinalIgnoreCase) { ["BCH"] = new CoinMarketOptions { PriceUsd = 450, Difficulty = 1.1e12 } },
        };

        // BCH at $450 with 1/100 of BTC's difficulty pays 0.75 × BTC's $/TH: less. At $900 it pays 1.5 ×: more.
        var farm = new FarmEconomics(options, engine, _time, factory, new EnergyCostModel(new FlatTariff(new UsdPerKwh(0.05))), RigCatalog.LoadEmbedded(), null);
        using var loop = New(new CurtailmentSettings { DryRun = true, AuditLog = "coins/decisions.jsonl", Ledger = "coins.db" }, farm, engine, Substitute.For<IRigActuator>(), factory);
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("btc", loop.Rigs().Single().Pool);

        farm.Options = options with { Coins = new Dictionary<string, CoinMarketOptions>(StringComparer.OrdinalIgnoreCase) { ["BCH"] = options.Coins["BCH"] with { PriceUsd = 900 } } };
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("bch", loop.Rigs().Single().Pool);
        Assert.Contains(loop.Audit.ReadCurrent(), l => l.Contains("\"kind\":\"pool_switch\"", StringComparison.Ordinal) && l.Contains("\"to\":\"bch/0\"", StringComparison.Ordinal));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // xUnit 2 calls IAsyncLifetime.DisposeAsync on a test class, not IAsyncDisposable: without it every test left its
    // folder (audit log and ledger) behind.
    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        await _engine.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
