using Prometheus;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Economics.Units;
using StratumProxy.Proxy.Control;

namespace StratumProxy.Farm;

/// <summary>One rig's economics at one evaluation, as published to metrics and the status API.</summary>
public sealed record RigEconomicsView(
    string Worker,
    string Model,
    string? Pool,
    double HashrateTerahashes,
    double PowerWatts,
    double RevenueUsdPerDay,
    double PowerCostUsdPerDay,
    double ProfitUsdPerDay,
    double ShutdownPriceUsd,
    double BreakevenUsdPerKwh)
{
    /// <summary>The rig's state in the curtailment loop (running, sleeping, unknown); null when the loop does not hold it.</summary>
    public string? State { get; init; }

    /// <summary>
    /// True when the loop holds the rig asleep for real (confirmed by its API, not in dry-run): it is priced at its
    /// sleep power and earns nothing.
    /// </summary>
    public bool Asleep { get; init; }
}

/// <summary>What the curtailment loop holds a rig in, for pricing.</summary>
/// <param name="State">running, sleeping or unknown.</param>
/// <param name="Asleep">Asleep for real: put to sleep (or found asleep) and confirmed through its API, not in dry-run.</param>
public readonly record struct HeldRig(string State, bool Asleep);

/// <summary>The market and energy inputs of one evaluation.</summary>
public sealed record MarketView(
    double PriceUsd,
    bool PriceIsStale,
    string PriceSource,
    double Difficulty,
    string DifficultySource,
    double SubsidyBtc,
    double FeesBtcPerBlock,
    double EnergyUsdPerKwh,
    string TariffBand,
    bool InDemandResponse,
    double HashpriceUsdPerPhDay,
    DateTimeOffset At);

/// <summary>
/// Prices the farm from what the proxy sees: each worker's observed hashrate (5 min), its model's power, the pools'
/// own jobs (network difficulty, subsidy and fees through <see cref="NotifyMarketEstimator"/>), the price (static or
/// a feed) and the tariff. Publishes revenue, cost and profit per rig and per farm, the hashprice, and the shutdown
/// price per model, in USD per day. A rig the curtailment loop holds asleep (<see cref="HeldRig.Asleep"/>) draws its
/// sleep power (<see cref="SleepPowerWatts"/>) and earns nothing, whatever its fading 5-minute rate still shows: these
/// figures (the metrics, /api/economics and the farm totals of /api/farm) all come from <see cref="LastRigs"/>.
/// </summary>
public sealed class FarmEconomics(FarmOptions options, IProxyControl proxy, TimeProvider time, IMetricFactory metrics, EnergyCostModel energy, RigCatalog catalog, IFeedValueSource? priceFeed)
{
    private readonly IProxyControl _proxy = proxy ?? throw new ArgumentNullException(nameof(proxy));
    private readonly TimeProvider _time = time;
    private readonly RigCatalog _catalog = catalog;
    private readonly IFeedValueSource? _priceFeed = priceFeed;
    private readonly Gauge _rigRevenue = metrics.CreateGauge("stratumproxy_rig_revenue_usd_per_day", "Expected revenue of a rig at its observed hashrate (USD per day).", ["worker"]);
    private readonly Gauge _rigCost = metrics.CreateGauge("stratumproxy_rig_power_cost_usd_per_day", "Power cost of a rig at its model's power and the tariff now (USD per day).", ["worker"]);
    private readonly Gauge _rigProfit = metrics.CreateGauge("stratumproxy_rig_margin_usd_per_day", "Revenue minus power cost of a rig (USD per day).", ["worker"]);
    private readonly Gauge _farm = metrics.CreateGauge("stratumproxy_farm_usd_per_day", "Farm totals in USD per day, by kind (revenue, power_cost, margin).", ["kind"]);
    private readonly Gauge _hashprice = metrics.CreateGauge("stratumproxy_hashprice_usd_per_ph_day", "What one PH/s earns per day at the current inputs (after pool fee, by pool).", ["pool"]);
    private readonly Gauge _shutdown = metrics.CreateGauge("stratumproxy_model_shutdown_price_usd", "BTC price below which a model's power costs more than it earns.", ["model"]);
    private readonly Gauge _market = metrics.CreateGauge("stratumproxy_market", "Economic inputs in use: price_usd, difficulty, fees_btc_per_block, energy_usd_per_kwh, price_stale (1/0).", ["input"]);
    private readonly Lock _evaluating = new();

    /// <summary>The options in force.</summary>
    public FarmOptions Options { get; set; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>The tariff.</summary>
    public EnergyCostModel Energy { get; set; } = energy;

    /// <summary>Makes the poller of a live tariff (used when a tariff file is loaded or reloaded).</summary>
    public Func<HttpJsonFeedOptions, IFeedValueSource>? LiveFeedFactory { get; set; }

    /// <summary>Reads difficulty, subsidy and fees from the pools' jobs.</summary>
    public NotifyMarketEstimator Estimator { get; } = new(Coin.Bitcoin);

    /// <summary>The last evaluation's market.</summary>
    public MarketView? LastMarket { get; private set; }

    /// <summary>What a rig asleep draws: the catalog and the mode options name no standby power, so none.</summary>
    public const double SleepPowerWatts = 0;

    /// <summary>The states the curtailment loop holds the rigs in (set by the loop); none while there is no loop.</summary>
    public Func<IReadOnlyDictionary<string, HeldRig>>? HeldRigs { get; set; }

    /// <summary>The last evaluation's rigs.</summary>
    public IReadOnlyList<RigEconomicsView> LastRigs { get; private set; } = [];

    /// <summary>The SHA-256 coins a pool may mine.</summary>
    public static IReadOnlyList<string> KnownCoins { get; } = ["BTC", "BCH"];

    /// <summary>True for a coin code in <see cref="KnownCoins"/>.</summary>
    public static bool IsKnownCoin(string? code) => code is not null && KnownCoins.Contains(code.ToUpperInvariant());

    private static Coin CoinOf(string code) => string.Equals(code, "BCH", StringComparison.OrdinalIgnoreCase) ? Coin.BitcoinCash : Coin.Bitcoin;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, NotifyMarketEstimator> _coinEstimators = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The coin a pool mines (BTC unless configured).</summary>
    public string CoinOfPool(string? pool) =>
        pool is not null && Options.Pools.TryGetValue(pool, out var terms) && IsKnownCoin(terms.Coin) ? terms.Coin.ToUpperInvariant() : "BTC";

    /// <summary>
    /// The market a pool is paid in: BTC's (<see cref="Market"/>) or another coin's, from that pool's own jobs and the
    /// configured price, or from <c>Economics:Coins</c> until its jobs arrive.
    /// </summary>
    public MarketSnapshot MarketFor(string? pool, DateTimeOffset now)
    {
        var code = CoinOfPool(pool);
        if (code == "BTC" || !Options.Coins.TryGetValue(code, out var coin))
        {
            return Market(now, out _, out _);
        }

        var price = new CoinPrice(coin.PriceUsd);
        if (_coinEstimators.TryGetValue(code, out var estimator) && estimator.ToSnapshot(price) is { } fromJobs)
        {
            return fromJobs;
        }

        var which = CoinOf(code);
        return new MarketSnapshot(which, price, new Economics.Units.Difficulty(coin.Difficulty), which.SubsidyAt(HeightEstimate.BitcoinHeightAt(now)), new Coins(coin.FeesPerBlock), now);
    }

    /// <summary>Feeds the estimator from a pool job (wired to the proxy engine's JobReceived).</summary>
    public void OnJob(string pool, Stratum.Protocol.NotifyMessage notify, int extranonceLength)
    {
        ArgumentNullException.ThrowIfNull(notify);
        var code = CoinOfPool(pool);
        var estimator = code == "BTC" ? Estimator : _coinEstimators.GetOrAdd(code, c => new NotifyMarketEstimator(CoinOf(c)));
        var observation = estimator.Observe(
            Convert.ToHexStringLower(notify.PrevHash),
            Convert.ToHexStringLower(notify.Coinbase1),
            Convert.ToHexStringLower(notify.Coinbase2),
            notify.NBits.ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            extranonceLength,
            _time.GetUtcNow());

        // The retarget outlook follows Bitcoin's chain only.
        if (code == "BTC" && observation.Height is { } height)
        {
            Outlook.Observe(height, observation.Difficulty, observation.ObservedAt);
        }
    }

    /// <summary>The next retarget as the blocks the proxy sees project it (for the policy's look-ahead).</summary>
    public OutlookTracker Outlook { get; } = new(Coin.Bitcoin);

    /// <summary>The market now: price (feed or static), difficulty and fees (pool jobs or config).</summary>
    public MarketSnapshot Market(DateTimeOffset now, out string priceSource, out string difficultySource)
    {
        var price = Options.PriceUsd;
        var stale = false;
        priceSource = "config";
        if (_priceFeed is not null)
        {
            var reading = _priceFeed.Read(now);
            if (reading.Value is { } value)
            {
                price = value;
                stale = reading.IsStale;
                priceSource = reading.Source;
            }
            else
            {
                stale = true;
                priceSource = "config (feed has no value yet)";
            }
        }

        if (Estimator.ToSnapshot(new CoinPrice(price), stale) is { } fromJobs)
        {
            difficultySource = "pool jobs";
            return fromJobs;
        }

        difficultySource = "config";
        var height = HeightEstimate.BitcoinHeightAt(now);
        return new MarketSnapshot(Coin.Bitcoin, new CoinPrice(price), new Economics.Units.Difficulty(Options.Difficulty), Coin.Bitcoin.SubsidyAt(height), new Coins(Options.FeesBtcPerBlock), now, stale);
    }

    /// <summary>The terms of a pool (0 % FPPS when not configured).</summary>
    public PoolTerms Terms(string? pool)
    {
        if (pool is not null && Options.Pools.TryGetValue(pool, out var terms))
        {
            var scheme = Enum.TryParse<PayoutScheme>(terms.Scheme, ignoreCase: true, out var parsed) ? parsed : PayoutScheme.Fpps;
            return new PoolTerms(pool, terms.FeePercent, scheme);
        }

        return new PoolTerms(pool ?? "none", 0);
    }

    /// <summary>The rig model and power of a worker, or null when the worker is not priced.</summary>
    public (RigModel Model, Power Power, RigOptions? Rig)? Describe(string worker)
    {
        var rig = Options.Rigs.FirstOrDefault(r => string.Equals(r.Worker, worker, StringComparison.Ordinal));
        var name = rig?.Model ?? Options.DefaultModel;
        if (name is null || _catalog.Find(name) is not { } model)
        {
            return null;
        }

        var power = rig?.PowerW is { } watts ? new Power(watts) : model.Nominal.Power;
        return (model, power, rig);
    }

    /// <summary>
    /// Evaluates every worker (and every rig held asleep, connected or not) and publishes the dollar metrics. Safe to
    /// call from the economics timer and from the curtailment loop after it changed a rig.
    /// </summary>
    public void Evaluate()
    {
        lock (_evaluating)
        {
            EvaluateCore();
        }
    }

    private void EvaluateCore()
    {
        var now = _time.GetUtcNow();
        var market = Market(now, out var priceSource, out var difficultySource);
        var energy = Energy.PriceAt(now);
        var quote = Energy.Tariff.QuoteAt(now);
        var held = HeldRigs?.Invoke() ?? new Dictionary<string, HeldRig>(StringComparer.Ordinal);

        // Without a default model only the listed rigs (and rigs held asleep) are priced: the fleet is read for those
        // workers alone, not copied whole (every session and worker of a large fleet) twice a minute.
        var fleet = Options.DefaultModel is null
            ? _proxy.Snapshot(Options.Rigs.Select(r => r.Worker).Concat(held.Keys).ToHashSet(StringComparer.Ordinal))
            : _proxy.Snapshot();
        var rigs = new List<RigEconomicsView>();
        var totals = default(EconomicsTotals);
        var poolsByWorker = fleet.Sessions.Where(s => s.Worker is not null).GroupBy(s => s.Worker!).ToDictionary(g => g.Key, g => g.First().Pool, StringComparer.Ordinal);
        var workers = fleet.Workers.ToDictionary(w => w.Name, StringComparer.Ordinal);
        var names = workers.Keys.Concat(held.Where(h => h.Value.Asleep && !workers.ContainsKey(h.Key)).Select(h => h.Key));
        foreach (var name in names)
        {
            if (Describe(name) is not { } described)
            {
                continue;
            }

            var hold = held.TryGetValue(name, out var h) ? h : (HeldRig?)null;
            var asleep = hold?.Asleep == true;
            poolsByWorker.TryGetValue(name, out var pool);
            var coinMarket = CoinOfPool(pool) == "BTC" ? market : MarketFor(pool, now);
            var observed = asleep || !workers.TryGetValue(name, out var worker) ? 0 : worker.Hashrate5m;
            var economics = MiningCalculator.Evaluate(new Hashrate(observed), asleep ? new Power(SleepPowerWatts) : described.Power, coinMarket, Terms(pool), energy);

            // Asleep, the rig's shutdown price and break-even energy price are those of its rating (what it would do awake).
            var rating = asleep ? MiningCalculator.Evaluate(described.Model.Nominal.Hashrate, described.Power, coinMarket, Terms(pool), energy) : economics;
            totals.Add(economics);
            rigs.Add(new RigEconomicsView(
                name,
                described.Model.Name,
                asleep ? null : pool,
                observed / 1e12,
                asleep ? SleepPowerWatts : described.Power.Watts,
                economics.RevenuePerDay.Amount,
                economics.PowerCostPerDay.Amount,
                economics.ProfitPerDay.Amount,
                rating.ShutdownPrice.UsdPerCoin,
                rating.BreakevenEnergyPrice.Value)
            {
                State = hold?.State,
                Asleep = asleep,
            });
            var label = workers.TryGetValue(name, out var stats) ? stats.Label : name;
            _rigRevenue.WithLabels(label).Set(economics.RevenuePerDay.Amount);
            _rigCost.WithLabels(label).Set(economics.PowerCostPerDay.Amount);
            _rigProfit.WithLabels(label).Set(economics.ProfitPerDay.Amount);
        }

        _farm.WithLabels("revenue").Set(totals.RevenuePerDay.Amount);
        _farm.WithLabels("power_cost").Set(totals.PowerCostPerDay.Amount);
        _farm.WithLabels("margin").Set(totals.ProfitPerDay.Amount);
        foreach (var pool in fleet.Pools)
        {
            _hashprice.WithLabels(pool.Name).Set(MiningCalculator.HashpriceUsdPerPhDay(MarketFor(pool.Name, now), Terms(pool.Name)));
        }

        foreach (var model in _catalog.Models)
        {
            var nominal = MiningCalculator.Evaluate(model.Nominal.Hashrate, model.Nominal.Power, market, PoolTerms.NoFee, energy);
            _shutdown.WithLabels(model.Name).Set(nominal.ShutdownPrice.UsdPerCoin);
        }

        _market.WithLabels("price_usd").Set(market.Price.UsdPerCoin);
        _market.WithLabels("difficulty").Set(market.Difficulty.Value);
        _market.WithLabels("fees_btc_per_block").Set(market.FeesPerBlock.Amount);
        _market.WithLabels("energy_usd_per_kwh").Set(energy.Energy.Value);
        _market.WithLabels("price_stale").Set(market.PriceIsStale ? 1 : 0);
        LastMarket = new MarketView(
            market.Price.UsdPerCoin,
            market.PriceIsStale,
            priceSource,
            market.Difficulty.Value,
            difficultySource,
            market.Subsidy.Amount,
            market.FeesPerBlock.Amount,
            energy.Energy.Value,
            quote.Band,
            Energy.CurtailmentAt(now) is not null,
            MiningCalculator.HashpriceUsdPerPhDay(market, PoolTerms.NoFee),
            now);
        LastRigs = rigs;
    }
}
