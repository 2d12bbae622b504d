using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace StratumProxy.Simulators;

/// <summary>
/// A minimal HTTP/1.1 endpoint on loopback that answers every GET with the market's JSON (one request per
/// connection), for the proxy's live price feed and live tariff to poll.
/// </summary>
public sealed class MarketEndpoint : IAsyncDisposable
{
    private readonly LoopbackListener _server;
    private readonly SimulatedMarket _market;

    /// <summary>Starts listening on 127.0.0.1 and a free port.</summary>
    public MarketEndpoint(SimulatedMarket market)
    {
        _market = market;
        _server = new LoopbackListener(ServeAsync);
    }

    /// <summary>The URL of the market JSON.</summary>
    public Uri Url => new("http://127.0.0.1:" + _server.Port + "/market");

    /// <summary>Any request whose head has arrived gets the market JSON; a caller that closes first gets nothing.</summary>
    private Task ServeAsync(TcpClient client) => LoopbackListener.ReplyOnceAsync(
        client,
        request => request.Span.IndexOf("\r\n\r\n"u8) >= 0 ? Response() : null,
        closed => closed ? null : Response(),
        _server.Stopping);

    private byte[] Response()
    {
        var body = Encoding.UTF8.GetBytes(_market.ToJson());
        var head = Encoding.ASCII.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"));
        return [.. head, .. body];
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
