using StratumProxy.Stratum.Crypto;

namespace StratumProxy.Stratum.Mining;

/// <summary>
/// Everything about a mining.notify that is the same for every share of the job, decoded and precomputed once:
/// prevhash in header order, coinbase parts, branches, the 32-bit fields, the network target, and the SHA-256
/// midstate of coinbase1's whole 64-byte blocks (which do not depend on the extranonces). Immutable and safe to
/// share between threads.
/// </summary>
public sealed class ShareJobTemplate
{
    private readonly byte[] _prevHash;
    private readonly byte[] _coinbase1;
    private readonly byte[] _coinbase2;
    private readonly byte[] _branches;

    private ShareJobTemplate(byte[] prevHash, byte[] coinbase1, byte[] coinbase2, byte[] branches, uint version, uint nbits, uint ntime)
    {
        _prevHash = prevHash;
        _coinbase1 = coinbase1;
        _coinbase2 = coinbase2;
        _branches = branches;
        Version = version;
        NBits = nbits;
        NTime = ntime;
        if (!Difficulty.TryTargetFromCompact(nbits, out var target))
        {
            throw new ArgumentException($"nbits {nbits:x8} is not a valid compact target.", nameof(nbits));
        }

        NetworkTarget = target;
        Coinbase1Midstate = Sha256Compressor.Default.ComputeMidstate(coinbase1, out var absorbed);
        MidstateLength = absorbed;
    }

    /// <summary>prevhash in header byte order (Stratum's word swap already undone).</summary>
    public ReadOnlySpan<byte> PrevHash => _prevHash;

    public ReadOnlySpan<byte> Coinbase1 => _coinbase1;

    public ReadOnlySpan<byte> Coinbase2 => _coinbase2;

    /// <summary>The merkle branches, concatenated, 32 bytes each in internal order.</summary>
    public ReadOnlySpan<byte> MerkleBranches => _branches;

    public int BranchCount => _branches.Length / 32;

    /// <summary>The job's version before any BIP310 rolling.</summary>
    public uint Version { get; }

    public uint NBits { get; }

    /// <summary>The job's ntime (miners may roll it forward; the share carries its own).</summary>
    public uint NTime { get; }

    /// <summary>The block target nbits encodes: a share at or below it is a block candidate.</summary>
    public UInt256 NetworkTarget { get; }

    /// <summary>SHA-256 state after the first <see cref="MidstateLength"/> bytes of coinbase1.</summary>
    public Sha256State Coinbase1Midstate { get; }

    /// <summary>How many leading bytes of coinbase1 the midstate covers (a multiple of 64).</summary>
    public int MidstateLength { get; }

    /// <summary>Coinbase length for the given extranonce sizes.</summary>
    public int CoinbaseLength(int extranonce1Length, int extranonce2Length) =>
        _coinbase1.Length + extranonce1Length + extranonce2Length + _coinbase2.Length;

    /// <summary>
    /// Builds a template from decoded notify fields. <paramref name="prevHashStratum"/> is the 32 bytes as
    /// mining.notify carries them (word-swapped); the 32-bit fields are values (parsed from big-endian hex).
    /// </summary>
    public static ShareJobTemplate Create(
        ReadOnlySpan<byte> prevHashStratum,
        ReadOnlySpan<byte> coinbase1,
        ReadOnlySpan<byte> coinbase2,
        ReadOnlySpan<byte> merkleBranches,
        uint version,
        uint nbits,
        uint ntime)
    {
        if (prevHashStratum.Length != 32)
        {
            throw new ArgumentException("prevhash must be 32 bytes.", nameof(prevHashStratum));
        }

        if (merkleBranches.Length % 32 != 0)
        {
            throw new ArgumentException("Merkle branches are 32 bytes each.", nameof(merkleBranches));
        }

        var prevHash = new byte[32];
        BlockHeader.SwapPrevHashWords(prevHashStratum, prevHash);
        return new ShareJobTemplate(prevHash, coinbase1.ToArray(), coinbase2.ToArray(), merkleBranches.ToArray(), version, nbits, ntime);
    }

    /// <summary>Builds a template from the hex strings of a mining.notify; throws <see cref="FormatException"/> on bad hex.</summary>
    public static ShareJobTemplate FromHex(
        string prevHash,
        string coinbase1,
        string coinbase2,
        IReadOnlyList<string> merkleBranches,
        string version,
        string nbits,
        string ntime)
    {
        ArgumentNullException.ThrowIfNull(prevHash);
        ArgumentNullException.ThrowIfNull(coinbase1);
        ArgumentNullException.ThrowIfNull(coinbase2);
        ArgumentNullException.ThrowIfNull(merkleBranches);
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(nbits);
        ArgumentNullException.ThrowIfNull(ntime);

        Span<byte> prev = stackalloc byte[32];
        if (!Hex.TryDecodeExact(prevHash, prev))
        {
            throw new FormatException("prevhash must be 64 hex digits.");
        }

        var branches = new byte[merkleBranches.Count * 32];
        for (var i = 0; i < merkleBranches.Count; i++)
        {
            if (!Hex.TryDecodeExact(merkleBranches[i], branches.AsSpan(i * 32, 32)))
            {
                throw new FormatException($"Merkle branch {i} must be 64 hex digits.");
            }
        }

        return Create(
            prev,
            Hex.Decode(coinbase1),
            Hex.Decode(coinbase2),
            branches,
            ParseField(version, nameof(version)),
            ParseField(nbits, nameof(nbits)),
            ParseField(ntime, nameof(ntime)));
    }

    private static uint ParseField(string hex, string name) =>
        Hex.TryParseUInt32BigEndianHex(hex, out var value)
            ? value
            : throw new FormatException($"{name} must be 8 hex digits.");
}
