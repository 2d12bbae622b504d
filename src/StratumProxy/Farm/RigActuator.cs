namespace StratumProxy.Farm;

/// <summary>What came of a command to a rig. <see cref="Status"/> is a bounded set (a metric label).</summary>
/// <param name="Status">confirmed (read back), unconfirmed (sent, not yet seen), failed, unsupported, unreachable.</param>
/// <param name="Detail">A human reason.</param>
public sealed record ActuationOutcome(string Status, string Detail)
{
    /// <summary>True when the rig is known to be in the new state.</summary>
    public bool Confirmed => Status == "confirmed";

    /// <summary>A rig with no management API configured.</summary>
    public static ActuationOutcome NoApi { get; } = new("unsupported", "no management API configured for this rig (Economics:Rigs[].Api)");
}

/// <summary>Sleeps and wakes rigs through their own management APIs.</summary>
public interface IRigActuator
{
    /// <summary>Puts a rig to sleep (or as close to it as its firmware allows).</summary>
    Task<ActuationOutcome> SleepAsync(RigOptions rig, CancellationToken cancellationToken);

    /// <summary>Wakes a rig.</summary>
    Task<ActuationOutcome> WakeAsync(RigOptions rig, CancellationToken cancellationToken);

    /// <summary>Moves a running rig to one of its configured power modes.</summary>
    Task<ActuationOutcome> SetModeAsync(RigOptions rig, RigModeOptions mode, CancellationToken cancellationToken);

    /// <summary>The hashrate the rig itself reports (TH/s), or null when it cannot be read.</summary>
    Task<double?> ReadHashrateAsync(RigOptions rig, CancellationToken cancellationToken);
}
