using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Routing;

/// <summary>A pool as routing sees it at one moment: what its configuration says and whether it can take miners.</summary>
/// <param name="Name">The pool's name (unique).</param>
/// <param name="Group">Its pool group.</param>
/// <param name="Priority">Its priority (lower is preferred).</param>
/// <param name="Weight">Its share within a priority tier when no TH/s targets are set.</param>
/// <param name="TargetTerahashes">Its TH/s target within a tier (0: none).</param>
/// <param name="IsReady">True when miners can be sent to it now.</param>
/// <param name="ReadyFor">How long it has been ready without interruption.</param>
/// <param name="KnownExtranonce2Size">Its extranonce2 size N as far as known (from the pool, else the configured hint).</param>
public sealed record PoolCandidate(
    string Name,
    string Group,
    int Priority,
    double Weight,
    double TargetTerahashes,
    bool IsReady,
    TimeSpan ReadyFor,
    int? KnownExtranonce2Size)
{
    /// <summary>True when miners of this layout can work here (see <see cref="PoolSelector.Fits"/>).</summary>
    public bool Fits(MinerLayout layout) => PoolSelector.Fits(KnownExtranonce2Size, layout);
}

/// <summary>The fail-back rule: whether miners return to a better-priority pool, and after how long it has been up.</summary>
/// <param name="Enabled">Fail back at all.</param>
/// <param name="Delay">How long the better pool must have been ready.</param>
public readonly record struct FailBackRule(bool Enabled, TimeSpan Delay);

/// <summary>What routing knows about one miner when it chooses a pool for it.</summary>
/// <param name="Group">The pool group of the listener it came in on.</param>
/// <param name="Layout">Its extranonce layout (k, n), fixed at its subscribe (the configured one before).</param>
/// <param name="Pinned">The pool it is pinned to, if any (<see cref="PoolSelector.Pin"/>).</param>
/// <param name="Current">The pool it is on now, if any.</param>
public readonly record struct MinerRoute(string Group, MinerLayout Layout, string? Pinned, string? Current);

/// <summary>
/// The routing policy, pure: pools and a miner in, a choice out (no I/O, no clock, no engine state). Priority
/// failover and fail-back, weights and TH/s targets within a tier, pins, and the extranonce layout fit rule: a miner is
/// never sent to a pool whose extranonce2 size N cannot hold its k + n.
/// </summary>
public static class PoolSelector
{
    /// <summary>True when a pool with extranonce2 size <paramref name="knownExtranonce2Size"/> can carry miners of
    /// <paramref name="layout"/>: N ≥ k + n, or N not known yet (assume so; the pool's answer decides).</summary>
    public static bool Fits(int? knownExtranonce2Size, MinerLayout layout) =>
        knownExtranonce2Size is not { } n || layout.FitsIn(n);

    /// <summary>The pool a worker is pinned to: the switch API's pin first, else the configured one, else null.</summary>
    public static string? Pin(string worker, IReadOnlyDictionary<string, string> apiPins, IReadOnlyDictionary<string, string> configuredPins)
    {
        ArgumentNullException.ThrowIfNull(apiPins);
        ArgumentNullException.ThrowIfNull(configuredPins);
        return apiPins.TryGetValue(worker, out var pool) ? pool : configuredPins.TryGetValue(worker, out var configured) ? configured : null;
    }

    /// <summary>
    /// The pool a miner should be on, or null when none can take it. Sticky: a miner stays where it is while that
    /// pool is ready and fits, unless a pin says otherwise or a better-priority pool has been ready for the fail-back
    /// delay. Ties within the best priority tier go to the pool furthest below its share; <paramref name="loadOf"/>
    /// gives the TH/s each pool of such a tier carries now and is asked only then.
    /// </summary>
    public static PoolCandidate? Choose(
        MinerRoute miner,
        IReadOnlyList<PoolCandidate> pools,
        FailBackRule failBack,
        Func<IReadOnlyList<PoolCandidate>, IReadOnlyDictionary<string, double>> loadOf)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(loadOf);
        var layout = miner.Layout;
        if (miner.Pinned is { } pinned && Named(pools, pinned) is { IsReady: true } pin && pin.Fits(layout))
        {
            return pin;
        }

        var current = miner.Current is { } name ? Named(pools, name) : null;

        // The ready pools of the miner's group that fit, counted and ranked without building a list: a miner that
        // stays where it is (nearly every miner on nearly every tick) costs no allocation.
        var count = 0;
        var bestPriority = int.MaxValue;
        PoolCandidate? only = null;
        for (var i = 0; i < pools.Count; i++)
        {
            var p = pools[i];
            if (string.Equals(p.Group, miner.Group, StringComparison.Ordinal) && p.IsReady && p.Fits(layout))
            {
                count++;
                bestPriority = Math.Min(bestPriority, p.Priority);
                only = p;
            }
        }

        if (count == 0)
        {
            return current is { IsReady: true } && current.Fits(layout) ? current : null;
        }

        if (current is { IsReady: true } && current.Group == miner.Group && miner.Pinned is null && current.Fits(layout)
            && (current.Priority <= bestPriority || !failBack.Enabled))
        {
            return current;
        }

        // One pool to choose from (a miner being placed when its group has one ready pool, as on every connect of a
        // single-pool farm): it is the choice, and nothing is built to find it.
        if (count == 1)
        {
            return only;
        }

        return Among(miner, pools, current, failBack, loadOf);
    }

    /// <summary>The rest of <see cref="Choose"/> when the miner may move (kept apart: its lambdas allocate).</summary>
    private static PoolCandidate? Among(
        MinerRoute miner,
        IReadOnlyList<PoolCandidate> pools,
        PoolCandidate? current,
        FailBackRule failBack,
        Func<IReadOnlyList<PoolCandidate>, IReadOnlyDictionary<string, double>> loadOf)
    {
        var layout = miner.Layout;
        var candidates = pools.Where(p => string.Equals(p.Group, miner.Group, StringComparison.Ordinal) && p.IsReady && p.Fits(layout)).ToList();
        var bestPriority = candidates.Min(p => p.Priority);
        if (current is { IsReady: true } && current.Group == miner.Group && miner.Pinned is null && current.Fits(layout))
        {
            // Fail back only to a pool that has stayed up for the delay.
            var better = candidates.Where(p => p.Priority < current.Priority && p.ReadyFor >= failBack.Delay).ToList();
            if (better.Count == 0)
            {
                return current;
            }

            candidates = better;
            bestPriority = candidates.Min(p => p.Priority);
        }

        var tier = candidates.Where(p => p.Priority == bestPriority).ToList();
        return tier.Count == 1 ? tier[0] : ByShare(tier, loadOf(tier));
    }

    /// <summary>
    /// Within one priority tier: the pool furthest below its share, by TH/s target when every pool of the tier has
    /// one, else by weight against the load's fraction. <paramref name="load"/> is the TH/s each pool carries now (a
    /// missing pool carries none); the first pool wins a tie.
    /// </summary>
    public static PoolCandidate ByShare(IReadOnlyList<PoolCandidate> tier, IReadOnlyDictionary<string, double> load)
    {
        ArgumentNullException.ThrowIfNull(tier);
        ArgumentNullException.ThrowIfNull(load);
        ArgumentOutOfRangeException.ThrowIfZero(tier.Count);
        var useTargets = tier.All(p => p.TargetTerahashes > 0);
        var totalWeight = tier.Sum(p => p.Weight);
        var totalLoad = tier.Sum(p => load.GetValueOrDefault(p.Name));
        var best = tier[0];
        var bestDeficit = double.MinValue;
        foreach (var pool in tier)
        {
            var carried = load.GetValueOrDefault(pool.Name);
            var deficit = useTargets
                ? pool.TargetTerahashes - carried
                : (totalWeight <= 0 ? 0 : pool.Weight / totalWeight) - (totalLoad <= 0 ? 0 : carried / totalLoad);
            if (deficit > bestDeficit)
            {
                bestDeficit = deficit;
                best = pool;
            }
        }

        return best;
    }

    /// <summary>
    /// Where a miner goes when its chosen pool has no place for it now: the other ready pools of its group that fit
    /// its layout, best priority first.
    /// </summary>
    public static IEnumerable<PoolCandidate> Fallbacks(MinerRoute miner, PoolCandidate desired, IReadOnlyList<PoolCandidate> pools) =>
        pools.Where(p => !string.Equals(p.Name, desired.Name, StringComparison.Ordinal) && string.Equals(p.Group, miner.Group, StringComparison.Ordinal) && p.IsReady && p.Fits(miner.Layout))
            .OrderBy(p => p.Priority);

    /// <summary>
    /// True when the group has ready pools and none of them can carry <paramref name="layout"/> (a pool with a smaller
    /// extranonce2 joined or replaced the others): a miner of that layout must get another one or reconnect.
    /// </summary>
    public static bool FitsNoReadyPool(string group, MinerLayout layout, IReadOnlyList<PoolCandidate> pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        var ready = pools.Where(p => string.Equals(p.Group, group, StringComparison.Ordinal) && p.IsReady).ToList();
        return ready.Count > 0 && !ready.Any(p => p.Fits(layout));
    }

    /// <summary>
    /// The layout new miners of a pool group get now: fitted to the smallest extranonce2 size among the group's pools
    /// (seen from the pool, else its configured hint), the configured one while none is known or all leave room.
    /// </summary>
    public static MinerLayout LayoutFor(string group, IReadOnlyList<PoolCandidate> pools, MinerLayout configured)
    {
        ArgumentNullException.ThrowIfNull(pools);

        // Asked on each miner's subscribe: the group's known sizes gathered on the stack (a farm has a few pools).
        Span<int> sizes = pools.Count <= 64 ? stackalloc int[pools.Count] : new int[pools.Count];
        var known = 0;
        for (var i = 0; i < pools.Count; i++)
        {
            if (string.Equals(pools[i].Group, group, StringComparison.Ordinal) && pools[i].KnownExtranonce2Size is { } size)
            {
                sizes[known++] = size;
            }
        }

        return MinerLayout.ForGroup(sizes[..known], configured) ?? configured;
    }

    /// <summary>The pool whose extranonce2 size forces the group's layout below the configured one, if any.</summary>
    public static PoolCandidate? AdaptingPool(string group, IReadOnlyList<PoolCandidate> pools, MinerLayout configured)
    {
        ArgumentNullException.ThrowIfNull(pools);
        if (LayoutFor(group, pools, configured) == configured)
        {
            return null;
        }

        return pools.Where(p => string.Equals(p.Group, group, StringComparison.Ordinal) && p.KnownExtranonce2Size is not null)
            .MinBy(p => p.KnownExtranonce2Size);
    }

    private static PoolCandidate? Named(IReadOnlyList<PoolCandidate> pools, string name)
    {
        for (var i = 0; i < pools.Count; i++)
        {
            if (string.Equals(pools[i].Name, name, StringComparison.Ordinal))
            {
                return pools[i];
            }
        }

        return null;
    }
}
