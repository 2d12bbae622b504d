using System.Globalization;

namespace StratumProxy.Economics.Policy;

/// <summary>
/// What a rig runs: a pool (index into <see cref="PolicyInputs.Pools"/>) and a power mode (index into its
/// <see cref="PolicyModel.Modes"/>), or off.
/// </summary>
public readonly record struct RigOption(int Pool, int Mode)
{
    public static readonly RigOption Off = new(-1, -1);

    public bool IsOff => Mode < 0;

    public static RigOption Run(int pool, int mode)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pool);
        ArgumentOutOfRangeException.ThrowIfNegative(mode);
        return new RigOption(pool, mode);
    }

    public override string ToString() =>
        IsOff ? "off" : string.Create(CultureInfo.InvariantCulture, $"pool {Pool} mode {Mode}");
}

/// <summary>An operator's manual override for one rig.</summary>
public enum RigPin : byte
{
    None = 0,

    /// <summary>Always running; the policy still picks its pool and mode.</summary>
    AlwaysOn = 1,

    /// <summary>Always off.</summary>
    AlwaysOff = 2,
}

/// <summary>What a decision asks the actuators to do.</summary>
public enum ChangeKind : byte
{
    /// <summary>Nothing: the rig keeps its option.</summary>
    None = 0,

    /// <summary>Same power mode, another pool: a switch inside the proxy.</summary>
    PoolSwitch = 1,

    /// <summary>Another power mode (and maybe another pool) while running.</summary>
    ModeChange = 2,

    /// <summary>Running → off.</summary>
    Sleep = 3,

    /// <summary>Off → running.</summary>
    Wake = 4,
}
