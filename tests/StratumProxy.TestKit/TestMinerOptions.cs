namespace StratumProxy.TestKit;

/// <summary>The JSON-RPC id habits of real miner firmware (PEERS.md #1).</summary>
public enum MinerIdStyle
{
    /// <summary>1, 2, 3, … for every request (cgminer-like).</summary>
    Numeric,

    /// <summary>cpuminer 2.5.1: subscribe 1, authorize 2, other requests 3, every submit 4 (duplicate ids).</summary>
    CpuMiner,

    /// <summary>bfgminer 5.5.0: subscribe 0, authorize "auth", then 1, 2, 3, ….</summary>
    BfgMiner,

    /// <summary>npm stratum-client: the id is the method name ("mining.submit"), subscribe params are [].</summary>
    StringMethod,
}

/// <summary>Settings of a <see cref="TestMiner"/>.</summary>
public sealed record TestMinerOptions
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    /// <summary>The worker name sent in authorize and in every submit.</summary>
    public string Worker { get; init; } = "account.worker1";

    public string Password { get; init; } = "x";

    public string UserAgent { get; init; } = "stratumproxy-testminer/1.0";

    public MinerIdStyle IdStyle { get; init; } = MinerIdStyle.Numeric;

    /// <summary>Send mining.configure before subscribe asking for version rolling (mask and min-bit-count below).</summary>
    public bool VersionRolling { get; init; }

    public uint RequestedVersionMask { get; init; } = Stratum.Mining.VersionRolling.Bip320Mask;

    public int VersionRollingMinBitCount { get; init; } = 2;

    /// <summary>Send mining.extranonce.subscribe after subscribing (never waits for an answer; ckpool gives none).</summary>
    public bool SubscribeExtranonce { get; init; }

    /// <summary>Send mining.suggest_difficulty after authorize.</summary>
    public double? SuggestDifficulty { get; init; }

    /// <summary>
    /// Apply mining.set_difficulty to the job being mined at once (cgminer and most ASIC firmware) instead of from
    /// the next job on (the Stratum text, and the default).
    /// </summary>
    public bool ApplyDifficultyImmediately { get; init; }

    /// <summary>Roll ntime forward with the clock since the job arrived, as bfgminer does.</summary>
    public bool RollNTime { get; init; }

    /// <summary>Honour client.reconnect (to the host/port given, or the same one).</summary>
    public bool FollowReconnect { get; init; } = true;

    /// <summary>Connect again after the connection drops (real firmware always does).</summary>
    public bool ReconnectOnDisconnect { get; init; } = true;

    /// <summary>Pause between connection attempts.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Hashes between two yields of the hashing task: bounds CPU use and reaction time to new jobs.</summary>
    public int HashesPerYield { get; init; } = 4096;

    /// <summary>Stop submitting after this many shares (hashing stops too); null mines until disposed.</summary>
    public long? ShareLimit { get; init; }

    /// <summary>The clock for ntime rolling and retry delays.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public int MaxLineLength { get; init; } = 64 * 1024;

    /// <summary>Receives every line in and out (for test output); null traces nothing.</summary>
    public Action<string>? Trace { get; init; }
}
