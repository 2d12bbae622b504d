using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Economics.Feeds;
using StratumProxy.Feeds;

namespace StratumProxy.Host.Tests.Feeds;

public sealed class JsonPathExtractorTests
{
    [Theory]
    [InlineData("""{"bitcoin":{"usd":60123.5}}""", "$.bitcoin.usd", 60123.5)]
    [InlineData("""{"data":{"amount":"59999.01"}}""", "data.amount", 59999.01)]
    [InlineData("""[{"price":"1.5"},{"price":2}]""", "$[1]['price']", 2)]
    [InlineData("""{"data":[{"price_usd_per_mwh":-3.2}]}""", "$.data[0].price_usd_per_mwh", -3.2)]
    public void Extracts_numbers_and_numeric_strings(string json, string path, double expected)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(expected, JsonPathExtractor.ExtractNumber(doc.RootElement, path));
    }

    [Theory]
    [InlineData("""{"a":1}""", "$.b")]
    [InlineData("""{"a":[1]}""", "$.a[3]")]
    [InlineData("""{"a":"x"}""", "$.a")]
    [InlineData("""{"a":{"b":1}}""", "$.a")]
    [InlineData("""{"a":1}""", "$.a[")]
    public void Missing_or_non_numeric_values_are_errors(string json, string path)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Throws<FormatException>(() => JsonPathExtractor.ExtractNumber(doc.RootElement, path));
    }
}

public sealed class HttpJsonFeedTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Answers each request with the next scripted response; a null entry never answers (until cancelled).</summary>
    private sealed class ScriptedHandler(params Func<HttpResponseMessage>?[] script) : HttpMessageHandler
    {
        private int _next;
        public int Calls => _next;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var step = script[Math.Min(_next++, script.Length - 1)];
            if (step is null)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return step!();
        }
    }

    private sealed class Factory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }

    private static Func<HttpResponseMessage> Json(string body) => () => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) };

    private static HttpJsonFeedOptions Options() => new()
    {
        Url = new Uri("https://price.example/api"),
        JsonPath = "$.bitcoin.usd",
        Interval = TimeSpan.FromMinutes(1),
        Timeout = TimeSpan.FromSeconds(10),
        StalenessLimit = TimeSpan.FromMinutes(5),
        Minimum = 1,
    };

    [Fact]
    public async Task A_good_poll_gives_a_fresh_value_that_goes_stale_after_the_limit()
    {
        var time = new FakeTimeProvider(Start);
        var feed = new HttpJsonFeed(new Factory(new ScriptedHandler(Json("""{"bitcoin":{"usd":61000}}"""))), "p", Options(), time, NullLogger<HttpJsonFeed>.Instance);
        Assert.True(feed.Read(time.GetUtcNow()).IsStale); // nothing yet

        var r = await feed.PollOnceAsync(CancellationToken.None);
        Assert.Equal(61000, r.Value);
        Assert.Equal(Start, r.ObservedAt);
        Assert.False(r.IsStale);
        Assert.Null(r.LastError);

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(feed.Read(time.GetUtcNow()).IsStale); // exactly at the limit: still usable
        time.Advance(TimeSpan.FromSeconds(1));
        var later = feed.Read(time.GetUtcNow());
        Assert.True(later.IsStale);
        Assert.Equal(61000, later.Value); // reported, with its age, but flagged
        Assert.Equal(TimeSpan.FromSeconds(301), later.AgeAt(time.GetUtcNow()));
    }

    // Found by the price-feed fuzz target: a string at the JSON path that is not valid UTF-8 threw
    // InvalidOperationException out of PollOnceAsync, whose contract is to never throw for feed trouble.
    [Fact]
    public async Task A_body_whose_string_is_not_utf8_is_a_failed_poll_not_an_exception()
    {
        var time = new FakeTimeProvider(Start);
        var body = "{\"bitcoin\":{\"usd\":\"9\u00f28\"}}"u8.ToArray();
        body[Array.IndexOf(body, (byte)0xC3)] = 0xF2; // a lone lead byte inside the string
        var handler = new ScriptedHandler(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) });
        var feed = new HttpJsonFeed(new Factory(handler), "p", Options(), time, NullLogger<HttpJsonFeed>.Instance);

        var r = await feed.PollOnceAsync(CancellationToken.None);

        Assert.Null(r.Value);
        Assert.StartsWith("InvalidOperationException", r.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_resilience_handlers_refusals_are_failed_polls_and_the_loop_polls_on()
    {
        // The standard resilience handler ends a hanging request at its total timeout (30 s) with its own exception,
        // before the feed's timeout when that is the longer, and refuses at once while its circuit is open. Escaping
        // PollOnceAsync, either ended RunAsync: the feed went stale for good, with no poll and no log line after.
        var time = new FakeTimeProvider(Start);
        var handler = new ScriptedHandler(
            () => throw new Polly.Timeout.TimeoutRejectedException("The operation didn't complete within the allowed timeout of '00:00:30'."),
            () => throw new Polly.CircuitBreaker.BrokenCircuitException("The circuit is now open and is not allowing calls."),
            Json("""{"bitcoin":{"usd":61000}}"""));
        var feed = new HttpJsonFeed(new Factory(handler), "p", Options(), time, NullLogger<HttpJsonFeed>.Instance);
        using var cts = new CancellationTokenSource();
        var run = feed.RunAsync(cts.Token);

        await WaitFor(() => handler.Calls == 1 && feed.Read(time.GetUtcNow()).LastError is not null);
        Assert.StartsWith("TimeoutRejectedException", feed.Read(time.GetUtcNow()).LastError, StringComparison.Ordinal);
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => handler.Calls == 2 && feed.Read(time.GetUtcNow()).LastError!.StartsWith("BrokenCircuit", StringComparison.Ordinal));
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => feed.Read(time.GetUtcNow()).Value == 61000);

        Assert.False(run.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task A_failed_poll_keeps_the_last_value_and_reports_the_error()
    {
        var time = new FakeTimeProvider(Start);
        var handler = new ScriptedHandler(
            Json("""{"bitcoin":{"usd":61000}}"""),
            () => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable),
            Json("""{"bitcoin":{"usd":"oops"}}"""),
            Json("""{"bitcoin":{"usd":0}}"""));
        var feed = new HttpJsonFeed(new Factory(handler), "p", Options(), time, NullLogger<HttpJsonFeed>.Instance);
        await feed.PollOnceAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(1));

        var r = await feed.PollOnceAsync(CancellationToken.None);
        Assert.Equal("HTTP 503", r.LastError);
        Assert.Equal(61000, r.Value);
        Assert.Equal(Start, r.ObservedAt);

        r = await feed.PollOnceAsync(CancellationToken.None);
        Assert.StartsWith("FormatException", r.LastError, StringComparison.Ordinal);

        r = await feed.PollOnceAsync(CancellationToken.None);
        Assert.Contains("outside", r.LastError, StringComparison.Ordinal); // below Minimum = 1
        Assert.Equal(61000, r.Value);
    }

    [Fact]
    public async Task A_poll_that_hangs_times_out_on_the_injected_clock()
    {
        var time = new FakeTimeProvider(Start);
        var feed = new HttpJsonFeed(new Factory(new ScriptedHandler([null])), "p", Options(), time, NullLogger<HttpJsonFeed>.Instance);
        var poll = feed.PollOnceAsync(CancellationToken.None);
        Assert.False(poll.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(10));
        var r = await poll.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("timed out after 10 s", r.LastError);
        Assert.True(r.IsStale);
    }

    [Fact]
    public async Task RunAsync_polls_every_interval()
    {
        var time = new FakeTimeProvider(Start);
        var handler = new ScriptedHandler(Json("""{"bitcoin":{"usd":1}}"""), Json("""{"bitcoin":{"usd":2}}"""), Json("""{"bitcoin":{"usd":3}}"""));
        var feed = new HttpJsonFeed(new Factory(handler), "p", Options(), time, NullLogger<HttpJsonFeed>.Instance);
        using var cts = new CancellationTokenSource();
        var run = feed.RunAsync(cts.Token);
        await WaitFor(() => handler.Calls == 1);
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => handler.Calls == 2);
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => feed.Read(time.GetUtcNow()).Value == 3);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        // Real time only to let the thread pool run the poll continuation; the feed's own time logic uses the fake clock.
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    [Theory]
    [InlineData(null, "Url")]
    [InlineData("ftp://x/y", "Url")]
    public void Bad_options_are_refused(string? url, string mentioned)
    {
        var o = Options();
        o.Url = url is null ? null : new Uri(url);
        Assert.Contains(o.Validate(), e => e.Contains(mentioned, StringComparison.Ordinal));
        var timeout = Options();
        timeout.Timeout = TimeSpan.FromMinutes(2);
        Assert.Contains(timeout.Validate(), e => e.Contains("Timeout", StringComparison.Ordinal));
        var stale = Options();
        stale.StalenessLimit = TimeSpan.FromSeconds(30);
        Assert.Contains(stale.Validate(), e => e.Contains("StalenessLimit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Registration_wires_the_factory_resilience_and_validation()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var time = new FakeTimeProvider(Start);
        services.AddSingleton<TimeProvider>(time);
        services.AddHttpJsonFeed("btc-usd", o =>
            {
                o.Url = new Uri("https://price.example/api");
                o.JsonPath = "$.bitcoin.usd";
            })
            .ConfigurePrimaryHttpMessageHandler(() => new ScriptedHandler(Json("""{"bitcoin":{"usd":70000}}""")));
        await using var provider = services.BuildServiceProvider();
        var feed = provider.GetRequiredKeyedService<HttpJsonFeed>("btc-usd");
        var r = await feed.PollOnceAsync(CancellationToken.None);
        Assert.Equal(70000, r.Value);

        var bad = new ServiceCollection();
        bad.AddLogging();
        bad.AddHttpJsonFeed("broken", o => o.JsonPath = "");
        await using var badProvider = bad.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => badProvider.GetRequiredService<IOptionsMonitor<HttpJsonFeedOptions>>().Get("broken"));
        Assert.Contains("feed 'broken'", e.Message, StringComparison.Ordinal);
    }
}
