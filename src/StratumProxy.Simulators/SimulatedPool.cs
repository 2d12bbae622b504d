using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Simulators;

/// <summary>
/// A small validating Stratum V1 pool on loopback: subscribe, configure (version rolling), authorize, jobs with a
/// real coinbase (BIP34 height, subsidy plus fees) and the market's network difficulty in nbits, and every submitted
/// share rebuilt and checked with the product's share math (SHA-256d of the header against the connection's target).
/// A change of network difficulty is a new block: a clean job with a new prevhash.
/// </summary>
public sealed class SimulatedPool : IAsyncDisposable
{
    private const int Extranonce2Size = 8;
    private const uint PoolVersionMask = 0x1fffe000;
    private const uint BlockVersion = 0x20000000;
    private const long FeesSats = 2_000_000;
    private static readonly TimeSpan JobRefresh = TimeSpan.FromSeconds(30);

    private readonly LoopbackListener _server;
    private readonly Func<double> _networkDifficulty;
    private readonly TimeProvider _time;
    private readonly double _shareDifficulty;
    private readonly Random _random = new();
    private readonly Lock _lock = new();
    private readonly List<Connection> _connections = [];
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly HashSet<(string, string, string, uint, uint, uint)> _seen = [];
    private readonly Task _jobLoop;
    private Job _current;
    private uint _height = 925_000;
    private long _sequence;
    private int _nextExtranonce1;

    /// <summary>Starts the pool on 127.0.0.1 and a free port.</summary>
    /// <param name="name">The pool's name (in its coinbase tag).</param>
    /// <param name="shareDifficulty">The share difficulty the pool sets for each connection.</param>
    /// <param name="networkDifficulty">The network difficulty to put in the jobs' nbits, read at each job.</param>
    /// <param name="time">The clock.</param>
    public SimulatedPool(string name, double shareDifficulty, Func<double> networkDifficulty, TimeProvider time)
    {
        Name = name;
        _shareDifficulty = shareDifficulty;
        _networkDifficulty = networkDifficulty;
        _time = time;
        _nextExtranonce1 = _random.Next(0x1000, 0x7fff) << 16;
        _current = NewJob(clean: true);
        _server = new LoopbackListener(ServeAsync);
        _jobLoop = JobLoopAsync();
    }

    /// <summary>The pool's name.</summary>
    public string Name { get; }

    /// <summary>The pool's Stratum URL.</summary>
    public string Url => "stratum+tcp://127.0.0.1:" + _server.Port;

    /// <summary>Shares accepted so far.</summary>
    public long Accepted { get; private set; }

    /// <summary>Shares rejected so far (stale, duplicate, low difficulty, malformed).</summary>
    public long Rejected { get; private set; }

    private Job NewJob(bool clean)
    {
        if (clean)
        {
            _height++;
        }

        var prevHash = clean || _sequence == 0 ? RandomBytes(32) : _current.PrevHash;
        _sequence++;
        var nbits = Difficulty.ToCompact(Difficulty.ToTarget(_networkDifficulty()));
        var coinbase1 = Coinbase1(_height);
        var coinbase2 = Coinbase2(Name);
        byte[][] branches = [RandomBytes(32), RandomBytes(32)];
        var ntime = (uint)_time.GetUtcNow().ToUnixTimeSeconds();
        var template = ShareJobTemplate.Create(prevHash, coinbase1, coinbase2, [.. branches.SelectMany(b => b)], BlockVersion, nbits, ntime);
        var id = _sequence.ToString("x", CultureInfo.InvariantCulture);
        return new Job(id, prevHash, coinbase1, coinbase2, branches, nbits, ntime, clean, template);
    }

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Coinbase1(uint height)
    {
        var script = 4 + 4 + Extranonce2Size + 12;
        var bytes = new List<byte> { 0x01, 0x00, 0x00, 0x00, 0x01 };
        bytes.AddRange(new byte[32]);
        bytes.AddRange([0xff, 0xff, 0xff, 0xff, (byte)script, 0x03, (byte)height, (byte)(height >> 8), (byte)(height >> 16)]);
        return [.. bytes];
    }

    private static byte[] Coinbase2(string name)
    {
        var tag = Encoding.ASCII.GetBytes(("/demo-" + name + "/").PadRight(12, ' ')[..12]);
        var bytes = new List<byte>(tag) { 0xff, 0xff, 0xff, 0xff, 0x01 };
        Span<byte> value = stackalloc byte[8];

        // Subsidy 3.125 BTC at this height plus the fees.
        BinaryPrimitives.WriteInt64LittleEndian(value, 312_500_000 + FeesSats);
        bytes.AddRange(value.ToArray());
        bytes.AddRange([0x16, 0x00, 0x14]);
        bytes.AddRange(Encoding.ASCII.GetBytes("stratumproxy-demo-pool"[..20]));
        bytes.AddRange([0x00, 0x00, 0x00, 0x00]);
        return [.. bytes];
    }

    private async Task JobLoopAsync()
    {
        var lastDifficulty = _networkDifficulty();
        var lastJob = _time.GetUtcNow();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_server.Stopping).ConfigureAwait(false))
            {
                var difficulty = _networkDifficulty();
                var newBlock = difficulty != lastDifficulty;
                if (!newBlock && _time.GetUtcNow() - lastJob < JobRefresh)
                {
                    continue;
                }

                lastDifficulty = difficulty;
                lastJob = _time.GetUtcNow();
                Job job;
                Connection[] connections;
                lock (_lock)
                {
                    job = NewJob(newBlock);
                    if (newBlock)
                    {
                        _jobs.Clear();
                        _seen.Clear();
                    }

                    _current = job;
                    _jobs[job.Id] = job;
                    connections = [.. _connections.Where(c => c.Authorized)];
                }

                foreach (var connection in connections)
                {
                    await connection.Line.SendAsync((w, o) => WriteNotify(w, o, job), _server.Stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var extranonce1 = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(extranonce1, Interlocked.Increment(ref _nextExtranonce1));
        using var line = new LineConnection(client);
        var connection = new Connection(line, extranonce1);
        lock (_lock)
        {
            _connections.Add(connection);
        }

        try
        {
            while (await line.ReadLineAsync(_server.Stopping).ConfigureAwait(false) is { } bytes)
            {
                if (!StratumEnvelope.TryParse(bytes, out var envelope, out _))
                {
                    return;
                }

                if (envelope.Kind == StratumMessageKind.Request || envelope.Kind == StratumMessageKind.Notification)
                {
                    await HandleAsync(connection, bytes, envelope).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
        {
            // The proxy hung up or we are stopping.
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(connection);
            }
        }
    }

    private async Task HandleAsync(Connection connection, byte[] line, StratumEnvelope envelope)
    {
        var id = envelope.Id;
        var token = _server.Stopping;
        switch (envelope.Method)
        {
            case StratumMethod.Subscribe:
                var subscription = BitConverter.GetBytes(connection.GetHashCode());
                await connection.Line.SendAsync((w, o) => w.WriteSubscribeResult(o, id, subscription, connection.Extranonce1, Extranonce2Size), token).ConfigureAwait(false);
                break;
            case StratumMethod.Configure:
                var rolling = ConfigureRequest.TryParse(line, envelope, out var configure, out _) && configure.WantsVersionRolling;
                connection.VersionMask = rolling ? VersionRolling.Negotiate(PoolVersionMask, configure.VersionRollingMask ?? uint.MaxValue) : 0;
                await connection.Line.SendAsync((w, o) => w.WriteConfigureResult(o, id, rolling ? true : null, connection.VersionMask, null), token).ConfigureAwait(false);
                break;
            case StratumMethod.Authorize:
                Job job;
                lock (_lock)
                {
                    connection.Authorized = true;
                    job = _current;
                    _jobs[job.Id] = job;
                }

                await connection.Line.SendAsync(
                    (w, o) =>
                    {
                        w.WriteResult(o, id, true);
                        w.WriteSetDifficulty(o, _shareDifficulty);
                        WriteNotify(w, o, job);
                    },
                    token).ConfigureAwait(false);
                break;
            case StratumMethod.Submit:
                var error = Validate(connection, line, envelope);
                await connection.Line.SendAsync(
                    (w, o) =>
                    {
                        if (error is { } e)
                        {
                            w.WriteError(o, id, e.Code, e.Message);
                        }
                        else
                        {
                            w.WriteResult(o, id, true);
                        }
                    },
                    token).ConfigureAwait(false);
                break;
            default:
                if (envelope.Kind == StratumMessageKind.Request)
                {
                    await connection.Line.SendAsync((w, o) => w.WriteResult(o, id, true), token).ConfigureAwait(false);
                }

                break;
        }
    }

    private (StratumErrorCode Code, string Message)? Validate(Connection connection, byte[] line, StratumEnvelope envelope)
    {
        lock (_lock)
        {
            var result = Check(connection, line, envelope);
            if (result is null)
            {
                Accepted++;
            }
            else
            {
                Rejected++;
            }

            return result;
        }
    }

    private (StratumErrorCode Code, string Message)? Check(Connection connection, byte[] line, StratumEnvelope envelope)
    {
        if (!SubmitRequest.TryParse(line, envelope, out var submit, out _))
        {
            return (StratumErrorCode.Other, "Malformed submit");
        }

        var jobId = Encoding.UTF8.GetString(submit.JobId.Of(line));
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            return (StratumErrorCode.JobNotFound, "Job not found (stale)");
        }

        if (submit.Extranonce2.Length != Extranonce2Size)
        {
            return (StratumErrorCode.Other, "Wrong extranonce2 size");
        }

        var version = BlockVersion;
        if (submit.HasVersionBits && !VersionRolling.TryApply(BlockVersion, submit.VersionBits, connection.VersionMask, out version))
        {
            return (StratumErrorCode.Other, "Version bits outside the negotiated mask");
        }

        Span<byte> hash = stackalloc byte[32];
        ShareHasher.Default.ComputeBlockHash(job.Template, connection.Extranonce1, submit.Extranonce2.Span, submit.NTime, submit.Nonce, version, hash);
        if (!Difficulty.MeetsTarget(hash, Difficulty.ToTarget(_shareDifficulty)))
        {
            return (StratumErrorCode.LowDifficulty, "Low difficulty share");
        }

        return _seen.Add((jobId, Convert.ToHexStringLower(connection.Extranonce1), Convert.ToHexStringLower(submit.Extranonce2.Span), submit.NTime, submit.Nonce, version))
            ? null
            : (StratumErrorCode.DuplicateShare, "Duplicate share");
    }

    private static void WriteNotify(StratumWriter writer, System.Buffers.IBufferWriter<byte> output, Job job) =>
        writer.WriteNotify(output, Encoding.UTF8.GetBytes(job.Id), job.PrevHash, job.Coinbase1, job.Coinbase2, job.Branches, BlockVersion, job.NBits, job.NTime, job.Clean);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        await _jobLoop.ConfigureAwait(false);
    }

    private sealed record Job(string Id, byte[] PrevHash, byte[] Coinbase1, byte[] Coinbase2, byte[][] Branches, uint NBits, uint NTime, bool Clean, ShareJobTemplate Template);

    private sealed class Connection(LineConnection line, byte[] extranonce1)
    {
        public LineConnection Line { get; } = line;

        public byte[] Extranonce1 { get; } = extranonce1;

        public uint VersionMask { get; set; }

        public bool Authorized { get; set; }
    }
}
