using System.Text;
using Microsoft.Extensions.Configuration;
using StratumProxy.Cli;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;
using StratumProxy.Feeds;
using StratumProxy.Hosting;

namespace StratumProxy.Fuzz.Harnesses;

/// <summary>A per-process scratch folder for harnesses that must hand the product a file.</summary>
internal static class Scratch
{
    private static readonly Lazy<string> Folder = new(() =>
        Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"stratumproxy-fuzz-{Environment.ProcessId}")).FullName);

    public static string File(string name) => Path.Combine(Folder.Value, name);
}

/// <summary>
/// A configuration file as <c>check-config</c> and the host read it: the syntax check, then binding and validation of
/// every section (proxy, farm, curtailment, admin) and the unknown-key report. Their contract is a list of problems:
/// no exception is allowed.
/// </summary>
internal sealed class ConfigFileHarness : Harness
{
    public override string Name => "config-file";

    public override string Summary => "appsettings/--config JSON: syntax check, binding and validation of every section, unknown keys (no exception allowed)";

    public override void Run(byte[] input)
    {
        var path = Scratch.File("appsettings.json");
        File.WriteAllBytes(path, input);
        if (ConfigSources.SyntaxError(path) is not null)
        {
            return; // refused with FILE:LINE:COLUMN, as check-config and a reload do
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile(s =>
            {
                s.Path = path;
                s.Optional = false;
                s.ReloadOnChange = false;
                s.OnLoadException = context => context.Ignore = true;
                s.ResolveFileProvider();
            })
            .Build();
        var loader = new ConfigLoader(configuration, CommandLine.Parse([]), Path.GetDirectoryName(path));
        _ = loader.SyntaxErrors();
        _ = loader.Load(out _);
        _ = loader.LoadFarm(out _);
        _ = loader.LoadCurtailment(out _);
        _ = loader.LoadAdmin(out _);
        _ = loader.UnknownKeys();
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        yield return new Seed("appsettings", sources.RepositoryFile("appsettings.json"));
        yield return new Seed("farm.example", sources.RepositoryFile("config/farm.example.json"));
    }
}

/// <summary>A tariff file (flat, time-of-use, live; either naming style), then prices from it over two days. Documented: FormatException.</summary>
internal sealed class TariffFileHarness : Harness
{
    private static readonly DateTimeOffset Start = new(2026, 3, 7, 0, 0, 0, TimeSpan.Zero);

    public override string Name => "tariff-file";

    public override string Summary => "tariff files (config/tariffs): parse, then price, demand-response window and average over two days (FormatException allowed)";

    public override void Run(byte[] input)
    {
        EnergyCostModel model;
        try
        {
            model = TariffConfig.Parse(new MemoryStream(input, writable: false), "fuzz.json", _ => new StaticFeedValue(0.05));
        }
        catch (FormatException)
        {
            return;
        }

        for (var hour = 0; hour < 48; hour += 5)
        {
            var at = Start.AddHours(hour);
            _ = model.PriceAt(at);
            _ = model.CurtailmentAt(at);
        }

        _ = model.AverageEnergyPrice(Start, TimeSpan.FromDays(1), TimeSpan.FromHours(1));
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        foreach (var (path, bytes) in sources.RepositoryFiles("config/tariffs", "*.json"))
        {
            yield return new Seed(Path.GetFileNameWithoutExtension(path), bytes);
        }

        // Crashes found and fixed: a name that is not UTF-8 (0xD6 then 'w'), a name given twice, a duration too long for a TimeSpan.
        yield return new Seed("regress-name-not-utf8", Encoding.Latin1.GetBytes("{\"kind\":\"flat\",\"usd_per_\u00d6wh\":0.085}"));
        yield return new Seed("regress-duplicate-name", Encoding.UTF8.GetBytes("{\"kind\":\"flat\",\"usd_per_kwh\":0.085,\"pue\":1.1,\"pue\":1.2}"));
        yield return new Seed("regress-interval-overflow", Encoding.UTF8.GetBytes(
            "{\"kind\":\"live\",\"feed\":{\"url\":\"https://p.example/x\",\"json_path\":\"$.p\",\"interval_seconds\":3000000000000000},\"fallback_usd_per_kwh\":0.07}"));
    }
}

/// <summary>The rig catalog file (Economics:CatalogFile). Documented: FormatException; the host also catches ArgumentException and JsonException.</summary>
internal sealed class RigCatalogHarness : Harness
{
    public override string Name => "rig-catalog";

    public override string Summary => "rig catalog file (config/rigs/catalog.json) (FormatException, ArgumentException, JsonException allowed)";

    public override void Run(byte[] input)
    {
        try
        {
            _ = RigCatalog.Parse(new MemoryStream(input, writable: false), "fuzz.json");
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or System.Text.Json.JsonException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        yield return new Seed("catalog", sources.RepositoryFile("config/rigs/catalog.json"));
    }
}

/// <summary>
/// The backtest CSV through the whole <c>stratum-proxy backtest</c> command (parse, then the policy, always-on and
/// strike-price replay): whatever the file holds, the command answers with an exit code and never throws.
/// </summary>
internal sealed class BacktestCsvHarness : Harness
{
    public override string Name => "backtest-csv";

    public override string Summary => "backtest series CSV through `backtest --series FILE` (parse and replay; the command must return an exit code, nothing may escape)";

    public override void Run(byte[] input)
    {
        var path = Scratch.File("series.csv");
        File.WriteAllBytes(path, input);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        _ = StratumProxyCli.InvokeVerb("backtest", ["--series", path, "--rig", "fuzz:100:3000", "--json"], stdout, stderr);
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        var sample = sources.RepositoryFile("config/backtest/sample-week.csv");
        yield return new Seed("sample-week", sample);

        // The first day only: a smaller seed that reaches the same paths faster.
        var lines = Encoding.UTF8.GetString(sample).Split('\n');
        yield return new Seed("sample-day", Encoding.UTF8.GetBytes(string.Join('\n', lines.Take(26)) + "\n"));
    }
}

/// <summary>
/// A price or tariff feed's HTTP JSON body, read by <see cref="HttpJsonFeed"/> with the JSON paths of the sample
/// configuration. Its contract: a poll never throws for feed trouble, the error lands in the reading.
/// </summary>
internal sealed class PriceFeedHarness : Harness
{
    private static readonly string[] Paths = ["$.data.amount", "$.data[0].price_usd_per_mwh", "$", "$.price", "$.bitcoin.usd", "$.result[1][0]"];

    public override string Name => "price-feed";

    public override string Summary => "price/tariff feed HTTP JSON body through HttpJsonFeed with the sample JSON paths (a poll must not throw)";

    public override void Run(byte[] input)
    {
        using var handler = new FixedReplyHandler(input);
        var clients = new SingleClientFactory(handler);
        foreach (var path in Paths)
        {
            var options = new HttpJsonFeedOptions { Url = new Uri("https://price.example.com/v1/btc-usd"), JsonPath = path };
            var feed = new HttpJsonFeed(clients, "fuzz", options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<HttpJsonFeed>.Instance);
            _ = feed.PollOnceAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        yield return new Seed("coinbase-spot", Encoding.UTF8.GetBytes("{\"data\":{\"amount\":\"96521.68\",\"base\":\"BTC\",\"currency\":\"USD\"}}"));
        yield return new Seed("wholesale-rt", Encoding.UTF8.GetBytes("{\"data\":[{\"node\":\"HB_HOUSTON\",\"price_usd_per_mwh\":42.17,\"interval_end\":\"2026-07-13T01:00:00Z\"}]}"));
        yield return new Seed("bare-number", Encoding.UTF8.GetBytes("96521.68"));
        yield return new Seed("nested", Encoding.UTF8.GetBytes("{\"bitcoin\":{\"usd\":96521},\"price\":\"1e3\",\"result\":[[1],[2.5,3]]}"));

        // A crash found and fixed: a string at the path that is not UTF-8 (a lone 0xF2).
        yield return new Seed("regress-string-not-utf8", [.. "{\"data\":{\"amount\":\"9."u8, 0xF2, .. "8\"}}"u8]);
    }

    private sealed class FixedReplyHandler(byte[] body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(body) });
    }

    private sealed class SingleClientFactory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }
}
