using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Collections.Concurrent;

namespace StratumProxy.Rigs.Tests.Infrastructure;

internal sealed record HttpRequestRecord(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>A reply to send, or null to never answer.</summary>
internal sealed record HttpResponseSpec(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static HttpResponseSpec Json(string body) => new(200, body, new Dictionary<string, string> { ["Content-Type"] = "application/json" });
}

/// <summary>A minimal HTTP/1.1 server on a raw TcpListener (127.0.0.1, port 0): one request per connection, then close.</summary>
internal sealed class MiniHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<HttpRequestRecord, HttpResponseSpec?> _handler;
    private readonly ConcurrentQueue<HttpRequestRecord> _requests = new();
    private readonly SemaphoreSlim _received = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public MiniHttpServer(Func<HttpRequestRecord, HttpResponseSpec?> handler)
    {
        _handler = handler;
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public IReadOnlyList<HttpRequestRecord> Requests => [.. _requests];

    public async Task WaitForRequestsAsync(int count)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (_requests.Count < count)
        {
            await _received.WaitAsync(guard.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _received.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                while (await ReadRequestAsync(stream) is { } request)
                {
                    _requests.Enqueue(request);
                    _received.Release();
                    var response = _handler(request);
                    if (response is null)
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token);
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
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
                    await stream.WriteAsync(body, _stop.Token);
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
            if (await stream.ReadAsync(one, _stop.Token) == 0)
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
        await stream.ReadExactlyAsync(body, _stop.Token);
        return new HttpRequestRecord(requestLine[0], requestLine[1], headers, Encoding.UTF8.GetString(body));
    }

    private static bool EndsWithBlankLine(List<byte> bytes) =>
        bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n';
}
