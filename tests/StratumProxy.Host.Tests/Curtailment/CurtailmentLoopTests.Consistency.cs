using StratumProxy.Farm;

namespace StratumProxy.Host.Tests.Curtailment;

/// <summary>/api/rigs never shows a state whose decision /api/decisions does not list yet.</summary>
public sealed partial class CurtailmentLoopTests
{
    /// <summary>Rigs that look at the loop (as /api/rigs and /api/decisions would) each time a command reaches them.</summary>
    private sealed class WatchedRigs(FakeRigs rigs) : IRigActuator
    {
        public Action? OnCommand { get; set; }

        public Task<ActuationOutcome> SleepAsync(RigOptions rig, CancellationToken cancellationToken)
        {
            OnCommand?.Invoke();
            return rigs.SleepAsync(rig, cancellationToken);
        }

        public Task<ActuationOutcome> WakeAsync(RigOptions rig, CancellationToken cancellationToken)
        {
            OnCommand?.Invoke();
            return rigs.WakeAsync(rig, cancellationToken);
        }

        public Task<ActuationOutcome> SetModeAsync(RigOptions rig, RigModeOptions mode, CancellationToken cancellationToken) => rigs.SetModeAsync(rig, mode, cancellationToken);

        public Task<RigReading> ReadAsync(RigOptions rig, CancellationToken cancellationToken)
        {
            OnCommand?.Invoke();
            return rigs.ReadAsync(rig, cancellationToken);
        }
    }

    [Fact]
    public async Task Every_state_shown_for_a_rig_has_its_decision_in_the_audit_log_while_the_evaluation_still_runs()
    {
        // At $20k both rigs lose money: the loop sleeps one, then the other, in one evaluation.
        _farm.Options = _farm.Options with { PriceUsd = 20_000 };
        var fake = new FakeRigs();
        var rigs = new WatchedRigs(fake);
        using var watched = Live(rigs);
        var checks = 0;
        var missing = new List<string>();
        rigs.OnCommand = () =>
        {
            checks++;
            var decisions = watched.Audit.ReadCurrent();
            foreach (var rig in watched.Rigs().Where(r => r.State != "running" && r.State != "unknown"))
            {
                if (!decisions.Any(l => l.Contains($"\"rig\":\"{rig.Rig}\"", StringComparison.Ordinal) && l.Contains("\"to\":\"off\"", StringComparison.Ordinal)))
                {
                    missing.Add($"{rig.Rig} shows {rig.State} before its decision is logged");
                }
            }
        };

        await watched.EvaluateAsync(CancellationToken.None);
        Assert.Equal(2, fake.Commands.Count(c => c.StartsWith("sleep", StringComparison.Ordinal)));
        Assert.True(checks >= 2);
        Assert.Empty(missing);

        // Found awake behind the loop's back: the reconciliation's line is there as soon as the state shows it.
        fake.ByHand(S19, awake: true);
        fake.ByHand(S21, awake: true);
        _time.Advance(TimeSpan.FromMinutes(16)); // past the on-dwell, which starts at the last read that agreed
        var found = new List<string>();
        rigs.OnCommand = () =>
        {
            var decisions = watched.Audit.ReadCurrent();
            foreach (var rig in watched.Rigs().Where(r => r.State == "running"))
            {
                if (!decisions.Any(l => l.Contains($"\"rig\":\"{rig.Rig}\"", StringComparison.Ordinal) && l.Contains("\"reason\":\"found_awake\"", StringComparison.Ordinal)))
                {
                    found.Add($"{rig.Rig} shows running before its found_awake line is logged");
                }
            }
        };
        await watched.EvaluateAsync(CancellationToken.None);
        Assert.Equal(4, fake.Commands.Count(c => c.StartsWith("sleep", StringComparison.Ordinal))); // slept again: checked while the other was
        Assert.Empty(found);
        Assert.Equal(2, watched.Audit.ReadCurrent().Count(l => l.Contains("\"reason\":\"found_awake\"", StringComparison.Ordinal)));
    }
}
