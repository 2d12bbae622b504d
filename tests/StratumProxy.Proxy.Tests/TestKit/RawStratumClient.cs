using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.TestKit;

/// <summary>A hand-driven Stratum client: the test writes exact lines and reads the pool's answers one by one.</summary>
internal sealed class RawStratumClient : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly StreamReader _reader;
    private readonly Stream _stream;

    private RawStratumClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public byte[] Extranonce1 { get; private set; } = [];

    public int Extranonce2Size { get; private set; }

    public NotifyMessage? LastNotify { get; private set; }

    /// <summary>Responses read while waiting for another id.</summary>
    public int OtherResponses { get; private set; }

    public static async Task<RawStratumClient> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        return new RawStratumClient(client);
    }

    public async Task SendAsync(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        await _stream.WriteAsync(bytes);
    }

    /// <summary>Reads lines until the response with <paramref name="id"/>; notifications on the way are remembered.</summary>
    public async Task<(byte[] Line, StratumEnvelope Envelope)> ReadResponseAsync(string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var text = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("The pool closed the connection.");
            var line = Encoding.UTF8.GetBytes(text);
            Assert.True(StratumEnvelope.TryParse(line, out var envelope, out var error), error.Reason);
            if (envelope.Kind == StratumMessageKind.Response && envelope.Id.ToString() == id)
            {
                return (line, envelope);
            }

            if (envelope.Kind == StratumMessageKind.Response)
            {
                OtherResponses++;
            }

            if (envelope.Method == StratumMethod.Notify && NotifyMessage.TryParse(line, envelope, out var notify, out _))
            {
                LastNotify = notify;
            }
        }
    }

    /// <summary>Reads lines until a notify arrives.</summary>
    public async Task<NotifyMessage> ReadNotifyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var text = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("The pool closed the connection.");
            var line = Encoding.UTF8.GetBytes(text);
            if (StratumEnvelope.TryParse(line, out var envelope, out _) && envelope.Method == StratumMethod.Notify
                && NotifyMessage.TryParse(line, envelope, out var notify, out _) && notify is not null)
            {
                LastNotify = notify;
                return notify;
            }
        }
    }

    /// <summary>subscribe (id 1) + authorize (id 2) and wait for the first job.</summary>
    public async Task HandshakeAsync(string worker)
    {
        await SendAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"raw/1.0\"]}");
        var (line, envelope) = await ReadResponseAsync("1");
        Assert.True(SubscribeResult.TryParse(line, envelope, out var subscribed, out _));
        Extranonce1 = subscribed!.Extranonce1;
        Extranonce2Size = subscribed.Extranonce2Size;
        await SendAsync("{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"" + worker + "\",\"x\"]}");
        await ReadResponseAsync("2");
        if (LastNotify is null)
        {
            await ReadNotifyAsync();
        }
    }

    /// <summary>Sends a submit and returns the pool's verdict.</summary>
    public async Task<ResponseVerdict> SubmitAsync(int id, string worker, string jobId, string extranonce2, uint ntime, uint nonce, uint? versionBits = null)
    {
        var version = versionBits is { } bits ? $",\"{bits:x8}\"" : string.Empty;
        await SendAsync($"{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{worker}\",\"{jobId}\",\"{extranonce2}\",\"{ntime:x8}\",\"{nonce:x8}\"{version}]}}");
        var (line, envelope) = await ReadResponseAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return StratumResponse.ReadVerdict(line, envelope);
    }

    /// <summary>The template of the last job, as the pool will rebuild it.</summary>
    public ShareJobTemplate Template()
    {
        var n = LastNotify ?? throw new InvalidOperationException("No job yet.");
        return ShareJobTemplate.Create(n.PrevHash, n.Coinbase1, n.Coinbase2, n.MerkleBranches.SelectMany(b => b).ToArray(), n.Version, n.NBits, n.NTime);
    }

    /// <summary>Searches nonces from <paramref name="start"/> for the first whose hash does (or does not) meet the difficulty.</summary>
    public uint FindNonce(byte[] extranonce2, double difficulty, bool meets, uint start = 0)
    {
        var template = Template();
        var target = Difficulty.ToTarget(difficulty);
        Span<byte> hash = stackalloc byte[32];
        for (var nonce = start; ; nonce++)
        {
            ShareHasher.Default.ComputeBlockHash(template, Extranonce1, extranonce2, template.NTime, nonce, template.Version, hash);
            if (Difficulty.MeetsTarget(hash, target) == meets)
            {
                return nonce;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
