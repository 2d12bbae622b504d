using BenchmarkDotNet.Attributes;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;

namespace StratumProxy.Benchmarks;

/// <summary>
/// Issue 4's budget: choose the best of 3 power modes × 3 pools for 100,000 rigs (900,000 evaluations) well under
/// 100 ms. Rigs are spread over the catalog's models with per-rig variation, as a farm's observed figures would be.
/// </summary>
[MemoryDiagnoser]
public class EconomicsBenchmarks
{
    private const int RigCount = 100_000;
    private PowerMode[] _modes = [];
    private PoolQuote[] _pools = [];
    private RigDecision[] _decisions = [];
    private EnergyPrice _energy;

    [GlobalSetup]
    public void Setup()
    {
        var market = new MarketSnapshot(Coin.Bitcoin, new CoinPrice(60_000), new Difficulty(1.1e14), new Coins(3.125), new Coins(0.02), DateTimeOffset.UnixEpoch);
        _pools =
        [
            PoolQuote.Create(market, new PoolTerms("fpps", 2.5, PayoutScheme.Fpps, 0.002)),
            PoolQuote.Create(market, new PoolTerms("pps", 1.5, PayoutScheme.Pps, 0.004)),
            PoolQuote.Create(market, new PoolTerms("pplns", 1.0, PayoutScheme.Pplns, 0.003)),
        ];
        var catalog = RigCatalog.LoadEmbedded().Models;
        var random = new Random(42);
        _modes = new PowerMode[RigCount * 3];
        for (var i = 0; i < RigCount; i++)
        {
            var nominal = catalog[i % catalog.Count].Nominal;
            var jitter = 0.95 + (random.NextDouble() * 0.1);
            var h = nominal.Hashrate * jitter;
            var p = nominal.Power * (0.97 + (random.NextDouble() * 0.06));
            _modes[(i * 3) + 0] = new PowerMode("eco", h * 0.8, p * 0.7);
            _modes[(i * 3) + 1] = new PowerMode("normal", h, p);
            _modes[(i * 3) + 2] = new PowerMode("turbo", h * 1.15, p * 1.3);
        }

        _decisions = new RigDecision[RigCount];
        _energy = new EnergyPrice(new UsdPerKwh(0.08), 1.05, new UsdPerKwh(0.002));
    }

    [Benchmark(Description = "100k rigs x 3 modes x 3 pools")]
    public int ChooseForFarm()
    {
        var modes = _modes.AsSpan();
        var pools = _pools.AsSpan();
        var running = 0;
        for (var i = 0; i < _decisions.Length; i++)
        {
            var d = OptionChooser.Choose(modes.Slice(i * 3, 3), pools, _energy);
            _decisions[i] = d;
            if (d.Run)
            {
                running++;
            }
        }

        return running;
    }
}
