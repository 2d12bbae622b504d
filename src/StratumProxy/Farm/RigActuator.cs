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

    /// <summary>
    /// Reads the rig's state through its own API (devices enabled or disabled, hash rate, power target, pool).
    /// Never throws for a rig that does not answer: that is a <see cref="RigReadKind.Unreachable"/> reading.
    /// </summary>
    Task<RigReading> ReadAsync(RigOptions rig, CancellationToken cancellationToken);
}

/// <summary>What one read of a rig gave.</summary>
public enum RigReadKind
{
    /// <summary>The rig answered: <see cref="RigReading.Awake"/> says whether it is awake.</summary>
    Known,

    /// <summary>The rig did not answer (or answered nothing usable) in time: its state is unknown.</summary>
    Unreachable,

    /// <summary>No management API is configured (or the family cannot read state): the loop's memory stands.</summary>
    NoApi,
}

/// <summary>One read of a rig through its management API.</summary>
/// <param name="Kind">Whether the rig answered.</param>
/// <param name="Awake">True when it is not asleep (hashing, or up and not put to sleep); null unless known.</param>
/// <param name="HashrateThs">The hash rate it reports, TH/s.</param>
/// <param name="PowerLimitW">The power target it reports, W.</param>
/// <param name="PoolUrl">The pool it mines on, as it reports it.</param>
/// <param name="Detail">A human summary (the audit log and /api/rigs).</param>
public sealed record RigReading(RigReadKind Kind, bool? Awake, double? HashrateThs, int? PowerLimitW, string? PoolUrl, string Detail)
{
    /// <summary>A rig without an API.</summary>
    public static RigReading NoApi { get; } = new(RigReadKind.NoApi, null, null, null, null, "no management API configured for this rig (Economics:Rigs[].Api)");

    /// <summary>A rig that did not answer.</summary>
    public static RigReading Unreachable(string detail) => new(RigReadKind.Unreachable, null, null, null, null, detail);

    /// <summary>The reading as one word: awake, asleep, unreachable or no_api.</summary>
    public string Label => Kind switch
    {
        RigReadKind.Known => Awake == true ? "awake" : "asleep",
        RigReadKind.Unreachable => "unreachable",
        _ => "no_api",
    };
}
