using System.Buffers.Binary;

namespace StratumProxy.Economics.Market;

/// <summary>What the pool's coinbase says about its block template.</summary>
/// <param name="TotalOutputSatoshis">Sum of every output: subsidy + the template's fees (what the block would pay).</param>
/// <param name="OutputCount">Number of outputs, including zero-value commitments (witness, merge-mining).</param>
/// <param name="Height">The BIP34 height pushed first in the coinbase script, when present.</param>
public readonly record struct CoinbaseSummary(long TotalOutputSatoshis, int OutputCount, long? Height);

/// <summary>
/// Parses the coinbase a pool sends in mining.notify: coinbase1 + extranonce (placeholder of the given length) +
/// coinbase2 is a complete legacy-serialized transaction (stratum never sends the witness form). The extranonce
/// bytes sit inside the script, so their content does not matter, only their length.
/// </summary>
public static class CoinbaseTransaction
{
    /// <summary>
    /// The largest plausible total: 21 million BTC. Anything above it means the bytes were not a coinbase.
    /// </summary>
    private const long MaxMoney = 21_000_000L * 100_000_000L;

    public static CoinbaseSummary Parse(string coinbase1Hex, int extranonceLength, string coinbase2Hex)
    {
        ArgumentNullException.ThrowIfNull(coinbase1Hex);
        ArgumentNullException.ThrowIfNull(coinbase2Hex);
        ArgumentOutOfRangeException.ThrowIfNegative(extranonceLength);
        var part1 = Convert.FromHexString(coinbase1Hex);
        var part2 = Convert.FromHexString(coinbase2Hex);
        var tx = new byte[part1.Length + extranonceLength + part2.Length];
        part1.CopyTo(tx, 0);
        part2.CopyTo(tx, part1.Length + extranonceLength);
        return Parse(tx);
    }

    public static CoinbaseSummary Parse(ReadOnlySpan<byte> tx)
    {
        var reader = new Reader(tx);
        reader.Skip(4); // version
        if (reader.Peek() == 0x00)
        {
            throw new FormatException("coinbase is in witness serialization; stratum sends the legacy form");
        }

        if (reader.VarInt() != 1)
        {
            throw new FormatException("a coinbase has exactly one input");
        }

        var prevout = reader.Take(36);
        if (prevout[..32].IndexOfAnyExcept((byte)0) >= 0 || BinaryPrimitives.ReadUInt32LittleEndian(prevout[32..]) != uint.MaxValue)
        {
            throw new FormatException("the input does not spend the null outpoint, so this is not a coinbase");
        }

        var script = reader.Take(reader.Length());
        var height = Bip34Height(script);
        reader.Skip(4); // sequence
        var outputs = reader.Length();
        long total = 0;
        for (var i = 0; i < outputs; i++)
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(reader.Take(8));
            if (value < 0 || value > MaxMoney)
            {
                throw new FormatException($"output {i} has an impossible value {value}");
            }

            total += value;
            reader.Skip(reader.Length());
        }

        reader.Skip(4); // lock time
        if (!reader.AtEnd)
        {
            throw new FormatException($"{reader.Remaining} bytes after the lock time: wrong extranonce length?");
        }

        return total > MaxMoney
            ? throw new FormatException("outputs add up to more than the money supply")
            : new CoinbaseSummary(total, outputs, height);
    }

    /// <summary>BIP34: the script starts with the height as a minimal CScriptNum push (OP_0, OP_1..OP_16, or 1–8 bytes).</summary>
    private static long? Bip34Height(ReadOnlySpan<byte> script)
    {
        if (script.IsEmpty)
        {
            return null;
        }

        var op = script[0];
        if (op == 0x00)
        {
            return 0;
        }

        if (op is >= 0x51 and <= 0x60)
        {
            return op - 0x50;
        }

        if (op is >= 1 and <= 8 && script.Length > op)
        {
            long value = 0;
            for (var i = op; i >= 1; i--)
            {
                value = (value << 8) | script[i];
            }

            // A set top bit would be a negative CScriptNum: not a height.
            return (script[op] & 0x80) != 0 ? null : value;
        }

        return null;
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position == _data.Length;
        public readonly int Remaining => _data.Length - _position;

        public readonly byte Peek() => _position < _data.Length ? _data[_position] : throw Truncated();

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _data.Length - _position)
            {
                throw Truncated();
            }

            var slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }

        public void Skip(int count) => Take(count);

        /// <summary>A varint that counts bytes or items: anything beyond the buffer is a parse failure, not an overflow.</summary>
        public int Length()
        {
            var value = VarInt();
            return value <= (ulong)Remaining ? (int)value : throw Truncated();
        }

        public ulong VarInt()
        {
            var first = Take(1)[0];
            return first switch
            {
                < 0xFD => first,
                0xFD => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)),
                0xFE => BinaryPrimitives.ReadUInt32LittleEndian(Take(4)),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(Take(8)),
            };
        }

        private static FormatException Truncated() => new("coinbase is truncated: wrong extranonce length or not a transaction");
    }
}
