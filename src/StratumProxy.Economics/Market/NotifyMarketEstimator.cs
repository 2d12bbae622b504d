using System.Globalization;
using System.Text.Json;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Market;

/// <summary>What one pool job says about the network.</summary>
/// <param name="Difficulty">Network difficulty from nbits.</param>
/// <param name="Height">Block height from the BIP34 push, when the coinbase carries one.</param>
/// <param name="CoinbaseValue">Sum of the coinbase outputs: subsidy + the fees of the pool's template.</param>
/// <param name="Fees">CoinbaseValue − subsidy at Height (null without a height).</param>
/// <param name="PrevHash">The job's previous-block hash (stratum form), identifying the block being mined.</param>
/// <param name="ObservedAt">When the proxy saw the job.</param>
public sealed record NotifyObservation(
    Difficulty Difficulty,
    long? Height,
    Coins CoinbaseValue,
    Coins? Fees,
    string PrevHash,
    DateTimeOffset ObservedAt);

/// <summary>The estimator's current view, for a <see cref="MarketSnapshot"/>.</summary>
/// <param name="Difficulty">Difficulty of the newest job.</param>
/// <param name="Height">Height of the newest job, when known.</param>
/// <param name="Subsidy">Subsidy at that height (from the halving schedule), or the coinbase value when no height is known.</param>
/// <param name="LatestFees">Fees in the newest template.</param>
/// <param name="AverageFees">Mean of the last template seen for each of the last blocks in the window.</param>
/// <param name="BlocksInAverage">How many blocks the average covers.</param>
/// <param name="ObservedAt">When the newest job was seen.</param>
public sealed record PoolMarketEstimate(
    Difficulty Difficulty,
    long? Height,
    Coins Subsidy,
    Coins LatestFees,
    Coins AverageFees,
    int BlocksInAverage,
    DateTimeOffset ObservedAt);

/// <summary>
/// Reads network difficulty, height, subsidy and fees from the pool's own jobs, so the proxy needs no outside feed
/// for them. Every notify's coinbase pays subsidy + the fees of the template the pool is mining, minus nothing:
/// the pool's own fee is taken later from the payout, not from the coinbase. Fees are averaged per block: for each
/// previous-block hash the last template seen counts (templates fill up during a block), over a window of blocks.
/// Safe to call from several pool connections at once. Reads no clock: each job comes with the time it was seen.
/// </summary>
public sealed class NotifyMarketEstimator
{
    private readonly Coin _coin;
    private readonly int _window;
    private readonly Lock _gate = new();
    private readonly Queue<string> _blockOrder = new();
    private readonly Dictionary<string, long> _lastFeesPerBlock = new(StringComparer.Ordinal);
    private NotifyObservation? _latest;

    public NotifyMarketEstimator(Coin coin, int blockWindow = 144)
    {
        ArgumentNullException.ThrowIfNull(coin);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockWindow, 1);
        _coin = coin;
        _window = blockWindow;
    }

    /// <summary>Records one job from its fields.</summary>
    /// <param name="prevHash">Previous-block hash as sent.</param>
    /// <param name="coinbase1Hex">coinbase1 as sent.</param>
    /// <param name="coinbase2Hex">coinbase2 as sent.</param>
    /// <param name="nbitsHex">nbits as sent.</param>
    /// <param name="extranonceLength">extranonce1 bytes + extranonce2 size of the subscription the job came on.</param>
    /// <param name="observedAt">When the job was received (the caller's clock).</param>
    public NotifyObservation Observe(string prevHash, string coinbase1Hex, string coinbase2Hex, string nbitsHex, int extranonceLength, DateTimeOffset observedAt)
    {
        ArgumentNullException.ThrowIfNull(prevHash);
        var difficulty = CompactTarget.ToDifficulty(CompactTarget.ParseHex(nbitsHex));
        var coinbase = CoinbaseTransaction.Parse(coinbase1Hex, extranonceLength, coinbase2Hex);
        long? feesSats = null;
        if (coinbase.Height is { } height)
        {
            // A template paying less than the subsidy (a pool burning fees or an empty-block template) has zero fees.
            feesSats = Math.Max(0, coinbase.TotalOutputSatoshis - _coin.SubsidySatoshisAt(height));
        }

        var observation = new NotifyObservation(
            difficulty,
            coinbase.Height,
            Coins.FromSatoshis(coinbase.TotalOutputSatoshis),
            feesSats is { } f ? Coins.FromSatoshis(f) : null,
            prevHash,
            observedAt);

        lock (_gate)
        {
            _latest = observation;
            if (feesSats is { } fees)
            {
                if (!_lastFeesPerBlock.ContainsKey(prevHash))
                {
                    _blockOrder.Enqueue(prevHash);
                    if (_blockOrder.Count > _window)
                    {
                        _lastFeesPerBlock.Remove(_blockOrder.Dequeue());
                    }
                }

                _lastFeesPerBlock[prevHash] = fees;
            }
        }

        return observation;
    }

    /// <summary>
    /// Records one raw mining.notify line (params: job id, prevhash, coinbase1, coinbase2, branches, version, nbits,
    /// ntime, clean). Returns null for a line that is not a notify.
    /// </summary>
    public NotifyObservation? ObserveNotifyLine(string jsonLine, int extranonceLength, DateTimeOffset observedAt)
    {
        using var doc = JsonDocument.Parse(jsonLine);
        var root = doc.RootElement;
        if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String ||
            !string.Equals(method.GetString(), "mining.notify", StringComparison.Ordinal))
        {
            return null;
        }

        if (!root.TryGetProperty("params", out var p) || p.ValueKind != JsonValueKind.Array || p.GetArrayLength() < 9)
        {
            throw new FormatException("mining.notify needs 9 params");
        }

        return Observe(
            p[1].GetString() ?? string.Empty,
            p[2].GetString() ?? string.Empty,
            p[3].GetString() ?? string.Empty,
            p[6].GetString() ?? string.Empty,
            extranonceLength,
            observedAt);
    }

    /// <summary>The newest job's view, or null before the first job.</summary>
    public PoolMarketEstimate? Current
    {
        get
        {
            lock (_gate)
            {
                if (_latest is not { } latest)
                {
                    return null;
                }

                var subsidy = latest.Height is { } h ? _coin.SubsidyAt(h) : latest.CoinbaseValue;
                long sum = 0;
                foreach (var fees in _lastFeesPerBlock.Values)
                {
                    sum += fees;
                }

                var count = _lastFeesPerBlock.Count;
                var average = count == 0 ? Coins.Zero : new Coins((double)sum / count / Coins.SatoshisPerCoin);
                return new PoolMarketEstimate(
                    latest.Difficulty,
                    latest.Height,
                    subsidy,
                    latest.Fees ?? Coins.Zero,
                    average,
                    count,
                    latest.ObservedAt);
            }
        }
    }

    /// <summary>Builds a market snapshot from the pool's view plus a price from elsewhere.</summary>
    public MarketSnapshot? ToSnapshot(CoinPrice price, bool priceIsStale = false) =>
        Current is { } c
            ? new MarketSnapshot(_coin, price, c.Difficulty, c.Subsidy, c.AverageFees, c.ObservedAt, priceIsStale)
            : null;

    /// <summary>Formats an extranonce length from a subscribe answer: extranonce1 hex + extranonce2 size.</summary>
    public static int ExtranonceLength(string extranonce1Hex, int extranonce2Size)
    {
        ArgumentNullException.ThrowIfNull(extranonce1Hex);
        return (extranonce1Hex.Length / 2) + extranonce2Size;
    }

    public override string ToString() =>
        Current is { } c
            ? string.Create(CultureInfo.InvariantCulture, $"difficulty {c.Difficulty} height {c.Height} fees {c.AverageFees}")
            : "no jobs yet";
}
