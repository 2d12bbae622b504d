namespace StratumProxy.Rigs;

/// <summary>
/// How <see cref="RigCommander"/> paces one rig: bounded connect attempts with doubling back-off, and a bounded
/// number of status reads, each after a delay, to confirm a write. Defaults per family follow how slowly each applies
/// a change (Antminer config writes restart bmminer; Whatsminer power changes restart btminer; LuxOS wakeup ramps).
/// </summary>
public sealed record RigTimingPolicy
{
    public int ConnectAttempts { get; init; } = 3;

    /// <summary>Delay before the second connect attempt; doubled before each further one.</summary>
    public TimeSpan ConnectBackoff { get; init; } = TimeSpan.FromSeconds(2);

    public int ReadBackAttempts { get; init; } = 5;

    public TimeSpan ReadBackDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a rig marked unreachable is left alone before one new attempt is allowed.</summary>
    public TimeSpan UnreachableHoldOff { get; init; } = TimeSpan.FromMinutes(15);

    public static RigTimingPolicy For(RigFamily family) => family switch
    {
        RigFamily.Cgminer => new RigTimingPolicy { ReadBackAttempts = 5, ReadBackDelay = TimeSpan.FromSeconds(3) },
        RigFamily.BraiinsOs => new RigTimingPolicy { ReadBackAttempts = 6, ReadBackDelay = TimeSpan.FromSeconds(5) },
        RigFamily.LuxOs => new RigTimingPolicy { ReadBackAttempts = 12, ReadBackDelay = TimeSpan.FromSeconds(10) },
        RigFamily.WhatsminerV2 or RigFamily.WhatsminerV3 => new RigTimingPolicy { ReadBackAttempts = 12, ReadBackDelay = TimeSpan.FromSeconds(10) },
        RigFamily.Avalon => new RigTimingPolicy { ReadBackAttempts = 6, ReadBackDelay = TimeSpan.FromSeconds(10) },
        RigFamily.AntminerStock => new RigTimingPolicy { ReadBackAttempts = 8, ReadBackDelay = TimeSpan.FromSeconds(15) },
        _ => new RigTimingPolicy(),
    };
}

/// <summary>A rig as the commander knows it: a stable id for locks and audit, its client, and its pacing.</summary>
public sealed record RigHandle(string Id, IRigClient Client, RigTimingPolicy Timing)
{
    public RigHandle(string id, IRigClient client)
        : this(id, client, RigTimingPolicy.For(client?.Family ?? RigFamily.Cgminer))
    {
    }
}
