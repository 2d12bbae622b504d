using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.Stratum.Protocol;

/// <summary>
/// Formats Stratum lines straight into a connection's output (a <c>PipeWriter</c> is an <see cref="IBufferWriter{T}"/>),
/// each one compact JSON followed by <c>\n</c>. One instance per connection, used by that connection's single writer;
/// it reuses its <see cref="Utf8JsonWriter"/> and hex scratch buffer, so steady-state writes allocate nothing.
/// Ids are echoed as the raw token the peer sent.
/// </summary>
public sealed class StratumWriter : IDisposable
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = false,
        SkipValidation = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Utf8JsonWriter _json = new(Stream.Null, Options);
    private byte[] _hex = new byte[1024];

    /// <summary><c>{"id":…,"result":true|false,"error":null}</c>.</summary>
    public void WriteResult(IBufferWriter<byte> output, in JsonRpcId id, bool result)
    {
        var w = Begin(output, id);
        w.WriteBoolean("result"u8, result);
        w.WriteNull("error"u8);
        End(output);
    }

    /// <summary><c>{"id":…,"result":null,"error":[code,"message",null]}</c>.</summary>
    public void WriteError(IBufferWriter<byte> output, in JsonRpcId id, StratumErrorCode code, string message) =>
        WriteError(output, id, (int)code, message);

    /// <summary><c>{"id":…,"result":null,"error":[code,"message",null]}</c>.</summary>
    public void WriteError(IBufferWriter<byte> output, in JsonRpcId id, int code, string message)
    {
        var w = Begin(output, id);
        w.WriteNull("result"u8);
        w.WriteStartArray("error"u8);
        w.WriteNumberValue(code);
        w.WriteStringValue(message);
        w.WriteNullValue();
        w.WriteEndArray();
        End(output);
    }

    /// <summary>The subscribe result: <c>[[["mining.set_difficulty",sid],["mining.notify",sid]],extranonce1,extranonce2_size]</c>.</summary>
    public void WriteSubscribeResult(IBufferWriter<byte> output, in JsonRpcId id, ReadOnlySpan<byte> subscriptionId, ReadOnlySpan<byte> extranonce1, int extranonce2Size)
    {
        var w = Begin(output, id);
        w.WriteStartArray("result"u8);
        w.WriteStartArray();
        w.WriteStartArray();
        w.WriteStringValue("mining.set_difficulty"u8);
        WriteHexValue(subscriptionId);
        w.WriteEndArray();
        w.WriteStartArray();
        w.WriteStringValue("mining.notify"u8);
        WriteHexValue(subscriptionId);
        w.WriteEndArray();
        w.WriteEndArray();
        WriteHexValue(extranonce1);
        w.WriteNumberValue(extranonce2Size);
        w.WriteEndArray();
        w.WriteNull("error"u8);
        End(output);
    }

    /// <summary>The BIP310 configure result the proxy grants a miner.</summary>
    public void WriteConfigureResult(IBufferWriter<byte> output, in JsonRpcId id, bool? versionRolling, uint versionRollingMask, bool? minimumDifficulty)
    {
        var w = Begin(output, id);
        w.WriteStartObject("result"u8);
        if (versionRolling is { } rolling)
        {
            w.WriteBoolean("version-rolling"u8, rolling);
            if (rolling)
            {
                WriteHexProperty("version-rolling.mask"u8, versionRollingMask);
            }
        }

        if (minimumDifficulty is { } minDiff)
        {
            w.WriteBoolean("minimum-difficulty"u8, minDiff);
        }

        w.WriteEndObject();
        w.WriteNull("error"u8);
        End(output);
    }

    /// <summary>
    /// <c>{"id":null,"method":"mining.set_difficulty","params":[d]}</c>, with the number in plain decimal notation
    /// (<c>0.00000095367431640625</c>, never <c>9.5367431640625E-07</c>): every peer in PEERS.md #9 writes it so, and
    /// old firmware parsers are not known to take exponents.
    /// </summary>
    public void WriteSetDifficulty(IBufferWriter<byte> output, double difficulty)
    {
        var w = BeginNotification(output, StratumMethod.SetDifficulty);
        Span<byte> digits = stackalloc byte[PlainNumberMaxLength];
        w.WriteRawValue(digits[..FormatPlain(difficulty, digits)], skipInputValidation: true);
        EndNotification(output);
    }

    private const int PlainNumberMaxLength = 400;

    /// <summary>Writes a finite, non-negative double as the shortest round-trip digits in plain decimal notation.</summary>
    internal static int FormatPlain(double value, Span<byte> destination)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A difficulty is a finite, non-negative number.");
        }

        Span<char> r = stackalloc char[32];
        value.TryFormat(r, out var length, "R", System.Globalization.CultureInfo.InvariantCulture);
        r = r[..length];
        var e = r.IndexOfAny('E', 'e');
        if (e < 0)
        {
            for (var i = 0; i < r.Length; i++)
            {
                destination[i] = (byte)r[i];
            }

            return r.Length;
        }

        var exponent = int.Parse(r[(e + 1)..], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture);
        Span<char> mantissa = stackalloc char[32];
        var digitCount = 0;
        var pointAt = -1;
        foreach (var c in r[..e])
        {
            if (c == '.')
            {
                pointAt = digitCount;
            }
            else
            {
                mantissa[digitCount++] = c;
            }
        }

        var point = (pointAt < 0 ? digitCount : pointAt) + exponent;
        var written = 0;
        if (point <= 0)
        {
            destination[written++] = (byte)'0';
            destination[written++] = (byte)'.';
            for (var i = 0; i < -point; i++)
            {
                destination[written++] = (byte)'0';
            }

            for (var i = 0; i < digitCount; i++)
            {
                destination[written++] = (byte)mantissa[i];
            }

            return written;
        }

        for (var i = 0; i < Math.Max(point, digitCount); i++)
        {
            if (i == point)
            {
                destination[written++] = (byte)'.';
            }

            destination[written++] = (byte)(i < digitCount ? mantissa[i] : '0');
        }

        return written;
    }

    /// <summary><c>mining.set_version_mask</c>.</summary>
    public void WriteSetVersionMask(IBufferWriter<byte> output, uint mask)
    {
        BeginNotification(output, StratumMethod.SetVersionMask);
        WriteHexValue(mask);
        EndNotification(output);
    }

    /// <summary><c>mining.set_extranonce</c>.</summary>
    public void WriteSetExtranonce(IBufferWriter<byte> output, ReadOnlySpan<byte> extranonce1, int extranonce2Size)
    {
        var w = BeginNotification(output, StratumMethod.SetExtranonce);
        WriteHexValue(extranonce1);
        w.WriteNumberValue(extranonce2Size);
        EndNotification(output);
    }

    /// <summary><c>mining.set_target</c> with a big-endian 32-byte target.</summary>
    public void WriteSetTarget(IBufferWriter<byte> output, ReadOnlySpan<byte> targetBigEndian)
    {
        BeginNotification(output, StratumMethod.SetTarget);
        WriteHexValue(targetBigEndian);
        EndNotification(output);
    }

    /// <summary><c>client.reconnect</c> (host and port optional; wait in seconds).</summary>
    public void WriteReconnect(IBufferWriter<byte> output, string? host, int? port, int waitSeconds)
    {
        var w = BeginNotification(output, StratumMethod.Reconnect);
        if (host is not null)
        {
            w.WriteStringValue(host);
            if (port is { } p)
            {
                w.WriteNumberValue(p);
                w.WriteNumberValue(waitSeconds);
            }
        }

        EndNotification(output);
    }

    /// <summary><c>client.show_message</c>.</summary>
    public void WriteShowMessage(IBufferWriter<byte> output, string text)
    {
        var w = BeginNotification(output, StratumMethod.ShowMessage);
        w.WriteStringValue(text);
        EndNotification(output);
    }

    /// <summary>
    /// <c>mining.notify</c>. The proxy renders each job once per upstream and copies the bytes to every miner on it.
    /// </summary>
    public void WriteNotify(
        IBufferWriter<byte> output,
        ReadOnlySpan<byte> jobId,
        ReadOnlySpan<byte> prevHash,
        ReadOnlySpan<byte> coinbase1,
        ReadOnlySpan<byte> coinbase2,
        IReadOnlyList<byte[]> merkleBranches,
        uint version,
        uint nbits,
        uint ntime,
        bool cleanJobs)
    {
        var w = BeginNotification(output, StratumMethod.Notify);
        w.WriteStringValue(jobId);
        WriteHexValue(prevHash);
        WriteHexValue(coinbase1);
        WriteHexValue(coinbase2);
        w.WriteStartArray();
        for (var i = 0; i < merkleBranches.Count; i++)
        {
            WriteHexValue(merkleBranches[i]);
        }

        w.WriteEndArray();
        WriteHexValue(version);
        WriteHexValue(nbits);
        WriteHexValue(ntime);
        w.WriteBooleanValue(cleanJobs);
        EndNotification(output);
    }

    /// <summary><c>mining.subscribe</c> request (proxy → pool), with a session id to resume when given.</summary>
    public void WriteSubscribe(IBufferWriter<byte> output, in JsonRpcId id, string userAgent, string? sessionId = null)
    {
        var w = BeginRequest(output, id, StratumMethod.Subscribe);
        w.WriteStringValue(userAgent);
        if (sessionId is not null)
        {
            w.WriteStringValue(sessionId);
        }

        EndRequest(output);
    }

    /// <summary><c>mining.authorize</c> request (proxy → pool).</summary>
    public void WriteAuthorize(IBufferWriter<byte> output, in JsonRpcId id, string user, string password)
    {
        var w = BeginRequest(output, id, StratumMethod.Authorize);
        w.WriteStringValue(user);
        w.WriteStringValue(password);
        EndRequest(output);
    }

    /// <summary><c>mining.configure</c> request asking for version rolling (proxy → pool).</summary>
    public void WriteConfigureVersionRolling(IBufferWriter<byte> output, in JsonRpcId id, uint mask, int minBitCount)
    {
        var w = BeginRequest(output, id, StratumMethod.Configure);
        w.WriteStartArray();
        w.WriteStringValue("version-rolling"u8);
        w.WriteEndArray();
        w.WriteStartObject();
        WriteHexProperty("version-rolling.mask"u8, mask);
        w.WriteNumber("version-rolling.min-bit-count"u8, minBitCount);
        w.WriteEndObject();
        EndRequest(output);
    }

    /// <summary><c>mining.suggest_difficulty</c> request (proxy → pool).</summary>
    public void WriteSuggestDifficulty(IBufferWriter<byte> output, in JsonRpcId id, double difficulty)
    {
        var w = BeginRequest(output, id, StratumMethod.SuggestDifficulty);
        w.WriteNumberValue(difficulty);
        EndRequest(output);
    }

    /// <summary><c>mining.extranonce.subscribe</c> request (proxy → pool).</summary>
    public void WriteExtranonceSubscribe(IBufferWriter<byte> output, in JsonRpcId id)
    {
        BeginRequest(output, id, StratumMethod.ExtranonceSubscribe);
        EndRequest(output);
    }

    /// <summary>
    /// <c>mining.submit</c> request (proxy → pool). The extranonce2 is written from its parts (the miner's slice
    /// prefix then the miner's own extranonce2) so the caller need not join them.
    /// </summary>
    public void WriteSubmit(
        IBufferWriter<byte> output,
        in JsonRpcId id,
        string worker,
        ReadOnlySpan<byte> jobId,
        ReadOnlySpan<byte> extranonce2Prefix,
        ReadOnlySpan<byte> extranonce2,
        uint ntime,
        uint nonce,
        uint? versionBits)
    {
        var w = BeginRequest(output, id, StratumMethod.Submit);
        w.WriteStringValue(worker);
        w.WriteStringValue(jobId);
        var length = (extranonce2Prefix.Length + extranonce2.Length) * 2;
        var hex = Scratch(length);
        Hex.TryEncodeLower(extranonce2Prefix, hex, out _);
        Hex.TryEncodeLower(extranonce2, hex[(extranonce2Prefix.Length * 2)..], out _);
        w.WriteStringValue(hex[..length]);
        WriteHexValue(ntime);
        WriteHexValue(nonce);
        if (versionBits is { } bits)
        {
            WriteHexValue(bits);
        }

        EndRequest(output);
    }

    /// <summary>A request with no params, e.g. <c>client.get_version</c> (proxy → miner) or <c>mining.ping</c>.</summary>
    public void WriteRequest(IBufferWriter<byte> output, in JsonRpcId id, StratumMethod method)
    {
        BeginRequest(output, id, method);
        EndRequest(output);
    }

    /// <summary>A response whose result is a string (e.g. the answer to <c>client.get_version</c>).</summary>
    public void WriteStringResult(IBufferWriter<byte> output, in JsonRpcId id, string result)
    {
        var w = Begin(output, id);
        w.WriteString("result"u8, result);
        w.WriteNull("error"u8);
        End(output);
    }

    /// <summary>A response whose result is the given raw JSON (e.g. <c>[]</c>).</summary>
    public void WriteRawResult(IBufferWriter<byte> output, in JsonRpcId id, ReadOnlySpan<byte> resultJson)
    {
        var w = Begin(output, id);
        w.WritePropertyName("result"u8);
        w.WriteRawValue(resultJson, skipInputValidation: true);
        w.WriteNull("error"u8);
        End(output);
    }

    /// <inheritdoc/>
    public void Dispose() => _json.Dispose();

    private Utf8JsonWriter Begin(IBufferWriter<byte> output, in JsonRpcId id)
    {
        _json.Reset(output);
        _json.WriteStartObject();
        _json.WritePropertyName("id"u8);
        _json.WriteRawValue(id.RawJson, skipInputValidation: true);
        return _json;
    }

    private void End(IBufferWriter<byte> output)
    {
        _json.WriteEndObject();
        _json.Flush();
        NewLine(output);
    }

    private Utf8JsonWriter BeginNotification(IBufferWriter<byte> output, StratumMethod method)
    {
        _json.Reset(output);
        _json.WriteStartObject();
        _json.WriteNull("id"u8);
        _json.WriteString("method"u8, StratumMethodNames.Utf8(method));
        _json.WriteStartArray("params"u8);
        return _json;
    }

    private void EndNotification(IBufferWriter<byte> output)
    {
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.Flush();
        NewLine(output);
    }

    private Utf8JsonWriter BeginRequest(IBufferWriter<byte> output, in JsonRpcId id, StratumMethod method)
    {
        var w = Begin(output, id);
        w.WriteString("method"u8, StratumMethodNames.Utf8(method));
        w.WriteStartArray("params"u8);
        return w;
    }

    private void EndRequest(IBufferWriter<byte> output) => EndNotification(output);

    private static void NewLine(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    private void WriteHexValue(ReadOnlySpan<byte> bytes)
    {
        var hex = Scratch(bytes.Length * 2);
        Hex.TryEncodeLower(bytes, hex, out _);
        _json.WriteStringValue(hex[..(bytes.Length * 2)]);
    }

    private void WriteHexValue(uint value)
    {
        Span<byte> hex = stackalloc byte[8];
        Hex.TryWriteUInt32BigEndianHex(value, hex);
        _json.WriteStringValue(hex);
    }

    private void WriteHexProperty(ReadOnlySpan<byte> name, uint value)
    {
        Span<byte> hex = stackalloc byte[8];
        Hex.TryWriteUInt32BigEndianHex(value, hex);
        _json.WriteString(name, hex);
    }

    private Span<byte> Scratch(int length)
    {
        if (_hex.Length < length)
        {
            _hex = new byte[Math.Max(length, _hex.Length * 2)];
        }

        return _hex;
    }
}
