using System.Globalization;
using System.Text.Json;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Market;

/// <summary>A look-ahead at the next difficulty retarget.</summary>
/// <param name="Current">Difficulty now.</param>
/// <param name="Projected">Expected difficulty after the next retarget.</param>
/// <param name="RetargetHeight">Height at which it takes effect.</param>
/// <param name="EstimatedRetargetTime">When that height is expected.</param>
public sealed record DifficultyOutlook(Difficulty Current, Difficulty Projected, long RetargetHeight, DateTimeOffset EstimatedRetargetTime)
{
    /// <summary>Relative change, e.g. 0.03 for +3 %.</summary>
    public double Change => (Projected.Value / Current.Value) - 1.0;
}

/// <summary>Projects the next Bitcoin-style (every N blocks) retarget.</summary>
public static class DifficultyProjection
{
    /// <summary>
    /// From two observed blocks of the current epoch (e.g. the epoch's first block and the tip): the mean block
    /// time so far predicts the retarget as D × spacing / mean, clamped to the consensus limit of ×4 / ÷4.
    /// </summary>
    public static DifficultyOutlook FromBlockTimes(
        Coin coin, Difficulty current, long firstHeight, DateTimeOffset firstTime, long tipHeight, DateTimeOffset tipTime)
    {
        ArgumentNullException.ThrowIfNull(coin);
        if (tipHeight <= firstHeight || tipTime <= firstTime)
        {
            throw new ArgumentException("the tip must be later than the first block, in height and in time");
        }

        var meanSeconds = (tipTime - firstTime).TotalSeconds / (tipHeight - firstHeight);
        var factor = Math.Clamp(coin.TargetSpacing.TotalSeconds / meanSeconds, 0.25, 4.0);
        var retargetHeight = ((tipHeight / coin.RetargetInterval) + 1) * coin.RetargetInterval;
        var eta = tipTime + TimeSpan.FromSeconds(meanSeconds * (retargetHeight - tipHeight));
        return new DifficultyOutlook(current, new Difficulty(current.Value * factor), retargetHeight, eta);
    }

    /// <summary>
    /// Reads a mempool-style difficulty-adjustment answer (fields difficultyChange in percent, nextRetargetHeight,
    /// estimatedRetargetDate in Unix milliseconds).
    /// </summary>
    public static DifficultyOutlook FromMempoolAdjustment(string json, Difficulty current)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var percent = root.GetProperty("difficultyChange").GetDouble();
        var height = root.GetProperty("nextRetargetHeight").GetInt64();
        var etaMs = root.GetProperty("estimatedRetargetDate").GetDouble();
        return new DifficultyOutlook(
            current,
            new Difficulty(current.Value * (1.0 + (percent / 100.0))),
            height,
            DateTimeOffset.FromUnixTimeMilliseconds((long)etaMs));
    }

    public static string Describe(DifficultyOutlook outlook)
    {
        ArgumentNullException.ThrowIfNull(outlook);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"difficulty {outlook.Current} → {outlook.Projected} ({outlook.Change:+0.00%;-0.00%}) at height {outlook.RetargetHeight}");
    }
}
