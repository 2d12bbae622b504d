using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Http;

internal readonly record struct HttpReply(HttpStatusCode Status, string Body)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public bool IsAuthFailure => Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;

    public JsonNode? Json() => Body.Length == 0 ? null : LenientJson.Parse(Body);
}

/// <summary>HTTP to one rig, with TimeProvider deadlines and faults mapped like the TCP transport's.</summary>
internal sealed class RigHttp(RigEndpoint endpoint, TimeProvider timeProvider, bool digestAuth) : IDisposable
{
    private readonly HttpClient _client = CreateClient(endpoint, digestAuth);
    private readonly RigEndpoint _endpoint = endpoint;
    private readonly TimeProvider _timeProvider = timeProvider;

    public async Task<HttpReply> SendAsync(
        HttpMethod method,
        string path,
        string? body,
        string? contentType,
        IEnumerable<KeyValuePair<string, string>>? headers,
        TimeSpan? timeout,
        CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout ?? _endpoint.CommandTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? "application/json");
        }

        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
            var text = await response.Content.ReadAsStringAsync(linked.Token);
            return new HttpReply(response.StatusCode, text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RigTransportException(TransportFault.ReplyTimeout, $"no HTTP reply from {_client.BaseAddress} for {method} {path} in time");
        }
        catch (HttpRequestException ex)
        {
            var fault = ex.HttpRequestError switch
            {
                HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError => TransportFault.ConnectFailed,
                HttpRequestError.InvalidResponse or HttpRequestError.ConfigurationLimitExceeded => TransportFault.InvalidReply,
                _ => TransportFault.ClosedWithoutReply,
            };
            throw new RigTransportException(fault, $"{method} {path} on {_client.BaseAddress}: {ex.HttpRequestError} {ex.Message}", ex);
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The client for one rig: its base address, digest credentials where the family needs them, no proxy.</summary>
    private static HttpClient CreateClient(RigEndpoint endpoint, bool digestAuth)
    {
        var baseAddress = new Uri(FormattableString.Invariant($"http://{endpoint.Host}:{endpoint.Port}/"));
        var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) };
        if (digestAuth)
        {
            handler.Credentials = new CredentialCache
            {
                { baseAddress, "Digest", new NetworkCredential(endpoint.User ?? "root", endpoint.Password ?? "root") },
            };
            handler.PreAuthenticate = true;
        }

        // Deadlines come from our own TimeProvider token; HttpClient's wall-clock timeout stays out of the way.
        // A reply longer than the limit fails while it is buffered, before it is all in memory.
        return new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = RigReplyLimits.MaxReplyBytes,
        };
    }
}
