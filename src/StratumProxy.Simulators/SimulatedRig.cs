using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Crypto;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Simulators;

/// <summary>
/// A simulated mining rig: one Stratum connection to the proxy, hashing real SHA-256d at a fixed rate (paced with the
/// clock) and submitting every share that meets the difficulty it was given. Its hash boards can be disabled and
/// enabled (by its management API); with every board disabled it keeps its connection and stops hashing, as a
/// cgminer with its devices disabled does.
/// </summary>
public sealed class SimulatedRig : IAsyncDisposable
{
    private const int SubscribeId = 1;
    private const int AuthorizeId = 2;
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly bool[] _boards;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, double> _pendingSubmits = [];
    private Task _run = Task.CompletedTask;
    private Work? _work;
    private byte[]? _extranonce1;
    private int _extranonce2Size;
    private double _difficulty = 1;
    private long _nextId = 100;
    private ulong _extranonce2Counter;

    /// <summary>Creates a rig that authorizes as <paramref name="worker"/> and hashes at <paramref name="hashesPerSecond"/>.</summary>
    public SimulatedRig(string worker, double hashesPerSecond, int boards, TimeProvider time)
    {
        Worker = worker;
        HashesPerSecond = hashesPerSecond;
        _boards = Enumerable.Repeat(true, boards).ToArray();
        _time = time;
        Started = time.GetUtcNow();
    }

    /// <summary>The worker name the rig authorizes with.</summary>
    public string Worker { get; }

    /// <summary>The rate the rig hashes at with every board enabled.</summary>
    public double HashesPerSecond { get; }

    /// <summary>When the rig was started.</summary>
    public DateTimeOffset Started { get; }

    /// <summary>Hashes computed so far.</summary>
    public long Hashes { get; private set; }

    /// <summary>Shares the proxy accepted.</summary>
    public long Accepted { get; private set; }

    /// <summary>Shares the proxy rejected.</summary>
    public long Rejected { get; private set; }

    /// <summary>Sum of the difficulty of accepted shares.</summary>
    public double DifficultyAccepted { get; private set; }

    /// <summary>The difficulty the proxy set.</summary>
    public double CurrentDifficulty => _difficulty;

    /// <summary>The board states (true = enabled).</summary>
    public IReadOnlyList<bool> Boards
    {
        get
        {
            lock (_lock)
            {
                return [.. _boards];
            }
        }
    }

    /// <summary>The rate the rig hashes at now (0 with every board disabled).</summary>
    public double CurrentHashesPerSecond
    {
        get
        {
            lock (_lock)
            {
                return HashesPerSecond * _boards.Count(b => b) / _boards.Length;
            }
        }
    }

    /// <summary>Enables or disables a board; false when the id is out of range.</summary>
    public bool SetBoard(int id, bool enabled)
    {
        lock (_lock)
        {
            if (id < 0 || id >= _boards.Length)
            {
                return false;
            }

            _boards[id] = enabled;
            return true;
        }
    }

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/> and hashes (reconnecting when the connection drops).</summary>
    public void Start(string host, int port) => _run = RunAsync(host, port, _stop.Token);

    private async Task RunAsync(string host, int port, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
                using var line = new LineConnection(client);
                using var connected = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                await line.SendAsync(
                    (w, o) =>
                    {
                        w.WriteSubscribe(o, JsonRpcId.FromNumber(SubscribeId), "stratumproxy-demo-rig/1.0");
                        w.WriteAuthorize(o, JsonRpcId.FromNumber(AuthorizeId), Worker, "x");
                    },
                    cancellationToken).ConfigureAwait(false);
                var hashing = HashLoopAsync(line, connected.Token);
                try
                {
                    await ReadLoopAsync(line, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await connected.CancelAsync().ConfigureAwait(false);
                    await hashing.ConfigureAwait(false);
                    Volatile.Write(ref _work, null);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                // The proxy is not there (yet) or hung up: try again shortly.
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReadLoopAsync(LineConnection line, CancellationToken cancellationToken)
    {
        while (await line.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } bytes)
        {
            if (!StratumEnvelope.TryParse(bytes, out var envelope, out _))
            {
                continue;
            }

            switch (envelope.Kind)
            {
                case StratumMessageKind.Response when envelope.Id == JsonRpcId.FromNumber(SubscribeId):
                    if (SubscribeResult.TryParse(bytes, envelope, out var subscribed, out _))
                    {
                        _extranonce1 = subscribed!.Extranonce1;
                        _extranonce2Size = subscribed.Extranonce2Size;
                    }

                    break;
                case StratumMessageKind.Response:
                    OnSubmitAnswer(bytes, envelope);
                    break;
                case StratumMessageKind.Notification or StratumMessageKind.Request when envelope.Method == StratumMethod.SetDifficulty:
                    if (PoolParams.TryParseDifficulty(bytes, envelope, out var difficulty, out _))
                    {
                        _difficulty = difficulty;
                    }

                    break;
                case StratumMessageKind.Notification or StratumMessageKind.Request when envelope.Method == StratumMethod.Notify:
                    if (NotifyMessage.TryParse(bytes, envelope, out var notify, out _) && _extranonce1 is { } extranonce1)
                    {
                        var template = ShareJobTemplate.Create(notify!.PrevHash, notify.Coinbase1, notify.Coinbase2, [.. notify.MerkleBranches.SelectMany(b => b)], notify.Version, notify.NBits, notify.NTime);
                        Volatile.Write(ref _work, new Work(notify.JobId, template, extranonce1, _extranonce2Size, _difficulty));
                    }

                    break;
            }
        }
    }

    private void OnSubmitAnswer(byte[] line, StratumEnvelope envelope)
    {
        if (envelope.Id.Kind != JsonRpcIdKind.Number)
        {
            return;
        }

        var ok = envelope.Result.Of(line).SequenceEqual("true"u8);
        lock (_lock)
        {
            foreach (var (id, difficulty) in _pendingSubmits)
            {
                if (envelope.Id == JsonRpcId.FromNumber(id))
                {
                    _pendingSubmits.Remove(id);
                    if (ok)
                    {
                        Accepted++;
                        DifficultyAccepted += difficulty;
                    }
                    else
                    {
                        Rejected++;
                    }

                    return;
                }
            }
        }
    }

    /// <summary>
    /// Hashes in slices of <see cref="Slice"/>: each slice computes as many nonces as the rate allows and then waits
    /// for the clock to catch up. The first 64 header bytes are fixed per extranonce2, so each nonce costs two
    /// SHA-256 compressions from a midstate; a hit is re-checked with the full <see cref="ShareHasher"/>.
    /// </summary>
    private async Task HashLoopAsync(LineConnection line, CancellationToken cancellationToken)
    {
        var sha = ShareHasher.Default.Compressor;
        var tail = new byte[Sha256Compressor.BlockSize];
        var outer = new byte[Sha256Compressor.BlockSize];
        tail[16] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(tail.AsSpan(56), 80 * 8);
        outer[32] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(outer.AsSpan(56), 32 * 8);
        var header = new byte[BlockHeader.Size];
        var digest = new byte[32];
        var root = new byte[32];
        Work? prepared = null;
        byte[] extranonce2 = [];
        var midstate = Sha256State.Initial;
        uint nonce = 0;
        var target = default(UInt256);
        var next = _time.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var rate = CurrentHashesPerSecond;
                var work = Volatile.Read(ref _work);
                if (rate <= 0 || work is null)
                {
                    await Task.Delay(Slice, _time, cancellationToken).ConfigureAwait(false);
                    next = _time.GetTimestamp();
                    continue;
                }

                if (!ReferenceEquals(work, prepared))
                {
                    prepared = work;
                    target = Difficulty.ToTarget(work.Difficulty);
                    nonce = uint.MaxValue;
                }

                var count = (int)Math.Max(1, rate * Slice.TotalSeconds);
                for (var i = 0; i < count; i++)
                {
                    if (nonce == uint.MaxValue)
                    {
                        extranonce2 = NextExtranonce2(work.Extranonce2Size);
                        ShareHasher.Default.ComputeMerkleRoot(work.Template, work.Extranonce1, extranonce2, root);
                        BlockHeader.Write(header, work.Template.Version, work.Template.PrevHash, root, work.Template.NTime, work.Template.NBits, 0);
                        midstate = sha.ComputeMidstate(header.AsSpan(0, 64), out _);
                        header.AsSpan(64, 16).CopyTo(tail);
                        nonce = 0;
                    }

                    BinaryPrimitives.WriteUInt32LittleEndian(tail.AsSpan(BlockHeader.NonceOffset - 64), nonce);
                    var state = midstate;
                    sha.Compress(ref state, tail);
                    state.WriteDigest(outer);
                    state = Sha256State.Initial;
                    sha.Compress(ref state, outer);
                    state.WriteDigest(digest);
                    if (Difficulty.MeetsTarget(digest, target))
                    {
                        await SubmitAsync(line, work, extranonce2, nonce, cancellationToken).ConfigureAwait(false);
                    }

                    nonce = nonce >= (1u << 24) ? uint.MaxValue : nonce + 1;
                }

                Hashes += count;
                next += (long)(count / rate * _time.TimestampFrequency);
                var wait = _time.GetElapsedTime(_time.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // Slower than the rate (a busy machine): do not try to catch up in a burst.
                    next = _time.GetTimestamp();
                    await Task.Yield();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disconnected or stopping.
        }
    }

    private byte[] NextExtranonce2(int size)
    {
        var counter = ++_extranonce2Counter;
        var bytes = new byte[size];
        for (var i = 0; i < size && i < 8; i++)
        {
            bytes[i] = (byte)(counter >> (8 * i));
        }

        return bytes;
    }

    private async Task SubmitAsync(LineConnection line, Work work, byte[] extranonce2, uint nonce, CancellationToken cancellationToken)
    {
        Span<byte> check = stackalloc byte[32];
        ShareHasher.Default.ComputeBlockHash(work.Template, work.Extranonce1, extranonce2, work.Template.NTime, nonce, work.Template.Version, check);
        if (!Difficulty.MeetsTarget(check, Difficulty.ToTarget(work.Difficulty)))
        {
            throw new InvalidOperationException("the simulated rig's midstate hash disagrees with the share hasher");
        }

        long id;
        lock (_lock)
        {
            id = _nextId++;
            _pendingSubmits[id] = work.Difficulty;
        }

        var jobId = Encoding.UTF8.GetBytes(work.JobId);
        var e2 = extranonce2;
        var ntime = work.Template.NTime;
        await line.SendAsync((w, o) => w.WriteSubmit(o, JsonRpcId.FromNumber(id), Worker, jobId, [], e2, ntime, nonce, null), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed record Work(string JobId, ShareJobTemplate Template, byte[] Extranonce1, int Extranonce2Size, double Difficulty);
}
