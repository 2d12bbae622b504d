using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Host.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Quick_start_flags_replace_listeners_and_pools_in_priority_order()
    {
        var cli = CommandLine.Parse(["--listen", "127.0.0.1:4444", "--pool", "stratum+tcp://a.example:3333", "--pool=stratum+ssl://b.example:443", "--user", "acct.rig", "--password", "p", "--admin", "127.0.0.1:9200", "--start-difficulty", "0.001"]);
        Assert.Equal("run", cli.Verb);
        var options = new ProxyOptions
        {
            Listeners = [new ListenerOptions { Endpoint = "0.0.0.0:3333" }, new ListenerOptions { Name = "b", Endpoint = "0.0.0.0:3334" }],
            Pools = [new PoolOptions { Name = "configured", Url = "stratum+tcp://c.example:1", User = "x" }],
        };
        options = ConfigLoader.ApplyQuickStart(options, cli);
        var listener = Assert.Single(options.Listeners);
        Assert.Equal("127.0.0.1:4444", listener.Endpoint);
        Assert.Equal(2, options.Pools.Count);
        Assert.Equal(("primary", "stratum+tcp://a.example:3333", 0, "acct.rig", "p"), (options.Pools[0].Name, options.Pools[0].Url, options.Pools[0].Priority, options.Pools[0].User, options.Pools[0].Password));
        Assert.Equal(("pool2", 1), (options.Pools[1].Name, options.Pools[1].Priority));
        Assert.Equal(0.001, options.Difficulty.Start);
        Assert.True(options.Difficulty.Min <= 0.001);
        Assert.False(new ProxyOptionsValidator().Validate(null, options).Failed);
        Assert.Equal("127.0.0.1:9200", cli.Admin);
    }

    [Theory]
    [InlineData(new[] { "--lisen", "1.2.3.4:1" }, "unknown option '--lisen'")]
    [InlineData(new[] { "--pool", "http://x:1", "--user", "a" }, "unknown scheme 'http'")]
    [InlineData(new[] { "--pool", "stratum+tcp://x" }, "port is missing")]
    [InlineData(new[] { "--pool", "stratum+tcp://x:1" }, "--pool needs --user")]
    [InlineData(new[] { "--user", "a" }, "give at least one --pool")]
    [InlineData(new[] { "--listen", "pool.example:3333" }, "not an IP address")]
    [InlineData(new[] { "--listen", "127.0.0.1:70000" }, "must be a number")]
    [InlineData(new[] { "--start-difficulty", "-1" }, "a positive number")]
    [InlineData(new[] { "--config" }, "--config needs a value")]
    [InlineData(new[] { "frobnicate" }, "unknown verb 'frobnicate'")]
    [InlineData(new[] { "--pool", "stratum+tcp://x:1", "--user", "a", "--mode", "solo" }, "use aggregating or passthrough")]
    public void Bad_arguments_get_a_clear_message(string[] args, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => CommandLine.Parse(args));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Section_keys_pass_through_and_economics_keeps_its_own_arguments()
    {
        var cli = CommandLine.Parse(["--Proxy:Miners:Extranonce2Size=8", "--Admin:Endpoint", "127.0.0.1:1"]);
        Assert.Equal(["--Proxy:Miners:Extranonce2Size=8", "--Admin:Endpoint=127.0.0.1:1"], cli.ConfigOverrides);

        var economics = CommandLine.Parse(["economics", "--price", "60000", "--json"]);
        Assert.Equal("economics", economics.Verb);
        Assert.Equal(["--price", "60000", "--json"], economics.VerbArguments);

        Assert.Equal("help", CommandLine.Parse(["--help"]).Verb);
        Assert.Contains("--pool <URL>", CommandLine.Usage, StringComparison.Ordinal);
        Assert.Contains("economics", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void Strict_makes_unknown_keys_errors_and_is_in_the_usage()
    {
        Assert.True(CommandLine.Parse(["check-config", "--strict"]).Strict);
        Assert.False(CommandLine.Parse(["check-config"]).Strict);
        Assert.Contains("--strict", CommandLine.Usage, StringComparison.Ordinal);
    }
}
