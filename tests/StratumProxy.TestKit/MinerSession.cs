using System.Globalization;
using System.Text;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.TestKit;

/// <summary>One connection of a <see cref="TestMiner"/>. Mutable state is guarded by the miner's gate.</summary>
internal sealed class MinerSession(int number, LineConnection connection, MinerIdStyle idStyle)
{
    private readonly Dictionary<string, Queue<PendingRequest>> _pending = new(StringComparer.Ordinal);
    private long _counter;

    public int Number { get; } = number;

    public LineConnection Connection { get; } = connection;

    public byte[]? Extranonce1 { get; set; }

    public int Extranonce2Size { get; set; }

    /// <summary>set_extranonce takes effect with the next job.</summary>
    public (byte[] Extranonce1, int Extranonce2Size)? NextExtranonce { get; set; }

    public bool Authorized { get; set; }

    public uint VersionMask { get; set; }

    public double Difficulty { get; set; } = 1;

    public ReceivedJob? LastJob { get; set; }

    public ReconnectMessage? Reconnect { get; set; }

    /// <summary>The id for the next request of <paramref name="method"/>, in the firmware's style.</summary>
    public JsonRpcId NextId(StratumMethod method) => idStyle switch
    {
        MinerIdStyle.CpuMiner => JsonRpcId.FromNumber(method switch
        {
            StratumMethod.Subscribe => 1,
            StratumMethod.Authorize => 2,
            StratumMethod.Submit => 4,
            _ => 3,
        }),
        MinerIdStyle.BfgMiner => method switch
        {
            StratumMethod.Subscribe => JsonRpcId.FromNumber(0),
            StratumMethod.Authorize => StringId("auth"),
            _ => JsonRpcId.FromNumber(++_counter),
        },
        MinerIdStyle.StringMethod => StringId(Encoding.UTF8.GetString(StratumMethodNames.Utf8(method))),
        _ => JsonRpcId.FromNumber(++_counter),
    };

    public void AddPending(JsonRpcId id, PendingRequest request)
    {
        var key = id.ToString();
        if (!_pending.TryGetValue(key, out var queue))
        {
            queue = new Queue<PendingRequest>();
            _pending[key] = queue;
        }

        queue.Enqueue(request);
    }

    /// <summary>Duplicate ids (cpuminer's 4) are matched first in, first out, as the firmware itself does.</summary>
    public PendingRequest? TakePending(JsonRpcId id) =>
        _pending.TryGetValue(id.ToString(), out var queue) && queue.TryDequeue(out var request) ? request : null;

    private static JsonRpcId StringId(string text) =>
        JsonRpcId.FromRaw(JsonRpcIdKind.String, Encoding.UTF8.GetBytes("\"" + text + "\""));

    public override string ToString() => Number.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A request awaiting its answer; <paramref name="SubmitIndex"/> points into the miner's submit list.</summary>
internal sealed record PendingRequest(StratumMethod Method, int SubmitIndex = -1);

/// <summary>A notify as received, with the difficulty in force when it arrived (it applies to this job).</summary>
internal sealed record ReceivedJob(string JobId, ShareJobTemplate Template, double Difficulty, DateTimeOffset ReceivedAt);

/// <summary>What the hashing task works on: one job with one connection's extranonce and difficulty.</summary>
internal sealed record Work(
    MinerSession Session,
    string JobId,
    ShareJobTemplate Template,
    byte[] Extranonce1,
    int Extranonce2Size,
    double Difficulty,
    UInt256 Target,
    uint VersionMask,
    DateTimeOffset ReceivedAt);
