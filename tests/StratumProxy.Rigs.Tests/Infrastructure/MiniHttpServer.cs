using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.TestKit;

namespace StratumProxy.Rigs.Tests.Infrastructure;

internal sealed record HttpRequestRecord(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>A reply to send, or null to never answer.</summary>
internal sealed record HttpResponseSpec(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static HttpResponseSpec Json(string body) => new(200, body, new Dictionary<string, string> { ["Content-Type"] = "application/json" });
}

/// <summary>A minimal HTTP/1.1 server on a raw TcpListener (127.0.0.1, port 0): one request per connection, then close.</summary>
internal sealed class MiniHttpServer : LoopbackServer<HttpRequestRecord>
{
    private readonly Func<HttpRequestRecord, HttpResponseSpec?> _handler;

    public MiniHttpServer(Func<HttpRequestRecord, HttpResponseSpec?> handler)
    {
        _handler = handler;
        Start();
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                while (await ReadRequestAsync(stream) is { } request)
                {
                    Record(request);
                    var response = _handler(request);
                    if (response is null)
                    {
                        await Task.Delay(Timeout.Infinite, Stopping);
                        return;
                    }

                    var head = new StringBuilder()
                        .Append("HTTP/1.1 ").Append(response.Status).Append(' ').Append(((HttpStatusCode)response.Status).ToString()).Append("\r\n");
                    var body = Encoding.UTF8.GetBytes(response.Body);
                    foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
                    {
                        head.Append(name).Append(": ").Append(value).Append("\r\n");
                    }

                    head.Append("Content-Length: ").Append(body.Length).Append("\r\n\r\n");
                    // One write: a head and a body written apart wait out the client's delayed ACK (Nagle), 40 ms a reply.
                    byte[] reply = [.. Encoding.ASCII.GetBytes(head.ToString()), .. body];
                    await stream.WriteAsync(reply, Stopping);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
            }
        }
    }

    private async Task<HttpRequestRecord?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!EndsWithBlankLine(head))
        {
            if (await stream.ReadAsync(one, Stopping) == 0)
            {
                return null;
            }

            head.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString([.. head]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var requestLine = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = new byte[headers.TryGetValue("Content-Length", out var length) ? int.Parse(length) : 0];
        await stream.ReadExactlyAsync(body, Stopping);
        return new HttpRequestRecord(requestLine[0], requestLine[1], headers, Encoding.UTF8.GetString(body));
    }

    private static bool EndsWithBlankLine(List<byte> bytes) =>
        bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n';
}
