using StratumProxy.Farm;
using StratumProxy.Store;

namespace StratumProxy.Hosting;

/// <summary>The binding shape of the <c>Economics</c> section (<see cref="FarmOptions"/>; <see cref="BindingShape{T}"/>).</summary>
internal sealed class FarmSection : BindingShape<FarmOptions>
{
    public bool Enabled { get => Options.Enabled; set => Options = Options with { Enabled = value }; }

    public TimeSpan Interval { get => Options.Interval; set => Options = Options with { Interval = value }; }

    public double PriceUsd { get => Options.PriceUsd; set => Options = Options with { PriceUsd = value }; }

    public PriceFeedSection PriceFeed { get; set; } = new();

    public double Difficulty { get => Options.Difficulty; set => Options = Options with { Difficulty = value }; }

    public double FeesBtcPerBlock { get => Options.FeesBtcPerBlock; set => Options = Options with { FeesBtcPerBlock = value }; }

    public double ElectricityUsdPerKwh { get => Options.ElectricityUsdPerKwh; set => Options = Options with { ElectricityUsdPerKwh = value }; }

    public string? TariffFile { get => Options.TariffFile; set => Options = Options with { TariffFile = value }; }

    public string? CatalogFile { get => Options.CatalogFile; set => Options = Options with { CatalogFile = value }; }

    public string? DefaultModel { get => Options.DefaultModel; set => Options = Options with { DefaultModel = value }; }

    public List<RigSection> Rigs { get; set; } = [];

    public Dictionary<string, PoolTermsSection> Pools { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, CoinMarketSection> Coins { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public override FarmOptions ToOptions() => Options with
    {
        PriceFeed = PriceFeed.ToOptions(),
        Rigs = [.. Rigs.Select(r => r.ToOptions())],
        Pools = Pools.ToDictionary(p => p.Key, p => p.Value.ToOptions(), StringComparer.Ordinal),
        Coins = Coins.ToDictionary(c => c.Key, c => c.Value.ToOptions(), StringComparer.OrdinalIgnoreCase),
    };
}

/// <summary>The binding shape of <see cref="CoinMarketOptions"/>.</summary>
internal sealed class CoinMarketSection : BindingShape<CoinMarketOptions>
{
    public double PriceUsd { get => Options.PriceUsd; set => Options = Options with { PriceUsd = value }; }

    public double Difficulty { get => Options.Difficulty; set => Options = Options with { Difficulty = value }; }

    public double FeesPerBlock { get => Options.FeesPerBlock; set => Options = Options with { FeesPerBlock = value }; }
}

/// <summary>The binding shape of <see cref="PriceFeedOptions"/>.</summary>
internal sealed class PriceFeedSection : BindingShape<PriceFeedOptions>
{
    public Uri? Url { get => Options.Url; set => Options = Options with { Url = value }; }

    public string JsonPath { get => Options.JsonPath; set => Options = Options with { JsonPath = value }; }

    public TimeSpan Interval { get => Options.Interval; set => Options = Options with { Interval = value }; }

    public TimeSpan Timeout { get => Options.Timeout; set => Options = Options with { Timeout = value }; }

    public TimeSpan StalenessLimit { get => Options.StalenessLimit; set => Options = Options with { StalenessLimit = value }; }
}

/// <summary>The binding shape of <see cref="RigOptions"/>.</summary>
internal sealed class RigSection : BindingShape<RigOptions>
{
    public string Worker { get => Options.Worker; set => Options = Options with { Worker = value }; }

    public string? Model { get => Options.Model; set => Options = Options with { Model = value }; }

    public double? PowerW { get => Options.PowerW; set => Options = Options with { PowerW = value }; }

    public string? Api { get => Options.Api; set => Options = Options with { Api = value }; }

    public string? Address { get => Options.Address; set => Options = Options with { Address = value }; }

    public string? User { get => Options.User; set => Options = Options with { User = value }; }

    public string? Password { get => Options.Password; set => Options = Options with { Password = value }; }

    public string? Pin { get => Options.Pin; set => Options = Options with { Pin = value }; }

    public int PriorityGroup { get => Options.PriorityGroup; set => Options = Options with { PriorityGroup = value }; }

    public List<RigModeSection> Modes { get; set; } = [];

    public override RigOptions ToOptions() => Options with
    {
        Modes = [.. Modes.Select(m => m.ToOptions())],
    };
}

/// <summary>The binding shape of <see cref="RigModeOptions"/>.</summary>
internal sealed class RigModeSection : BindingShape<RigModeOptions>
{
    public string Name { get => Options.Name; set => Options = Options with { Name = value }; }

    public double Terahashes { get => Options.Terahashes; set => Options = Options with { Terahashes = value }; }

    public double Watts { get => Options.Watts; set => Options = Options with { Watts = value }; }

    public int? PowerTargetW { get => Options.PowerTargetW; set => Options = Options with { PowerTargetW = value }; }
}

/// <summary>The binding shape of <see cref="PoolTermsOptions"/>.</summary>
internal sealed class PoolTermsSection : BindingShape<PoolTermsOptions>
{
    public double FeePercent { get => Options.FeePercent; set => Options = Options with { FeePercent = value }; }

    public string Scheme { get => Options.Scheme; set => Options = Options with { Scheme = value }; }

    public string Coin { get => Options.Coin; set => Options = Options with { Coin = value }; }
}

/// <summary>The binding shape of the <c>Curtailment</c> section (<see cref="CurtailmentSettings"/>).</summary>
internal sealed class CurtailmentSection : BindingShape<CurtailmentSettings>
{
    public bool Enabled { get => Options.Enabled; set => Options = Options with { Enabled = value }; }

    public bool DryRun { get => Options.DryRun; set => Options = Options with { DryRun = value }; }

    public TimeSpan Interval { get => Options.Interval; set => Options = Options with { Interval = value }; }

    public double MarginUsdPerDay { get => Options.MarginUsdPerDay; set => Options = Options with { MarginUsdPerDay = value }; }

    public double MarginPercent { get => Options.MarginPercent; set => Options = Options with { MarginPercent = value }; }

    public double PowerCycleCostUsd { get => Options.PowerCycleCostUsd; set => Options = Options with { PowerCycleCostUsd = value }; }

    public TimeSpan MinOnDwell { get => Options.MinOnDwell; set => Options = Options with { MinOnDwell = value }; }

    public TimeSpan MinOffDwell { get => Options.MinOffDwell; set => Options = Options with { MinOffDwell = value }; }

    public int MaxPowerChangesPerEvaluation { get => Options.MaxPowerChangesPerEvaluation; set => Options = Options with { MaxPowerChangesPerEvaluation = value }; }

    public double? PowerCapKw { get => Options.PowerCapKw; set => Options = Options with { PowerCapKw = value }; }

    public TimeSpan MaxMarketAge { get => Options.MaxMarketAge; set => Options = Options with { MaxMarketAge = value }; }

    public double? StrikeSleepAboveUsdPerMwh { get => Options.StrikeSleepAboveUsdPerMwh; set => Options = Options with { StrikeSleepAboveUsdPerMwh = value }; }

    public TimeSpan StrikeSleepAfter { get => Options.StrikeSleepAfter; set => Options = Options with { StrikeSleepAfter = value }; }

    public double? StrikeWakeBelowUsdPerMwh { get => Options.StrikeWakeBelowUsdPerMwh; set => Options = Options with { StrikeWakeBelowUsdPerMwh = value }; }

    public TimeSpan StrikeWakeAfter { get => Options.StrikeWakeAfter; set => Options = Options with { StrikeWakeAfter = value }; }

    public string AuditLog { get => Options.AuditLog; set => Options = Options with { AuditLog = value }; }

    public string Ledger { get => Options.Ledger; set => Options = Options with { Ledger = value }; }

    public TimeSpan CycleHorizon { get => Options.CycleHorizon; set => Options = Options with { CycleHorizon = value }; }

    public TimeSpan ReadTimeout { get => Options.ReadTimeout; set => Options = Options with { ReadTimeout = value }; }

    public int MaxConcurrentReads { get => Options.MaxConcurrentReads; set => Options = Options with { MaxConcurrentReads = value }; }

    public ShutdownAction OnShutdown { get => Options.OnShutdown; set => Options = Options with { OnShutdown = value }; }
}

/// <summary>The binding shape of the <c>Admin</c> section (<see cref="AdminOptions"/>).</summary>
internal sealed class AdminSection : BindingShape<AdminOptions>
{
    public string Endpoint { get => Options.Endpoint; set => Options = Options with { Endpoint = value }; }

    public bool AllowWrite { get => Options.AllowWrite; set => Options = Options with { AllowWrite = value }; }

    public string? Notice { get => Options.Notice; set => Options = Options with { Notice = value }; }

    public string? Token { get => Options.Token; set => Options = Options with { Token = value }; }

    public string? TokenFile { get => Options.TokenFile; set => Options = Options with { TokenFile = value }; }

    public bool RequireTokenForReads { get => Options.RequireTokenForReads; set => Options = Options with { RequireTokenForReads = value }; }

    public bool RequireTokenForMetrics { get => Options.RequireTokenForMetrics; set => Options = Options with { RequireTokenForMetrics = value }; }

    public AdminTlsSection Tls { get; set; } = new();

    public override AdminOptions ToOptions() => Options with
    {
        Tls = Tls.ToOptions(),
    };
}

/// <summary>The binding shape of <see cref="AdminTlsOptions"/>.</summary>
internal sealed class AdminTlsSection : BindingShape<AdminTlsOptions>
{
    public string? CertificateFile { get => Options.CertificateFile; set => Options = Options with { CertificateFile = value }; }

    public string? KeyFile { get => Options.KeyFile; set => Options = Options with { KeyFile = value }; }

    public string? Password { get => Options.Password; set => Options = Options with { Password = value }; }
}

/// <summary>The binding shape of the <c>Store</c> section (<see cref="StoreOptions"/>).</summary>
internal sealed class StoreSection : BindingShape<StoreOptions>
{
    public StoreProvider Provider { get => Options.Provider; set => Options = Options with { Provider = value }; }

    public string? ConnectionString { get => Options.ConnectionString; set => Options = Options with { ConnectionString = value }; }

    public string? InstanceName { get => Options.InstanceName; set => Options = Options with { InstanceName = value }; }

    public TimeSpan LeaderLease { get => Options.LeaderLease; set => Options = Options with { LeaderLease = value }; }

    public TimeSpan PollInterval { get => Options.PollInterval; set => Options = Options with { PollInterval = value }; }

    public TimeSpan CommandTimeout { get => Options.CommandTimeout; set => Options = Options with { CommandTimeout = value }; }

    public TimeSpan Retention { get => Options.Retention; set => Options = Options with { Retention = value }; }
}
