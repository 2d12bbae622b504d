using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StratumProxy.Simulators;

/// <summary>
/// A minimal HTTP/1.1 endpoint on loopback that answers every GET with the market's JSON (one request per
/// connection), for the proxy's live price feed and live tariff to poll.
/// </summary>
public sealed class MarketEndpoint : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly SimulatedMarket _market;
    private readonly Task _loop;

    /// <summary>Starts listening on 127.0.0.1 and a free port.</summary>
    public MarketEndpoint(SimulatedMarket market)
    {
        _market = market;
        _listener.Start();
        _loop = LoopbackAccept.RunAsync(_listener, ServeAsync, _stop.Token);
    }

    /// <summary>The URL of the market JSON.</summary>
    public Uri Url => new("http://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture) + "/market");

    /// <summary>Any request whose head has arrived gets the market JSON; a caller that closes first gets nothing.</summary>
    private Task ServeAsync(TcpClient client) => LoopbackAccept.ReplyOnceAsync(
        client,
        request => request.Span.IndexOf("\r\n\r\n"u8) >= 0 ? Response() : null,
        closed => closed ? null : Response(),
        _stop.Token);

    private byte[] Response()
    {
        var body = Encoding.UTF8.GetBytes(_market.ToJson());
        var head = Encoding.ASCII.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"));
        return [.. head, .. body];
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
