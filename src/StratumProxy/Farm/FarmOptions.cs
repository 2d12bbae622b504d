using StratumProxy.Economics.Feeds;

namespace StratumProxy.Farm;

/// <summary>
/// The <c>Economics</c> section: market inputs, the tariff, pool terms and which rig model each worker is, for the
/// dollar metrics and the curtailment policy. Immutable and compared by value, like every record below (a change is a
/// new value, <c>with</c>); the host binds the section into <c>FarmSection</c> and converts it here.
/// </summary>
public sealed record FarmOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Economics";

    /// <summary>Compute economics at all.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often the numbers (and the policy) are evaluated.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>BTC price in USD used when no feed is set (or while the feed has no value yet).</summary>
    public double PriceUsd { get; init; } = 60_000;

    /// <summary>A live price: HTTP JSON URL and the JSON path of the number (e.g. <c>$.bitcoin.usd</c>).</summary>
    public PriceFeedOptions PriceFeed { get; init; } = new();

    /// <summary>Network difficulty used until the pools' jobs give one.</summary>
    public double Difficulty { get; init; } = 1.1e14;

    /// <summary>Average fees per block (BTC) used until the pools' jobs give them.</summary>
    public double FeesBtcPerBlock { get; init; } = 0.02;

    /// <summary>Flat electricity price ($/kWh) when no tariff file is set.</summary>
    public double ElectricityUsdPerKwh { get; init; } = 0.06;

    /// <summary>A tariff file (flat, time-of-use, live feed; see config/tariffs/). Relative to the working directory.</summary>
    public string? TariffFile { get; init; }

    /// <summary>A rig catalog file replacing the embedded one (config/rigs/catalog.json format).</summary>
    public string? CatalogFile { get; init; }

    /// <summary>The model of every worker not listed in <see cref="Rigs"/> (none: such workers are not priced).</summary>
    public string? DefaultModel { get; init; }

    /// <summary>Rigs by worker name: model, power override, management API.</summary>
    public IReadOnlyList<RigOptions> Rigs { get; init; } = [];

    /// <summary>Pool terms by pool name (fee and payout scheme); pools not listed count as 0 % FPPS.</summary>
    public IReadOnlyDictionary<string, PoolTermsOptions> Pools { get; init; } = new Dictionary<string, PoolTermsOptions>(StringComparer.Ordinal);

    /// <summary>
    /// Markets of other SHA-256 coins that some pools mine (by code, e.g. <c>BCH</c>): price, and the difficulty and
    /// fees used until those pools' own jobs give them.
    /// </summary>
    public IReadOnlyDictionary<string, CoinMarketOptions> Coins { get; init; } = new Dictionary<string, CoinMarketOptions>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>The market of a coin other than BTC.</summary>
public sealed record CoinMarketOptions
{
    /// <summary>Price in USD.</summary>
    public double PriceUsd { get; init; }

    /// <summary>Network difficulty until the pool's jobs give it.</summary>
    public double Difficulty { get; init; }

    /// <summary>Average fees per block until the pool's jobs give them.</summary>
    public double FeesPerBlock { get; init; }
}

/// <summary>A live price feed.</summary>
public sealed record PriceFeedOptions
{
    /// <summary>The URL (none: use <see cref="FarmOptions.PriceUsd"/>).</summary>
    public Uri? Url { get; init; }

    /// <summary>Where the number is in the JSON.</summary>
    public string JsonPath { get; init; } = HttpJsonFeedOptions.DefaultJsonPath;

    /// <summary>Poll interval.</summary>
    public TimeSpan Interval { get; init; } = HttpJsonFeedOptions.DefaultInterval;

    /// <summary>Request timeout.</summary>
    public TimeSpan Timeout { get; init; } = HttpJsonFeedOptions.DefaultTimeout;

    /// <summary>Older than this, the price is stale (reported, and the policy falls back to running).</summary>
    public TimeSpan StalenessLimit { get; init; } = HttpJsonFeedOptions.DefaultStalenessLimit;
}

/// <summary>One rig.</summary>
public sealed record RigOptions
{
    /// <summary>The worker name the rig authorizes with.</summary>
    public string Worker { get; init; } = string.Empty;

    /// <summary>A model name from the catalog.</summary>
    public string? Model { get; init; }

    /// <summary>Measured wall power, overriding the model's nominal watts.</summary>
    public double? PowerW { get; init; }

    /// <summary>The rig's management API family (cgminer, braiins, luxos, whatsminer, avalon, antminer) or none.</summary>
    public string? Api { get; init; }

    /// <summary>The management API's address (HOST:PORT).</summary>
    public string? Address { get; init; }

    /// <summary>Credentials where the family needs them.</summary>
    public string? User { get; init; }

    /// <summary>Credentials where the family needs them.</summary>
    public string? Password { get; init; }

    /// <summary>"on" or "off" to pin the rig's power state regardless of the policy.</summary>
    public string? Pin { get; init; }

    /// <summary>Lower groups sleep first and wake last.</summary>
    public int PriorityGroup { get; init; }

    /// <summary>
    /// The rig's power modes, replacing the catalog's (the first is the one it runs after waking): e.g. a power
    /// target of 2400 W at 150 TH/s. The policy may move the rig between them.
    /// </summary>
    public IReadOnlyList<RigModeOptions> Modes { get; init; } = [];

    /// <summary>The type's name only: the record holds a secret (<see cref="Password"/>), which is never printed.</summary>
    public override string ToString() => typeof(RigOptions).FullName!;
}

/// <summary>One power mode of a rig.</summary>
public sealed record RigModeOptions
{
    /// <summary>A name: <c>low</c>/<c>eco</c>, <c>normal</c>, <c>high</c>/<c>turbo</c>, or any label with a power target.</summary>
    public string Name { get; init; } = "normal";

    /// <summary>Hashrate in this mode.</summary>
    public double Terahashes { get; init; }

    /// <summary>Wall power in this mode.</summary>
    public double Watts { get; init; }

    /// <summary>The power target to command (firmware with power targets); without it the name picks a work mode.</summary>
    public int? PowerTargetW { get; init; }
}

/// <summary>A pool's terms.</summary>
public sealed record PoolTermsOptions
{
    /// <summary>Pool fee in percent.</summary>
    public double FeePercent { get; init; }

    /// <summary>FPPS, PPS or PPLNS.</summary>
    public string Scheme { get; init; } = "Fpps";

    /// <summary>The SHA-256 coin the pool mines: <c>BTC</c> (default) or one listed in <c>Economics:Coins</c>.</summary>
    public string Coin { get; init; } = "BTC";
}
