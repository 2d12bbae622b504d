using System.Reflection;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Tests.Routing;

/// <summary>A reload compares pools and listeners by value: every setting, including one added later, counts.</summary>
public sealed class OptionsEqualityTests
{
    public static TheoryData<string> PoolProperties() => Names<PoolOptions>();

    public static TheoryData<string> ListenerProperties() => Names<ListenerOptions>();

    [Fact]
    public void PoolOptions_SameSettings_AreEqual() =>
        Assert.Equal(new PoolOptions { Name = "a", Url = "stratum+tcp://a:1" }, new PoolOptions { Name = "a", Url = "stratum+tcp://a:1" });

    [Fact]
    public void PoolOptions_ToString_PrintsOnlyTheTypeName_NotThePassword()
    {
        const string Secret = "s3cret-value-0123";
        var pool = new PoolOptions { Name = "a", Url = "stratum+tcp://a:1", User = "acct", Password = Secret };

        Assert.Equal(typeof(PoolOptions).FullName, pool.ToString());
        Assert.DoesNotContain(Secret, new ProxyOptions { Pools = [pool] }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, $"{pool}", StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(PoolProperties))]
    public void PoolOptions_AnySettingChanged_NotEqual(string property) =>
        Assert.NotEqual(new PoolOptions(), Changed(new PoolOptions(), property));

    [Theory]
    [MemberData(nameof(ListenerProperties))]
    public void ListenerOptions_AnySettingChanged_NotEqual(string property) =>
        Assert.NotEqual(new ListenerOptions(), Changed(new ListenerOptions(), property));

    private static TheoryData<string> Names<T>() =>
        [.. typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name)];

    private static T Changed<T>(T options, string name)
        where T : class
    {
        var property = typeof(T).GetProperty(name)!;
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var current = property.GetValue(options);
        object value = type switch
        {
            _ when type == typeof(string) => (string?)current + "-changed",
            _ when type == typeof(int) => (int)(current ?? 0) + 1,
            _ when type == typeof(double) => (double)current! + 1,
            _ when type == typeof(bool) => !(bool)current!,
            _ when type.IsEnum => Enum.GetValues(type).Cast<object>().First(v => !v.Equals(current)),
            _ => throw new NotSupportedException($"{typeof(T).Name}.{name}: add a changed value for {type.Name}"),
        };
        property.SetValue(options, value);
        return options;
    }
}
