using StratumProxy.Farm;

namespace StratumProxy.Host.Tests.Curtailment;

/// <summary>
/// Rigs behind their management APIs, as the loop sees them through <see cref="IRigActuator"/>: each is awake or
/// asleep (awake unless told otherwise), may stop answering, and can be woken or slept by hand behind the loop's back.
/// Commands are recorded in order. The state lives here, outside any loop, so it survives the loop's "restart".
/// </summary>
internal sealed class FakeRigs : IRigActuator
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, bool> _awake = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreachable = new(StringComparer.Ordinal);
    private readonly List<string> _commands = [];
    private int _reading;

    /// <summary>At most this many reads ran at the same time.</summary>
    public int MaxConcurrentReads { get; private set; }

    /// <summary>While set, reads of this rig never answer (until cancelled).</summary>
    public string? Hang { get; set; }

    /// <summary>A cancelled hanging read returns "unreachable" instead of throwing, as RigCommander does.</summary>
    public bool HangReturnsWhenCancelled { get; set; }

    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_lock)
            {
                return [.. _commands];
            }
        }
    }

    public bool IsAwake(string worker)
    {
        lock (_lock)
        {
            return _awake.GetValueOrDefault(worker, true);
        }
    }

    /// <summary>Someone at the rig (or its watchdog) changes its state; the loop is not told.</summary>
    public void ByHand(string worker, bool awake)
    {
        lock (_lock)
        {
            _awake[worker] = awake;
        }
    }

    public void SetReachable(string worker, bool reachable)
    {
        lock (_lock)
        {
            if (reachable)
            {
                _unreachable.Remove(worker);
            }
            else
            {
                _unreachable.Add(worker);
            }
        }
    }

    public Task<ActuationOutcome> SleepAsync(RigOptions rig, CancellationToken cancellationToken) => Task.FromResult(Set(rig.Worker, "sleep", false));

    public Task<ActuationOutcome> WakeAsync(RigOptions rig, CancellationToken cancellationToken) => Task.FromResult(Set(rig.Worker, "wake", true));

    public Task<ActuationOutcome> SetModeAsync(RigOptions rig, RigModeOptions mode, CancellationToken cancellationToken) => Task.FromResult(new ActuationOutcome("confirmed", "mode read back"));

    public async Task<RigReading> ReadAsync(RigOptions rig, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref _reading);
        lock (_lock)
        {
            MaxConcurrentReads = Math.Max(MaxConcurrentReads, now);
        }

        try
        {
            // Let the other reads of the evaluation start before this one answers.
            await Task.Yield();
            if (Hang == rig.Worker)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException) when (HangReturnsWhenCancelled)
                {
                    return RigReading.Unreachable("no answer in time");
                }
            }

            lock (_lock)
            {
                if (_unreachable.Contains(rig.Worker))
                {
                    return RigReading.Unreachable("no connection");
                }

                var awake = _awake.GetValueOrDefault(rig.Worker, true);
                return new RigReading(RigReadKind.Known, awake, awake ? 100 : 0, null, null, awake ? "mining" : "asleep");
            }
        }
        finally
        {
            Interlocked.Decrement(ref _reading);
        }
    }

    private ActuationOutcome Set(string worker, string command, bool awake)
    {
        lock (_lock)
        {
            _commands.Add($"{command} {worker}");
            if (_unreachable.Contains(worker))
            {
                return new ActuationOutcome("unreachable", "no connection");
            }

            _awake[worker] = awake;
            return new ActuationOutcome("confirmed", awake ? "devices enabled, read back" : "devices disabled, read back");
        }
    }
}
