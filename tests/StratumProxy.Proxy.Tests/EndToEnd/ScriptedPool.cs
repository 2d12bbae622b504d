using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// A pool that plays one session of <c>tests/vectors/stratum-v1-small-slice-transcripts-written-from-docs.json</c>:
/// it answers each request with the script's lines (its own id put in for <c>@id</c>) and checks every share against
/// the jobs it sent, with the extranonce1 in force when each job went out; an invalid share is refused (code 23).
/// </summary>
internal sealed class ScriptedPool : IAsyncDisposable
{
    private const string FileName = "stratum-v1-small-slice-transcripts-written-from-docs.json";
    private const double ShareDifficulty = 0.0001;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly JsonElement _session;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, (ShareJobTemplate Template, byte[] Extranonce1)> _jobs = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly List<string> _submittedExtranonce2 = [];
    private readonly Task _accept;
    private byte[] _extranonce1;
    private int _accepted;
    private int _rejected;

    private ScriptedPool(JsonElement session)
    {
        _session = session;
        _extranonce1 = Convert.FromHexString(session.GetProperty("extranonce1").GetString()!);
        Extranonce2Size = session.GetProperty("extranonce2_size").GetInt32();
        _listener.Start();
        _accept = AcceptAsync();
    }

    public string Url => $"stratum+tcp://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture)}";

    public int Extranonce2Size { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    public int Rejected => Volatile.Read(ref _rejected);

    public IReadOnlyList<string> SubmittedExtranonce2
    {
        get
        {
            lock (_gate)
            {
                return [.. _submittedExtranonce2];
            }
        }
    }

    public static IReadOnlyList<string> SessionNames()
    {
        using var doc = Load();
        return [.. doc.RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("name").GetString()!)];
    }

    public static ScriptedPool Start(string name)
    {
        using var doc = Load();
        var session = doc.RootElement.GetProperty("sessions").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
        return new ScriptedPool(session.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private static JsonDocument Load()
    {
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "vectors", FileName));
        return JsonDocument.Parse(stream);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        try
        {
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                using var request = JsonDocument.Parse(line);
                var root = request.RootElement;
                if (!root.TryGetProperty("method", out var method))
                {
                    continue;
                }

                var id = root.GetProperty("id").GetRawText();
                var name = method.GetString()!;
                if (name == "mining.submit")
                {
                    var accepted = Check(root.GetProperty("params"));
                    await SendAsync(stream, accepted ? Reply(name, id) : [$"{{\"id\":{id},\"result\":null,\"error\":[23,\"Low difficulty share\",null]}}"]);
                    if (accepted && Interlocked.Increment(ref _accepted) == 1 && _session.TryGetProperty("after_first_accept", out var after))
                    {
                        _extranonce1 = Convert.FromHexString(_session.GetProperty("extranonce1_after").GetString()!);
                        await SendAsync(stream, [.. after.EnumerateArray().Select(l => l.GetString()!)]);
                    }

                    continue;
                }

                await SendAsync(stream, Reply(name, id));
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The proxy went away.
        }
    }

    private string[] Reply(string method, string id)
    {
        // Lines without @id (work the pool sends on its own) go out the first time only, as a pool sends its
        // first job once and not again for every further worker authorized on the connection.
        var first = _answered.Add(method);
        foreach (var step in _session.GetProperty("script").EnumerateArray())
        {
            if (step.GetProperty("on").GetString() == method)
            {
                return [.. step.GetProperty("send").EnumerateArray().Select(l => l.GetString()!)
                    .Where(l => first || l.Contains("@id", StringComparison.Ordinal))
                    .Select(l => l.Replace("@id", id, StringComparison.Ordinal))];
            }
        }

        return [];
    }

    private readonly HashSet<string> _answered = new(StringComparer.Ordinal);

    private async Task SendAsync(NetworkStream stream, string[] lines)
    {
        foreach (var line in lines)
        {
            Remember(line);
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            await stream.WriteAsync(bytes, _stop.Token);
        }
    }

    /// <summary>Keeps every job sent with the extranonce1 in force then.</summary>
    private void Remember(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        if (StratumEnvelope.TryParse(bytes, out var envelope, out _) && envelope.Method == StratumMethod.Notify
            && NotifyMessage.TryParse(bytes, envelope, out var n, out _))
        {
            var template = ShareJobTemplate.Create(n!.PrevHash, n.Coinbase1, n.Coinbase2, n.MerkleBranches.SelectMany(b => b).ToArray(), n.Version, n.NBits, n.NTime);
            lock (_gate)
            {
                _jobs[n.JobId] = (template, _extranonce1);
            }
        }
    }

    private bool Check(JsonElement submit)
    {
        var job = submit[1].GetString()!;
        var extranonce2 = Convert.FromHexString(submit[2].GetString()!);
        var ntime = uint.Parse(submit[3].GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var nonce = uint.Parse(submit[4].GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        (ShareJobTemplate Template, byte[] Extranonce1) sent;
        lock (_gate)
        {
            _submittedExtranonce2.Add(submit[2].GetString()!);
            if (!_jobs.TryGetValue(job, out sent) || extranonce2.Length != Extranonce2Size)
            {
                Interlocked.Increment(ref _rejected);
                return false;
            }
        }

        var version = sent.Template.Version;
        if (submit.GetArrayLength() > 5)
        {
            version = (version & ~0x1fffe000u) | uint.Parse(submit[5].GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        Span<byte> hash = stackalloc byte[32];
        ShareHasher.Default.ComputeBlockHash(sent.Template, sent.Extranonce1, extranonce2, ntime, nonce, version, hash);
        if (!Difficulty.MeetsTarget(hash, Difficulty.ToTarget(ShareDifficulty)))
        {
            Interlocked.Increment(ref _rejected);
            return false;
        }

        return true;
    }
}
