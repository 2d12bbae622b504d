using System.Text.Json;
using Microsoft.Extensions.Configuration;
using StratumProxy.Farm;

namespace StratumProxy.Host.Tests.Curtailment;

/// <summary>The rig is the truth: reconciliation, reloads, restarts, unknown rigs, shutdown and the per-rig series.</summary>
public sealed partial class CurtailmentLoopTests
{
    private const string S19 = "farm.s19";
    private const string S21 = "farm.s21xp";

    private CurtailmentLoop Live(IRigActuator rigs, Func<CurtailmentSettings, CurtailmentSettings>? tweak = null, Prometheus.IMetricFactory? metrics = null)
    {
        var settings = new CurtailmentSettings
        {
            DryRun = false,
            AuditLog = "live/decisions.jsonl",
            Ledger = "live/energy.db",
            MinOffDwell = TimeSpan.FromMinutes(15),
            MinOnDwell = TimeSpan.FromMinutes(15),
        };
        return New(tweak?.Invoke(settings) ?? settings, _farm, _engine, rigs, metrics ?? Prometheus.Metrics.WithCustomRegistry(_registry));
    }

    private static List<JsonElement> Lines(CurtailmentLoop loop) => [.. loop.Audit.ReadCurrent().Select(l => JsonDocument.Parse(l).RootElement)];

    private static JsonElement Line(CurtailmentLoop loop, string rig, string reason) =>
        Assert.Single(Lines(loop), e => e.GetProperty("rig").GetString() == rig && e.GetProperty("reason").GetString() == reason);

    private static RigView Rig(CurtailmentLoop loop, string rig) => loop.Rigs().Single(r => r.Rig == rig);

    /// <summary>A reload as ProxyService does it: new option objects for the same rigs, and new settings.</summary>
    private void Reload(CurtailmentLoop loop, Func<FarmOptions, FarmOptions>? change = null)
    {
        var options = new FarmOptions
        {
            PriceUsd = _farm.Options.PriceUsd,
            Difficulty = _farm.Options.Difficulty,
            FeesBtcPerBlock = _farm.Options.FeesBtcPerBlock,
            Rigs = [.. _farm.Options.Rigs.Select(r => new RigOptions { Worker = r.Worker, Model = r.Model, Api = r.Api, Address = r.Address })],
        };
        _farm.Options = change?.Invoke(options) ?? options;
        var settings = loop.Settings;
        loop.Apply(new CurtailmentSettings
        {
            DryRun = settings.DryRun,
            AuditLog = settings.AuditLog,
            Ledger = settings.Ledger,
            MinOffDwell = settings.MinOffDwell,
            MinOnDwell = settings.MinOnDwell,
            OnShutdown = settings.OnShutdown,
        });
    }

    [Fact]
    public async Task A_reload_keeps_a_sleeping_rig_asleep_in_memory_and_wakes_it_when_power_pays_again()
    {
        var rigs = new FakeRigs();
        using var loop = Live(rigs);
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.False(rigs.IsAwake(S19));
        Assert.Equal("sleeping", Rig(loop, S19).State);

        // The reload the issue saw: the price recovers in the same edit. Memory survives; the dwell still holds.
        Reload(loop, o => o with { PriceUsd = 120_000 });
        Assert.True(loop.TakeReconcileRequest());
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("sleeping", Rig(loop, S19).State);
        Assert.Equal("min_off_dwell", Rig(loop, S19).LastReason);
        Assert.DoesNotContain(Lines(loop), e => e.GetProperty("kind").GetString() == "reconcile");

        _time.Advance(TimeSpan.FromMinutes(15));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.True(rigs.IsAwake(S19));
        Assert.Equal("running", Rig(loop, S19).State);
        Assert.Equal(["sleep farm.s19", "wake farm.s19"], rigs.Commands);
    }

    [Fact]
    public async Task A_rig_added_by_a_reload_is_read_and_reconciled_before_the_policy_decides_on_it()
    {
        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        var rigs = new FakeRigs();
        rigs.ByHand("farm.new", awake: false);
        using var loop = Live(rigs);
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.DoesNotContain(loop.Rigs(), r => r.Rig == "farm.new");

        Reload(loop, o => o with { Rigs = [.. o.Rigs, new RigOptions { Worker = "farm.new", Model = "Antminer S21 XP", Api = "cgminer", Address = "127.0.0.1:4030" }] });
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("found_asleep", Line(loop, "farm.new", "found_asleep").GetProperty("reason").GetString());
        Assert.Equal(["wake farm.new"], rigs.Commands);
        Assert.Equal("running", Rig(loop, "farm.new").State);
        Assert.Equal(["running", "running", "running"], loop.Rigs().Select(r => r.State));
    }

    [Fact]
    public async Task A_rig_removed_from_the_configuration_while_asleep_is_woken_with_an_audit_line_and_forgotten()
    {
        var rigs = new FakeRigs();
        using var loop = Live(rigs);
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.False(rigs.IsAwake(S19));

        Reload(loop, o => o with { Rigs = [.. o.Rigs.Where(r => r.Worker != S19)] });
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);

        Assert.True(rigs.IsAwake(S19));
        var line = Line(loop, S19, "removed_from_config");
        Assert.Equal(("wake", "off", "confirmed"), (line.GetProperty("kind").GetString(), line.GetProperty("from").GetString(), line.GetProperty("outcome").GetString()));
        Assert.DoesNotContain(loop.Rigs(), r => r.Rig == S19);
        Assert.False(loop.Ledger.LoadMemory().ContainsKey(S19));
        Assert.True(loop.Ledger.LoadMemory().ContainsKey(S21));

        // Released: it is not commanded again.
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal(["sleep farm.s19", "wake farm.s19"], rigs.Commands);
    }

    [Fact]
    public async Task A_rig_woken_by_hand_while_power_is_dear_is_found_awake_and_slept_again_once_its_dwell_allows()
    {
        var rigs = new FakeRigs();
        using var loop = Live(rigs);
        await loop.EvaluateAsync(CancellationToken.None);                 // 12:00 slept
        _time.Advance(TimeSpan.FromMinutes(20));
        await loop.EvaluateAsync(CancellationToken.None);                 // 12:20 still asleep, agreed
        rigs.ByHand(S19, awake: true);
        _time.Advance(TimeSpan.FromMinutes(5));
        await loop.EvaluateAsync(CancellationToken.None);                 // 12:25 found awake

        var found = Line(loop, S19, "found_awake");
        Assert.Equal(("reconcile", "off", "main/0", "observed"), (found.GetProperty("kind").GetString(), found.GetProperty("from").GetString(), found.GetProperty("to").GetString(), found.GetProperty("outcome").GetString()));
        var view = Rig(loop, S19);
        Assert.Equal(("running", "found_awake", "min_on_dwell"), (view.State, view.LastDisagreement, view.LastReason));

        // The dwell clock starts at the last read that still showed it asleep (12:20): it may sleep from 12:35.
        Assert.Equal(_time.GetUtcNow().AddMinutes(-5), view.LastPowerChange);
        _time.Advance(TimeSpan.FromMinutes(9));
        await loop.EvaluateAsync(CancellationToken.None);                 // 12:34
        Assert.True(rigs.IsAwake(S19));
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);                 // 12:35
        Assert.False(rigs.IsAwake(S19));
        Assert.Equal(["sleep farm.s19", "sleep farm.s19"], rigs.Commands);

        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream);
        var metrics = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("stratumproxy_rig_disagreements_total{worker=\"farm.s19\",reason=\"found_awake\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_rig_disagreements_total{worker=\"farm.s19\",reason=\"found_asleep\"} 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rig_found_asleep_that_the_policy_wants_running_is_woken()
    {
        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        var rigs = new FakeRigs();
        rigs.ByHand(S21, awake: false);
        using var loop = Live(rigs);

        // No memory of it: the first read finds it asleep, and nothing remembered holds it there.
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal("found_asleep", Line(loop, S21, "found_asleep").GetProperty("reason").GetString());
        Assert.True(rigs.IsAwake(S21));
        Assert.Equal(["wake farm.s21xp"], rigs.Commands);
        Assert.Equal("running", Rig(loop, S21).State);
    }

    [Fact]
    public async Task A_rig_that_does_not_answer_is_unknown_left_alone_reported_once_and_reconciled_when_it_answers()
    {
        var rigs = new FakeRigs();
        rigs.SetReachable(S19, reachable: false);
        using var loop = Live(rigs);
        await loop.EvaluateAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);

        // Losing money or not, an unknown rig is neither slept nor counted as running or asleep; one audit line.
        Assert.Empty(rigs.Commands);
        var view = Rig(loop, S19);
        Assert.Equal(("unknown", "unreachable", "unreachable"), (view.State, view.RigReports, view.LastDisagreement));
        Assert.Null(view.LastReadBack);
        Assert.Equal("unreachable", Line(loop, S19, "unreachable").GetProperty("reason").GetString());
        using (var stream = new MemoryStream())
        {
            await _registry.CollectAndExportAsTextAsync(stream);
            var metrics = System.Text.Encoding.UTF8.GetString(stream.ToArray());
            Assert.Contains("stratumproxy_rig_state{worker=\"farm.s19\",state=\"unknown\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("stratumproxy_rig_state{worker=\"farm.s19\",state=\"running\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("stratumproxy_rig_state{worker=\"farm.s19\",state=\"sleeping\"} 0", metrics, StringComparison.Ordinal);
        }

        // It answers again: reconciled, then decided on like any rig.
        rigs.SetReachable(S19, reachable: true);
        _time.Advance(TimeSpan.FromMinutes(1));
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal(["sleep farm.s19"], rigs.Commands);
        Assert.Equal(_time.GetUtcNow(), Rig(loop, S19).LastReadBack);
    }

    [Fact]
    public async Task Under_a_power_cap_an_unknown_rig_counts_as_drawing_its_power()
    {
        // Both rigs pay at $120k. The S21 XP alone (3.6 kW) fits a 5 kW cap; with the unknown S19j Pro (3.1 kW, it
        // may be running) it does not, so the known rig is the one shed.
        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        var rigs = new FakeRigs();
        rigs.SetReachable(S19, reachable: false);
        using var loop = Live(rigs, s => s with { PowerCapKw = 5 });
        await loop.EvaluateAsync(CancellationToken.None);
        Assert.Equal(("sleeping", "power_cap_shed"), (Rig(loop, S21).State, Rig(loop, S21).LastReason));
        Assert.Equal(["sleep farm.s21xp"], rigs.Commands);
    }

    [Fact]
    public async Task Reads_run_concurrently_within_the_bound_and_a_rig_that_hangs_is_unknown_after_the_timeout()
    {
        for (var i = 0; i < 6; i++)
        {
            _farm.Options = _farm.Options with { Rigs = [.. _farm.Options.Rigs, new RigOptions { Worker = $"farm.extra{i}", Model = "Antminer S21 XP", Api = "cgminer", Address = "127.0.0.1:1" }] };
        }

        var rigs = new FakeRigs { Hang = S21 };
        using var loop = Live(rigs, s => s with { MaxConcurrentReads = 3, ReadTimeout = TimeSpan.FromSeconds(10) });
        var evaluation = loop.EvaluateAsync(CancellationToken.None);
        for (var i = 0; i < 200 && !evaluation.IsCompleted; i++)
        {
            // The hanging read waits on the loop's clock; the others finish on their own.
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        await evaluation.WaitAsync(TimeSpan.FromSeconds(30));
        // The hanging read holds one of the three slots the whole time: the seven others shared the other two.
        Assert.InRange(rigs.MaxConcurrentReads, 2, 3);
        var hung = Rig(loop, S21);
        Assert.Equal(("unknown", "unreachable"), (hung.State, hung.RigReports));
        Assert.Contains("no answer within 10 s", hung.RigDetail, StringComparison.Ordinal);
        Assert.All(loop.Rigs().Where(r => r.Rig != S21), r => Assert.NotEqual("unknown", r.State));
    }

    [Fact]
    public async Task A_stop_during_the_reads_ends_the_evaluation_without_calling_any_rig_unreachable()
    {
        var rigs = new FakeRigs { Hang = S21, HangReturnsWhenCancelled = true };
        using var loop = Live(rigs);
        using var stopping = new CancellationTokenSource();
        var evaluation = loop.EvaluateAsync(stopping.Token);
        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => evaluation.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Empty(rigs.Commands);
        Assert.Empty(loop.Audit.ReadCurrent());
        Assert.All(loop.Rigs(), r => Assert.Null(r.LastDisagreement));
        Assert.Empty(loop.Ledger.LoadMemory());
    }

    [Fact]
    public async Task After_a_restart_the_loop_carries_on_from_the_ledger_dwell_included()
    {
        var rigs = new FakeRigs();
        using (var first = Live(rigs))
        {
            await first.EvaluateAsync(CancellationToken.None);             // 12:00 slept
        }

        // A new process: the same ledger, the rig still asleep. Before reading it, its state is unknown.
        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        _time.Advance(TimeSpan.FromMinutes(5));
        using var second = Live(rigs, metrics: Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        Assert.Equal("unknown", Rig(second, S19).State);
        Assert.Equal(_time.GetUtcNow().AddMinutes(-5), Rig(second, S19).LastPowerChange);

        await second.EvaluateAsync(CancellationToken.None);                // 12:05 asleep as remembered: no disagreement
        Assert.Equal(("sleeping", "min_off_dwell"), (Rig(second, S19).State, Rig(second, S19).LastReason));
        Assert.Null(Rig(second, S19).LastDisagreement);
        Assert.Equal("sleep", Rig(second, S19).LastCommand);
        Assert.Equal("confirmed", Rig(second, S19).LastOutcome);

        _time.Advance(TimeSpan.FromMinutes(10));
        await second.EvaluateAsync(CancellationToken.None);                // 12:15 the remembered dwell is over
        Assert.True(rigs.IsAwake(S19));
        Assert.Equal(["sleep farm.s19", "wake farm.s19"], rigs.Commands);
    }

    [Fact]
    public async Task The_strike_price_timers_survive_a_restart()
    {
        static CurtailmentSettings Strike(CurtailmentSettings s) => s with
        {
            StrikeSleepAboveUsdPerMwh = 50,         // $0.08/kWh is $80/MWh: above the sleep strike
            StrikeWakeBelowUsdPerMwh = 20,
            StrikeSleepAfter = TimeSpan.FromMinutes(15),
        };

        _farm.Options = _farm.Options with { PriceUsd = 120_000 };
        var rigs = new FakeRigs();
        using (var first = Live(rigs, Strike))
        {
            await first.EvaluateAsync(CancellationToken.None);             // 12:00 above the strike since now
            _time.Advance(TimeSpan.FromMinutes(10));
            await first.EvaluateAsync(CancellationToken.None);             // 12:10 holding
        }

        Assert.Empty(rigs.Commands);
        _time.Advance(TimeSpan.FromMinutes(6));
        using var second = Live(rigs, Strike, Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        await second.EvaluateAsync(CancellationToken.None);                // 12:16: 16 min above, counted from 12:00
        Assert.Equal("strike_sleep", Rig(second, S19).LastReason);
        Assert.False(rigs.IsAwake(S19));
    }

    [Fact]
    public async Task On_shutdown_wake_wakes_every_sleeping_rig_and_leave_commands_nothing()
    {
        var rigs = new FakeRigs();
        using (var leave = Live(rigs))
        {
            await leave.EvaluateAsync(CancellationToken.None);
            await leave.ShutdownAsync(CancellationToken.None);
        }

        Assert.Equal(["sleep farm.s19"], rigs.Commands);
        Assert.False(rigs.IsAwake(S19));

        using var wake = Live(rigs, s => s with { OnShutdown = ShutdownAction.Wake }, Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        _time.Advance(TimeSpan.FromMinutes(1));
        await wake.EvaluateAsync(CancellationToken.None);
        await wake.ShutdownAsync(CancellationToken.None);
        Assert.True(rigs.IsAwake(S19));
        Assert.Equal(["sleep farm.s19", "wake farm.s19"], rigs.Commands);
        Assert.Equal(("wake", "confirmed"), (Line(wake, S19, "shutdown").GetProperty("kind").GetString(), Line(wake, S19, "shutdown").GetProperty("outcome").GetString()));
        Assert.Equal("running", wake.Ledger.LoadMemory()[S19].State);
    }

    [Theory]
    [InlineData("wake", ShutdownAction.Wake)]
    [InlineData("Leave", ShutdownAction.Leave)]
    public void On_shutdown_is_read_from_the_configuration(string value, ShutdownAction expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Curtailment:OnShutdown"] = value })
            .Build();
        var settings = new Hosting.ConfigLoader(configuration, Cli.CommandLine.Parse([])).LoadCurtailment(out var errors);
        Assert.Empty(errors);
        Assert.Equal(expected, settings.OnShutdown);
        Assert.Equal(ShutdownAction.Leave, new CurtailmentSettings().OnShutdown);
    }

    [Fact]
    public void An_unknown_on_shutdown_value_is_refused_naming_the_key()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Curtailment:OnShutdown"] = "sleep" })
            .Build();
        new Hosting.ConfigLoader(configuration, Cli.CommandLine.Parse([])).LoadCurtailment(out var errors);
        Assert.Contains(errors, e => e.Contains("Curtailment", StringComparison.Ordinal) && e.Contains("OnShutdown", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_rig_has_its_series_from_the_start_and_api_rigs_shows_the_read_back()
    {
        var rigs = new FakeRigs();
        using var loop = Live(rigs);
        string Metrics()
        {
            using var stream = new MemoryStream();
            _registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
            return System.Text.Encoding.UTF8.GetString(stream.ToArray());
        }

        var before = Metrics();
        foreach (var rig in new[] { S19, S21 })
        {
            Assert.Contains($"stratumproxy_rig_state{{worker=\"{rig}\",state=\"unknown\"}} 1", before, StringComparison.Ordinal);
            Assert.Contains($"stratumproxy_rig_last_readback_timestamp_seconds{{worker=\"{rig}\"}} 0", before, StringComparison.Ordinal);
            Assert.Contains($"stratumproxy_rig_disagreements_total{{worker=\"{rig}\",reason=\"unreachable\"}} 0", before, StringComparison.Ordinal);
        }

        await loop.EvaluateAsync(CancellationToken.None);
        var after = Metrics();
        Assert.Contains($"stratumproxy_rig_last_readback_timestamp_seconds{{worker=\"farm.s19\"}} {_time.GetUtcNow().ToUnixTimeSeconds()}", after, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_rig_state{worker=\"farm.s19\",state=\"sleeping\"} 1", after, StringComparison.Ordinal);

        var json = JsonSerializer.Serialize(loop.Rigs(), CurtailmentJsonContext.Default.IReadOnlyListRigView);
        var s19 = JsonDocument.Parse(json).RootElement.EnumerateArray().Single(e => e.GetProperty("rig").GetString() == S19);
        Assert.Equal("sleeping", s19.GetProperty("state").GetString());
        Assert.Equal("asleep", s19.GetProperty("rig_reports").GetString());
        Assert.Equal(_time.GetUtcNow(), s19.GetProperty("last_read_back").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, s19.GetProperty("last_disagreement").ValueKind);
        Assert.Equal(("sleep", "confirmed"), (s19.GetProperty("last_command").GetString(), s19.GetProperty("last_outcome").GetString()));
    }
}
