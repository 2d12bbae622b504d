using StratumProxy.Economics.Market;
using StratumProxy.Economics.Units;

namespace StratumProxy.Farm;

/// <summary>
/// Projects the next difficulty retarget from the blocks the proxy itself sees: the first time a job for each new
/// height arrives is that block's time (to within the pool's notify delay). With a few blocks of the current epoch
/// seen, the mean block time gives the projection (<see cref="DifficultyProjection.FromBlockTimes"/>), which lets
/// the policy wake rigs ahead of an expected drop. Heights before a retarget boundary are forgotten.
/// </summary>
public sealed class OutlookTracker(Coin coin, int minimumBlocks = 6)
{
    private readonly SortedDictionary<long, DateTimeOffset> _firstSeen = [];
    private readonly Lock _lock = new();
    private Difficulty _difficulty;

    /// <summary>Records a job's height and the network difficulty it carries.</summary>
    public void Observe(long height, Difficulty difficulty, DateTimeOffset at)
    {
        lock (_lock)
        {
            var epochStart = height / coin.RetargetInterval * coin.RetargetInterval;
            foreach (var old in _firstSeen.Keys.Where(h => h < epochStart).ToList())
            {
                _firstSeen.Remove(old);
            }

            _firstSeen.TryAdd(height, at);
            _difficulty = difficulty;
        }
    }

    /// <summary>The projection, once enough blocks of the epoch have been seen; null before.</summary>
    public DifficultyOutlook? Current
    {
        get
        {
            lock (_lock)
            {
                if (_firstSeen.Count < minimumBlocks || _difficulty.Value <= 0)
                {
                    return null;
                }

                var first = _firstSeen.First();
                var tip = _firstSeen.Last();
                return tip.Key > first.Key && tip.Value > first.Value
                    ? DifficultyProjection.FromBlockTimes(coin, _difficulty, first.Key, first.Value, tip.Key, tip.Value)
                    : null;
            }
        }
    }
}
