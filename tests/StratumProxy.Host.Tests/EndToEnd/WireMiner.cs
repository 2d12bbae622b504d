using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// A light miner for many-session process tests: one socket, configure (version rolling) + subscribe + authorize,
/// then submits with random nonces on the latest job when asked (the proxy judges them itself: nearly all are below
/// the difficulty, answered at once). It counts every submit's answers and notices an end of stream or a
/// client.reconnect. No hashing, so a thousand of them fit beside the proxies on a small machine.
/// </summary>
internal sealed class WireMiner : IAsyncDisposable
{
    private readonly Socket _socket = new(SocketType.Stream, ProtocolType.Tcp);
    private readonly string _worker;
    private readonly Dictionary<long, int> _answers = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly Random _random;
    private Task? _reader;
    private long _nextId = 10;
    private string? _job;
    private string? _ntime;
    private int _extranonce2Size;

    public WireMiner(string worker, int seed)
    {
        _worker = worker;
        _random = new Random(seed);
    }

    public bool IsReady { get; private set; }

    /// <summary>True once a job has arrived.</summary>
    public bool HasJob
    {
        get
        {
            lock (_gate)
            {
                return _job is not null;
            }
        }
    }

    public bool SawEndOfStream { get; private set; }

    public bool SawReconnect { get; private set; }

    public long Sent
    {
        get
        {
            lock (_gate)
            {
                return _answers.Count;
            }
        }
    }

    /// <summary>Submits without an answer yet.</summary>
    public long Unanswered
    {
        get
        {
            lock (_gate)
            {
                return _answers.Values.Count(v => v == 0);
            }
        }
    }

    /// <summary>The ids of the submits without an answer.</summary>
    public string UnansweredIds
    {
        get
        {
            lock (_gate)
            {
                return $"{_worker}: " + string.Join(' ', _answers.Where(a => a.Value == 0).Select(a => a.Key)) + $" of {_nextId - 10}";
            }
        }
    }

    /// <summary>Submits answered more than once, and answers to ids never sent.</summary>
    public long Extra { get; private set; }

    public async Task ConnectAsync(int port, CancellationToken cancellationToken)
    {
        await _socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        _reader = ReadAsync();
        await SendAsync("{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":2}]}\n{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[\"wire/1.0\"]}\n" + $"{{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"{_worker}\",\"x\"]}}\n", cancellationToken);
    }

    /// <summary>One submit with a random nonce on the latest job (nothing before the first job).</summary>
    public async Task SubmitAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string line;
        lock (_gate)
        {
            if (_job is null || SawEndOfStream)
            {
                return;
            }

            var id = _nextId++;
            _answers[id] = 0;
            var extranonce2 = _random.NextInt64().ToString("x16", CultureInfo.InvariantCulture)[..(_extranonce2Size * 2)];
            var nonce = ((uint)_random.Next()).ToString("x8", CultureInfo.InvariantCulture);
            line = $"{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{_worker}\",\"{_job}\",\"{extranonce2}\",\"{_ntime}\",\"{nonce}\"]}}\n";
        }

        // Counted as sent, so sent whole: a stop requested meanwhile must not leave it waiting for an answer to a
        // line that never left (the load stops by cancelling while a batch of submits is being written).
        await SendAsync(line, CancellationToken.None);
    }

    private async Task SendAsync(string text, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None, cancellationToken);
        }
        catch (SocketException)
        {
            SawEndOfStream = true;
        }
        finally
        {
            _write.Release();
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        var pending = new StringBuilder();
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    SawEndOfStream = true;
                    return;
                }

                pending.Append(Encoding.UTF8.GetString(buffer, 0, read));
                var text = pending.ToString();
                var end = text.LastIndexOf('\n');
                if (end < 0)
                {
                    continue;
                }

                pending.Clear().Append(text[(end + 1)..]);
                foreach (var line in text[..end].Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Handle(line);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            SawEndOfStream = true;
        }
    }

    private void Handle(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.TryGetProperty("method", out var method) && method.ValueKind == JsonValueKind.String)
        {
            switch (method.GetString())
            {
                case "mining.notify":
                    lock (_gate)
                    {
                        var parameters = root.GetProperty("params");
                        _job = parameters[0].GetString();
                        _ntime = parameters[7].GetString();
                    }

                    break;
                case "client.reconnect":
                    SawReconnect = true;
                    break;
            }

            return;
        }

        if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.Number)
        {
            return;
        }

        var id = idElement.GetInt64();
        if (id == 2 && root.TryGetProperty("result", out var subscribed) && subscribed.ValueKind == JsonValueKind.Array)
        {
            _extranonce2Size = subscribed[2].GetInt32();
        }
        else if (id == 3)
        {
            IsReady = root.TryGetProperty("result", out var ok) && ok.ValueKind == JsonValueKind.True;
        }
        else if (id >= 10)
        {
            lock (_gate)
            {
                if (!_answers.TryGetValue(id, out var count) || count > 0)
                {
                    Extra++;
                }

                _answers[id] = count + 1;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        if (_reader is not null)
        {
            await _reader;
        }

        _write.Dispose();
    }
}
