using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// A hand-driven miner connection that writes exact wire lines (as captured from real firmware) and keeps every line
/// the proxy sends, in order, so a test can check ids, their JSON types and the order of messages.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly List<string> _received = [];

    private WireClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    /// <summary>Every line received so far, in order.</summary>
    public IReadOnlyList<string> Received => _received;

    /// <summary>The extranonce1 from the subscribe result.</summary>
    public byte[] Extranonce1 { get; private set; } = [];

    public int Extranonce2Size { get; private set; }

    /// <summary>The last mining.set_difficulty value.</summary>
    public double Difficulty { get; private set; }

    public NotifyMessage? LastNotify { get; private set; }

    public static async Task<WireClient> ConnectAsync(int port)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return new WireClient(client);
    }

    public Task SendAsync(string line) => SendBytesAsync(Encoding.UTF8.GetBytes(line + "\n"));

    public async Task SendBytesAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>The next line; throws <see cref="IOException"/> when the proxy closed the connection.</summary>
    public async Task<string> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var line = await _reader.ReadLineAsync(cts.Token) ?? throw new IOException("The proxy closed the connection.");
        _received.Add(line);
        Observe(line);
        return line;
    }

    /// <summary>
    /// Reads until the response whose id is, token for token, <paramref name="rawId"/> (e.g. <c>0</c>, <c>"auth"</c>):
    /// the id must come back with its exact JSON type.
    /// </summary>
    public async Task<JsonElement> ReadResponseAsync(string rawId, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            string line;
            try
            {
                line = await ReadLineAsync(timeout ?? DefaultTimeout).WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no response with id {rawId}; received so far:\n{string.Join('\n', _received)}");
            }

            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("method", out var method) || method.ValueKind == JsonValueKind.Null)
            {
                if (root.TryGetProperty("id", out var id) && id.GetRawText() == rawId)
                {
                    return root.Clone();
                }
            }
        }
    }

    /// <summary>Reads until a notify arrives.</summary>
    public async Task<NotifyMessage> ReadNotifyAsync()
    {
        var seen = LastNotify;
        while (ReferenceEquals(LastNotify, seen) || LastNotify is null)
        {
            await ReadLineAsync();
        }

        return LastNotify;
    }

    /// <summary>(configure,) subscribe, authorize, and wait for the first job.</summary>
    public async Task HandshakeAsync(string worker, bool versionRolling = false)
    {
        if (versionRolling)
        {
            await SendAsync("{\"id\":100,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":2}]}");
            await ReadResponseAsync("100");
        }

        await SendAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"wire/1.0\"]}");
        await ReadResponseAsync("1");
        await SendAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"" + worker + "\",\"x\"]}");
        await ReadResponseAsync("2");
        if (LastNotify is null)
        {
            await ReadNotifyAsync();
        }
    }

    /// <summary>Sends a submit and returns the proxy's answer to it.</summary>
    public async Task<JsonElement> SubmitAsync(int id, string worker, string jobId, byte[] extranonce2, uint ntime, uint nonce, uint? versionBits = null)
    {
        var version = versionBits is { } bits ? ",\"" + Hex(bits) + "\"" : string.Empty;
        var idText = id.ToString(CultureInfo.InvariantCulture);
        await SendAsync($"{{\"id\":{idText},\"method\":\"mining.submit\",\"params\":[\"{worker}\",\"{jobId}\",\"{Convert.ToHexStringLower(extranonce2)}\",\"{Hex(ntime)}\",\"{Hex(nonce)}\"{version}]}}");
        return await ReadResponseAsync(idText);
    }

    /// <summary>The error code of a response, or null when it was accepted.</summary>
    public static int? ErrorCode(JsonElement response) =>
        response.GetProperty("error").ValueKind == JsonValueKind.Array ? response.GetProperty("error")[0].GetInt32() : null;

    /// <summary>True when the proxy closes the connection within <paramref name="timeout"/> (lines before it are kept).</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync(cts.Token);
                if (line is null)
                {
                    return true;
                }

                _received.Add(line);
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            // A reset is a close too.
            return true;
        }
    }

    /// <summary>Index in <see cref="Received"/> of the first line satisfying <paramref name="match"/>, or -1.</summary>
    public int IndexOf(Func<JsonElement, bool> match)
    {
        for (var i = 0; i < _received.Count; i++)
        {
            using var doc = JsonDocument.Parse(_received[i]);
            if (match(doc.RootElement))
            {
                return i;
            }
        }

        return -1;
    }

    public static Func<JsonElement, bool> IsMethod(string name) =>
        e => e.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() == name;

    public static Func<JsonElement, bool> IsResponse(string rawId) =>
        e => !(e.TryGetProperty("method", out var m) && m.ValueKind == JsonValueKind.String) && e.TryGetProperty("id", out var id) && id.GetRawText() == rawId;

    /// <summary>
    /// Searches nonces for the first one whose hash on the last job, with this extranonce2, meets (or misses) the
    /// difficulty; rebuilt from the notify exactly as a pool would.
    /// </summary>
    public uint FindNonce(byte[] extranonce2, double difficulty, bool meets = true, uint start = 0, uint? ntime = null, uint? version = null)
    {
        var template = Template();
        var target = Stratum.Mining.Difficulty.ToTarget(difficulty);
        Span<byte> hash = stackalloc byte[32];
        for (var nonce = start; ; nonce++)
        {
            ShareHasher.Default.ComputeBlockHash(template, Extranonce1, extranonce2, ntime ?? template.NTime, nonce, version ?? template.Version, hash);
            if (Stratum.Mining.Difficulty.MeetsTarget(hash, target) == meets)
            {
                return nonce;
            }
        }
    }

    public ShareJobTemplate Template()
    {
        var n = LastNotify ?? throw new InvalidOperationException("No job yet.");
        return ShareJobTemplate.Create(n.PrevHash, n.Coinbase1, n.Coinbase2, n.MerkleBranches.SelectMany(b => b).ToArray(), n.Version, n.NBits, n.NTime);
    }

    public static string Hex(uint value) => value.ToString("x8", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _client.Dispose();
    }

    private void Observe(string text)
    {
        var line = Encoding.UTF8.GetBytes(text);
        if (!StratumEnvelope.TryParse(line, out var envelope, out _))
        {
            return;
        }

        if (envelope.Kind == StratumMessageKind.Response && SubscribeResult.TryParse(line, envelope, out var subscribed, out _) && subscribed is not null)
        {
            Extranonce1 = subscribed.Extranonce1;
            Extranonce2Size = subscribed.Extranonce2Size;
        }
        else if (envelope.Method == StratumMethod.Notify && NotifyMessage.TryParse(line, envelope, out var notify, out _) && notify is not null)
        {
            LastNotify = notify;
        }
        else if (envelope.Method == StratumMethod.SetDifficulty && PoolParams.TryParseDifficulty(line, envelope, out var difficulty, out _))
        {
            Difficulty = difficulty;
        }
    }
}
