using System.Buffers.Binary;
using System.Text;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.TestKit;

/// <summary>One job the pool issued: the notify fields as sent, and the template shares are checked against.</summary>
internal sealed record PoolJob(
    string JobId,
    long Sequence,
    byte[] PrevHashStratum,
    byte[] Coinbase1,
    byte[] Coinbase2,
    byte[][] MerkleBranches,
    uint Version,
    uint NBits,
    uint NTime,
    bool CleanJobs,
    ShareJobTemplate Template);

/// <summary>
/// Builds real-looking jobs: a coinbase transaction split around the extranonces with a BIP34 height push in its
/// scriptSig, random merkle branches, and a new prevhash and height on each clean job (a new block).
/// </summary>
internal sealed class PoolJobFactory
{
    private static readonly byte[] Tag = Encoding.ASCII.GetBytes("/stratumproxy-testpool/");

    private readonly Random _random;
    private readonly TestPoolOptions _options;
    private readonly string _prefix;
    private readonly byte[] _payoutHash = new byte[20];
    private byte[] _prevHash = new byte[32];
    private int _height;
    private long _sequence;

    public PoolJobFactory(TestPoolOptions options)
    {
        _options = options;
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
        _prefix = _random.Next(0x1000, 0xFFFF).ToString("x4", System.Globalization.CultureInfo.InvariantCulture);
        _random.NextBytes(_payoutHash);
        _random.NextBytes(_prevHash);
        _height = 880_000 + _random.Next(0, 10_000);
    }

    public PoolJob Next(bool cleanJobs)
    {
        if (cleanJobs && _sequence > 0)
        {
            _height++;
            _prevHash = new byte[32];
            _random.NextBytes(_prevHash);
        }

        _sequence++;
        var jobId = $"{_prefix}{_sequence:x8}";
        var branchCount = _options.MerkleBranchCount ?? _random.Next(0, 13);
        var branches = new byte[branchCount][];
        for (var i = 0; i < branchCount; i++)
        {
            branches[i] = new byte[32];
            _random.NextBytes(branches[i]);
        }

        var coinbase1 = BuildCoinbase1();
        var coinbase2 = BuildCoinbase2();
        var ntime = (uint)_options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        var template = ShareJobTemplate.Create(_prevHash, coinbase1, coinbase2, branches.SelectMany(b => b).ToArray(), _options.Version, _options.NBits, ntime);
        return new PoolJob(jobId, _sequence, _prevHash, coinbase1, coinbase2, branches, _options.Version, _options.NBits, ntime, cleanJobs, template);
    }

    private byte[] BuildCoinbase1()
    {
        var scriptLength = 4 + _options.Extranonce1Size + _options.Extranonce2Size + Tag.Length;
        var bytes = new List<byte>(64);
        bytes.AddRange([0x01, 0x00, 0x00, 0x00]);          // tx version 1
        bytes.Add(0x01);                                     // one input
        bytes.AddRange(new byte[32]);                        // null prevout hash
        bytes.AddRange([0xFF, 0xFF, 0xFF, 0xFF]);            // prevout index
        bytes.Add((byte)scriptLength);
        bytes.Add(0x03);                                     // BIP34: push 3 bytes of height
        bytes.Add((byte)_height);
        bytes.Add((byte)(_height >> 8));
        bytes.Add((byte)(_height >> 16));
        return [.. bytes];
    }

    private byte[] BuildCoinbase2()
    {
        var bytes = new List<byte>(96);
        if (_options.StampJobs)
        {
            // Same length as the tag, so coinbase1's script length holds either way.
            Span<byte> stamp = stackalloc byte[Tag.Length];
            stamp.Fill((byte)'/');
            PoolJobStamp.Write(stamp, _options.TimeProvider.GetUtcNow());
            bytes.AddRange(stamp.ToArray());
        }
        else
        {
            bytes.AddRange(Tag);
        }

        bytes.AddRange([0xFF, 0xFF, 0xFF, 0xFF]);            // sequence
        bytes.Add(0x01);                                     // one output
        Span<byte> value = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(value, 312_500_000);
        bytes.AddRange(value.ToArray());
        bytes.Add(0x19);                                     // P2PKH script
        bytes.AddRange([0x76, 0xA9, 0x14]);
        bytes.AddRange(_payoutHash);
        bytes.AddRange([0x88, 0xAC]);
        bytes.AddRange([0x00, 0x00, 0x00, 0x00]);            // lock time
        return [.. bytes];
    }
}

/// <summary>
/// The send-time stamp a <see cref="TestPool"/> with <see cref="TestPoolOptions.StampJobs"/> puts in coinbase2: the
/// marker <c>/spt</c> followed by 8 bytes of Unix microseconds, big-endian.
/// </summary>
public static class PoolJobStamp
{
    /// <summary>The marker bytes, <c>/spt</c>.</summary>
    public static ReadOnlySpan<byte> Marker => "/spt"u8;

    /// <summary>Marker plus stamp.</summary>
    public const int Length = 12;

    /// <summary>Writes the marker and <paramref name="time"/> at the start of <paramref name="destination"/>.</summary>
    public static void Write(Span<byte> destination, DateTimeOffset time)
    {
        Marker.CopyTo(destination);
        var microseconds = (time - DateTimeOffset.UnixEpoch).Ticks / 10;
        BinaryPrimitives.WriteInt64BigEndian(destination[Marker.Length..], microseconds);
    }

    /// <summary>Finds a stamp in a coinbase2; false when it carries none.</summary>
    public static bool TryRead(ReadOnlySpan<byte> coinbase2, out DateTimeOffset time)
    {
        var at = coinbase2.IndexOf(Marker);
        if (at < 0 || coinbase2.Length - at < Length)
        {
            time = default;
            return false;
        }

        var microseconds = BinaryPrimitives.ReadInt64BigEndian(coinbase2.Slice(at + Marker.Length, 8));
        time = DateTimeOffset.UnixEpoch.AddTicks(microseconds * 10);
        return true;
    }
}
