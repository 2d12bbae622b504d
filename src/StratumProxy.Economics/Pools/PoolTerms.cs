namespace StratumProxy.Economics.Pools;

/// <summary>How a pool pays for shares.</summary>
public enum PayoutScheme
{
    /// <summary>Full pay per share: pays the expected subsidy and the expected fees of every share.</summary>
    Fpps,

    /// <summary>Pay per share: pays the expected subsidy only; transaction fees stay with the pool.</summary>
    Pps,

    /// <summary>Pay per last N shares: pays a share of blocks actually found. Same expectation as FPPS, with luck variance.</summary>
    Pplns,
}

/// <summary>A pool's terms as they affect a rig's expected revenue.</summary>
/// <param name="Name">The pool's name.</param>
/// <param name="FeePercent">The pool's fee in percent of what it pays (2.5 means 2.5 %).</param>
/// <param name="Scheme">Payout scheme.</param>
/// <param name="RejectRate">The rig's observed rejected + stale share fraction on this pool (0.01 = 1 %).</param>
public sealed record PoolTerms(string Name, double FeePercent, PayoutScheme Scheme = PayoutScheme.Fpps, double RejectRate = 0)
{
    public static readonly PoolTerms NoFee = new("no-fee FPPS", 0);

    /// <summary>The share of the block reward a pool passes on, before its fee: subsidy only for PPS.</summary>
    public bool PaysFees => Scheme != PayoutScheme.Pps;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(FeePercent >= 0 && FeePercent < 100))
        {
            errors.Add($"pool '{Name}': fee percent must be in [0, 100)");
        }

        if (!(RejectRate >= 0 && RejectRate < 1))
        {
            errors.Add($"pool '{Name}': reject rate must be in [0, 1)");
        }

        return errors;
    }
}
