using System.Reflection;
using StratumProxy.Farm;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Host.Tests;

/// <summary>
/// The Proxy, Economics, Curtailment and Admin sections are bound into mutable shapes that make the immutable options
/// records: every setting of every options record, including one added later, must have its key in the shape and be
/// carried across.
/// </summary>
public sealed class ProxySectionTests
{
    public static TheoryData<Type, Type> Shapes() => new()
    {
        { typeof(ProxySection), typeof(ProxyOptions) },
        { typeof(ListenerSection), typeof(ListenerOptions) },
        { typeof(PoolSection), typeof(PoolOptions) },
        { typeof(MinerSection), typeof(MinerOptions) },
        { typeof(DifficultySection), typeof(DifficultyOptions) },
        { typeof(FailoverSection), typeof(FailoverOptions) },
        { typeof(LimitSection), typeof(LimitOptions) },
        { typeof(DrainSection), typeof(DrainOptions) },
        { typeof(TakeoverSection), typeof(TakeoverOptions) },
        { typeof(FarmSection), typeof(FarmOptions) },
        { typeof(PriceFeedSection), typeof(PriceFeedOptions) },
        { typeof(CoinMarketSection), typeof(CoinMarketOptions) },
        { typeof(RigSection), typeof(RigOptions) },
        { typeof(RigModeSection), typeof(RigModeOptions) },
        { typeof(PoolTermsSection), typeof(PoolTermsOptions) },
        { typeof(CurtailmentSection), typeof(CurtailmentSettings) },
        { typeof(AdminSection), typeof(AdminOptions) },
        { typeof(AdminTlsSection), typeof(AdminTlsOptions) },
        { typeof(StoreSection), typeof(StratumProxy.Store.StoreOptions) },
    };

    public static TheoryData<Type, string> Leaves()
    {
        var leaves = new TheoryData<Type, string>();
        foreach (var shape in Shapes().Select(row => (Type)row[0]))
        {
            foreach (var property in Settings(shape).Where(p => IsLeaf(p.PropertyType)))
            {
                leaves.Add(shape, property.Name);
            }
        }

        return leaves;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Shape_HasAKeyForEverySettingOfItsRecord(Type shape, Type record) =>
        Assert.Equal(Settings(record).Select(p => p.Name).Order(), Settings(shape).Select(p => p.Name).Order());

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Shape_Unbound_GivesTheRecordsDefaults(Type shape, Type record)
    {
        var converted = Convert(Activator.CreateInstance(shape)!);
        var defaults = Activator.CreateInstance(record)!;
        foreach (var property in Settings(record).Where(p => IsLeaf(p.PropertyType)))
        {
            Assert.Equal(property.GetValue(defaults), property.GetValue(converted));
        }
    }

    [Theory]
    [MemberData(nameof(Leaves))]
    public void ToOptions_CarriesTheSetting(Type shape, string name)
    {
        var section = Activator.CreateInstance(shape)!;
        var property = shape.GetProperty(name)!;
        var changed = Changed(property.PropertyType, property.GetValue(section));
        property.SetValue(section, changed);

        var options = Convert(section);

        Assert.Equal(changed, options.GetType().GetProperty(name)!.GetValue(options));
    }

    [Fact]
    public void ToOptions_CarriesTheListsMapsAndNestedSections()
    {
        var section = new ProxySection
        {
            Listeners = [new ListenerSection { Name = "l" }],
            Pools = [new PoolSection { Name = "p" }],
            Pins = new(StringComparer.Ordinal) { ["rig"] = "p" },
            Miners = new MinerSection { MaxLineLength = 999 },
            Difficulty = new DifficultySection { Start = 3 },
            Failover = new FailoverSection { FailBack = false },
            Limits = new LimitSection { MaxPoolLineLength = 1024 * 1024 },
            Drain = new DrainSection { Grace = TimeSpan.FromSeconds(7) },
            Takeover = new TakeoverSection { SocketPath = "/run/stratum-proxy.sock" },
        };

        var options = section.ToOptions();

        Assert.Equal("l", Assert.Single(options.Listeners).Name);
        Assert.Equal("p", Assert.Single(options.Pools).Name);
        Assert.Equal("p", options.Pins["rig"]);
        Assert.Equal(999, options.Miners.MaxLineLength);
        Assert.Equal(3, options.Difficulty.Start);
        Assert.False(options.Failover.FailBack);
        Assert.Equal(1024 * 1024, options.Limits.MaxPoolLineLength);
        Assert.Equal(TimeSpan.FromSeconds(7), options.Drain.Grace);
        Assert.Equal("/run/stratum-proxy.sock", options.Takeover.SocketPath);
    }

    [Fact]
    public void ToOptions_CarriesTheEconomicsListsMapsAndNestedSections()
    {
        var section = new FarmSection
        {
            PriceFeed = new PriceFeedSection { JsonPath = "$.usd" },
            Rigs = [new RigSection { Worker = "rig", Modes = [new RigModeSection { Name = "eco" }] }],
            Pools = new(StringComparer.Ordinal) { ["p"] = new PoolTermsSection { FeePercent = 2 } },
            Coins = new(StringComparer.OrdinalIgnoreCase) { ["BCH"] = new CoinMarketSection { PriceUsd = 450 } },
        };

        var options = section.ToOptions();

        Assert.Equal("$.usd", options.PriceFeed.JsonPath);
        var rig = Assert.Single(options.Rigs);
        Assert.Equal("rig", rig.Worker);
        Assert.Equal("eco", Assert.Single(rig.Modes).Name);
        Assert.Equal(2, options.Pools["p"].FeePercent);
        Assert.Equal(450, options.Coins["bch"].PriceUsd);
        Assert.Equal("cert.pem", new AdminSection { Tls = new AdminTlsSection { CertificateFile = "cert.pem" } }.ToOptions().Tls.CertificateFile);
    }

    [Fact]
    public void Records_AreComparedByValue()
    {
        Assert.Equal(new CurtailmentSettings { DryRun = false }, new CurtailmentSection { DryRun = false }.ToOptions());
        Assert.NotEqual(new CurtailmentSettings(), new CurtailmentSection { DryRun = false }.ToOptions());
        Assert.Equal(new AdminOptions { Tls = new AdminTlsOptions { KeyFile = "k" } }, new AdminSection { Tls = new AdminTlsSection { KeyFile = "k" } }.ToOptions());
        Assert.Equal(new PriceFeedOptions { JsonPath = "$.x" }, new PriceFeedSection { JsonPath = "$.x" }.ToOptions());
    }

    [Fact]
    public void Records_WithASecret_DoNotPrintIt()
    {
        const string Secret = "s3cret-value-0123";
        Assert.DoesNotContain(Secret, new AdminOptions { Token = Secret }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, new AdminTlsOptions { Password = Secret }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, new RigOptions { Password = Secret }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, new StratumProxy.Store.StoreOptions { ConnectionString = Secret }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, new FarmOptions { Rigs = [new RigOptions { Password = Secret }] }.ToString(), StringComparison.Ordinal);
    }

    private static IEnumerable<PropertyInfo> Settings(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    private static object Convert(object section) =>
        section.GetType().GetMethod(nameof(ProxySection.ToOptions))!.Invoke(section, null)!;

    private static bool IsLeaf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(Uri);
    }

    private static object Changed(Type type, object? current)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => (string?)current + "-changed",
            _ when type == typeof(int) => (int)(current ?? 0) + 1,
            _ when type == typeof(double) => (double)(current ?? 0d) + 1,
            _ when type == typeof(bool) => !(bool)current!,
            _ when type == typeof(TimeSpan) => (TimeSpan)current! + TimeSpan.FromSeconds(1),
            _ when type == typeof(Uri) => new Uri("http://changed.example/"),
            _ when type.IsEnum => Enum.GetValues(type).Cast<object>().First(v => !v.Equals(current)),
            _ => throw new NotSupportedException($"add a changed value for {type.Name}"),
        };
    }
}
