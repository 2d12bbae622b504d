using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

/// <summary>
/// One message for a miner, queued by value (no allocation per share) and formatted by the session's writer.
/// </summary>
internal readonly struct MinerOutbound
{
    private MinerOutbound(Kind kind, JsonRpcId id, bool flag = false, int code = 0, string? text = null, double number = 0, byte[]? bytes = null, byte[]? bytes2 = null, uint mask = 0, bool? option1 = null, bool? option2 = null)
    {
        Type = kind;
        Id = id;
        Flag = flag;
        Code = code;
        Text = text;
        Number = number;
        Bytes = bytes;
        Bytes2 = bytes2;
        Mask = mask;
        Option1 = option1;
        Option2 = option2;
    }

    internal enum Kind : byte
    {
        Result,
        Error,
        Subscribed,
        Configured,
        SetDifficulty,
        VersionMask,
        Raw,
        RawResult,
        SetExtranonce,
        Reconnect,
        Marker,
    }

    public Kind Type { get; }

    public JsonRpcId Id { get; }

    public bool Flag { get; }

    public int Code { get; }

    public string? Text { get; }

    public double Number { get; }

    public byte[]? Bytes { get; }

    public byte[]? Bytes2 { get; }

    public uint Mask { get; }

    public bool? Option1 { get; }

    public bool? Option2 { get; }

    public static MinerOutbound Result(in JsonRpcId id, bool result) => new(Kind.Result, id, flag: result);

    public static MinerOutbound Error(in JsonRpcId id, StratumErrorCode code, string message) => new(Kind.Error, id, code: (int)code, text: message);

    public static MinerOutbound Error(in JsonRpcId id, int code, string message) => new(Kind.Error, id, code: code, text: message);

    public static MinerOutbound Subscribed(in JsonRpcId id, byte[] subscription, byte[] extranonce1, int extranonce2Size) =>
        new(Kind.Subscribed, id, code: extranonce2Size, bytes: subscription, bytes2: extranonce1);

    public static MinerOutbound Configured(in JsonRpcId id, bool? versionRolling, uint mask, bool? minimumDifficulty) =>
        new(Kind.Configured, id, mask: mask, option1: versionRolling, option2: minimumDifficulty);

    public static MinerOutbound SetDifficulty(double difficulty) => new(Kind.SetDifficulty, default, number: difficulty);

    public static MinerOutbound VersionMask(uint mask) => new(Kind.VersionMask, default, mask: mask);

    public static MinerOutbound Raw(byte[] line) => new(Kind.Raw, default, bytes: line);

    public static MinerOutbound RawResult(in JsonRpcId id, byte[] json) => new(Kind.RawResult, id, bytes: json);

    /// <summary><c>client.reconnect</c> with no parameters: reconnect to the address the miner dialled.</summary>
    public static MinerOutbound Reconnect() => new(Kind.Reconnect, default);

    /// <summary>Writes nothing: once the writer has flushed past it, everything queued before it is on its way.</summary>
    public static MinerOutbound Marker() => new(Kind.Marker, default);

    public static MinerOutbound SetExtranonce(byte[] extranonce1, int extranonce2Size) => new(Kind.SetExtranonce, default, code: extranonce2Size, bytes: extranonce1);
}
