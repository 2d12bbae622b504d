namespace StratumProxy.Farm;

/// <summary>
/// The <c>Economics</c> section: market inputs, the tariff, pool terms and which rig model each worker is, for the
/// dollar metrics and the curtailment policy.
/// </summary>
public sealed class FarmOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Economics";

    /// <summary>Compute economics at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the numbers (and the policy) are evaluated.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>BTC price in USD used when no feed is set (or while the feed has no value yet).</summary>
    public double PriceUsd { get; set; } = 60_000;

    /// <summary>A live price: HTTP JSON URL and the JSON path of the number (e.g. <c>$.bitcoin.usd</c>).</summary>
    public PriceFeedOptions PriceFeed { get; set; } = new();

    /// <summary>Network difficulty used until the pools' jobs give one.</summary>
    public double Difficulty { get; set; } = 1.1e14;

    /// <summary>Average fees per block (BTC) used until the pools' jobs give them.</summary>
    public double FeesBtcPerBlock { get; set; } = 0.02;

    /// <summary>Flat electricity price ($/kWh) when no tariff file is set.</summary>
    public double ElectricityUsdPerKwh { get; set; } = 0.06;

    /// <summary>A tariff file (flat, time-of-use, live feed; see config/tariffs/). Relative to the working directory.</summary>
    public string? TariffFile { get; set; }

    /// <summary>A rig catalog file replacing the embedded one (config/rigs/catalog.json format).</summary>
    public string? CatalogFile { get; set; }

    /// <summary>The model of every worker not listed in <see cref="Rigs"/> (none: such workers are not priced).</summary>
    public string? DefaultModel { get; set; }

    /// <summary>Rigs by worker name: model, power override, management API.</summary>
    public List<RigOptions> Rigs { get; set; } = [];

    /// <summary>Pool terms by pool name (fee and payout scheme); pools not listed count as 0 % FPPS.</summary>
    public Dictionary<string, PoolTermsOptions> Pools { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Markets of other SHA-256 coins that some pools mine (by code, e.g. <c>BCH</c>): price, and the difficulty and
    /// fees used until those pools' own jobs give them.
    /// </summary>
    public Dictionary<string, CoinMarketOptions> Coins { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>The market of a coin other than BTC.</summary>
public sealed class CoinMarketOptions
{
    /// <summary>Price in USD.</summary>
    public double PriceUsd { get; set; }

    /// <summary>Network difficulty until the pool's jobs give it.</summary>
    public double Difficulty { get; set; }

    /// <summary>Average fees per block until the pool's jobs give them.</summary>
    public double FeesPerBlock { get; set; }
}

/// <summary>A live price feed.</summary>
public sealed class PriceFeedOptions
{
    /// <summary>The URL (none: use <see cref="FarmOptions.PriceUsd"/>).</summary>
    public Uri? Url { get; set; }

    /// <summary>Where the number is in the JSON.</summary>
    public string JsonPath { get; set; } = "$";

    /// <summary>Poll interval.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Request timeout.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Older than this, the price is stale (reported, and the policy falls back to running).</summary>
    public TimeSpan StalenessLimit { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>One rig.</summary>
public sealed class RigOptions
{
    /// <summary>The worker name the rig authorizes with.</summary>
    public string Worker { get; set; } = string.Empty;

    /// <summary>A model name from the catalog.</summary>
    public string? Model { get; set; }

    /// <summary>Measured wall power, overriding the model's nominal watts.</summary>
    public double? PowerW { get; set; }

    /// <summary>The rig's management API family (cgminer, braiins, luxos, whatsminer, avalon, antminer) or none.</summary>
    public string? Api { get; set; }

    /// <summary>The management API's address (HOST:PORT).</summary>
    public string? Address { get; set; }

    /// <summary>Credentials where the family needs them.</summary>
    public string? User { get; set; }

    /// <summary>Credentials where the family needs them.</summary>
    public string? Password { get; set; }

    /// <summary>"on" or "off" to pin the rig's power state regardless of the policy.</summary>
    public string? Pin { get; set; }

    /// <summary>Lower groups sleep first and wake last.</summary>
    public int PriorityGroup { get; set; }

    /// <summary>
    /// The rig's power modes, replacing the catalog's (the first is the one it runs after waking): e.g. a power
    /// target of 2400 W at 150 TH/s. The policy may move the rig between them.
    /// </summary>
    public List<RigModeOptions> Modes { get; set; } = [];
}

/// <summary>One power mode of a rig.</summary>
public sealed class RigModeOptions
{
    /// <summary>A name: <c>low</c>/<c>eco</c>, <c>normal</c>, <c>high</c>/<c>turbo</c>, or any label with a power target.</summary>
    public string Name { get; set; } = "normal";

    /// <summary>Hashrate in this mode.</summary>
    public double Terahashes { get; set; }

    /// <summary>Wall power in this mode.</summary>
    public double Watts { get; set; }

    /// <summary>The power target to command (firmware with power targets); without it the name picks a work mode.</summary>
    public int? PowerTargetW { get; set; }
}

/// <summary>A pool's terms.</summary>
public sealed class PoolTermsOptions
{
    /// <summary>Pool fee in percent.</summary>
    public double FeePercent { get; set; }

    /// <summary>FPPS, PPS or PPLNS.</summary>
    public string Scheme { get; set; } = "Fpps";

    /// <summary>The SHA-256 coin the pool mines: <c>BTC</c> (default) or one listed in <c>Economics:Coins</c>.</summary>
    public string Coin { get; set; } = "BTC";
}
