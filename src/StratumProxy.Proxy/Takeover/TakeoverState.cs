using System.Text.Json;
using System.Text.Json.Serialization;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Takeover;

/// <summary>
/// Everything a new process needs to carry on the running one's connections without the peers noticing: the
/// listening sockets, the pool connections and the miner sessions, each connection by its index in the list of file
/// descriptors sent with it. Written once, at the handover, as source-generated JSON.
/// </summary>
public sealed record TakeoverState
{
    /// <summary>
    /// The state format this build writes and reads. A process refuses a state of another format (the old process
    /// then keeps serving): raise it whenever a field is added, removed or changes meaning.
    /// </summary>
    public const int CurrentFormat = 1;

    /// <summary>The state format (<see cref="CurrentFormat"/> of the build that wrote it).</summary>
    public int Format { get; init; } = CurrentFormat;

    /// <summary>The process that handed over (the new one waits for it to exit before it binds the admin port).</summary>
    public int ProcessId { get; init; }

    /// <summary>The next proxy job id: job ids stay unique across the two processes.</summary>
    public ulong NextJobId { get; init; }

    /// <summary>The listening sockets.</summary>
    public IReadOnlyList<ListenerState> Listeners { get; init; } = [];

    /// <summary>The pool connections (plain TCP only).</summary>
    public IReadOnlyList<PoolConnectionState> Pools { get; init; } = [];

    /// <summary>The miner sessions.</summary>
    public IReadOnlyList<SessionState> Sessions { get; init; } = [];

    /// <summary>Serializes the state.</summary>
    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, TakeoverJsonContext.Default.TakeoverState);

    /// <summary>
    /// Reads a state; null when it is empty (no bytes, or JSON <c>null</c>), not one (a member of the wrong type, a
    /// list missing, or null where a value must be, in a list too), or of another format (<paramref name="error"/>
    /// says which).
    /// </summary>
    public static TakeoverState? Read(ReadOnlySpan<byte> utf8, out string? error)
    {
        if (utf8.Trim(" \t\r\n"u8).IsEmpty || utf8.Trim(" \t\r\n"u8).SequenceEqual("null"u8))
        {
            error = "the state is empty";
            return null;
        }

        try
        {
            var format = JsonSerializer.Deserialize(utf8, TakeoverJsonContext.Default.TakeoverFormat);
            if (format is null || format.Format != CurrentFormat)
            {
                error = $"state format {format?.Format.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, this build reads format {CurrentFormat}";
                return null;
            }

            // A null where a value must be is refused by the reader (RespectNullableAnnotations); a missing list or a
            // null list item here.
            var state = JsonSerializer.Deserialize(utf8, TakeoverJsonContext.Default.TakeoverState);
            error = state is null ? "the state is empty" : NullItem(state);
            return error is null ? state : null;
        }
        catch (JsonException ex)
        {
            error = $"the state is not valid: {ex.Message}";
            return null;
        }
    }

    private static string? NullItem(TakeoverState state)
    {
        string? list = HasNull(state.Listeners) ? "listeners"
            : HasNull(state.Pools) ? "pools"
            : HasNull(state.Sessions) ? "sessions"
            : state.Pools.Any(p => HasNull(p.Jobs) || p.Jobs.Any(j => j.Notify is null) || HasNull(p.AuthorizedWorkers) || HasNull(p.PendingRequests)) ? "a pool's jobs, workers or requests"
            : state.Sessions.Any(s => HasNull(s.SentJobs)) ? "a session's sent jobs"
            : null;
        return list is null ? null : $"the state is not valid: {list} missing or holding a null item";

        // A member left out reads as null (the generated reader sets every init-only property).
        static bool HasNull<T>(IReadOnlyList<T>? items)
            where T : class => items is null || items.Any(i => i is null);
    }
}

/// <summary>Only the format number of a message (read first, so a state of another format is never half-read).</summary>
/// <param name="Format">The format number.</param>
public sealed record TakeoverFormat(int Format);

/// <summary>The messages of the handover conversation besides the state itself.</summary>
/// <param name="Kind">hello (new → old: its format), refused (old → new: why), confirmed (new → old: it serves now).</param>
/// <param name="Format">The sender's state format.</param>
/// <param name="Reason">Why, for a refusal.</param>
/// <param name="ProcessId">The sender's process id.</param>
public sealed record TakeoverMessage(string Kind, int Format, string? Reason, int ProcessId);

/// <summary>A listening socket.</summary>
/// <param name="Name">The listener's name (Proxy:Listeners).</param>
/// <param name="Endpoint">The address it is bound to.</param>
/// <param name="Handle">Its index in the descriptor list.</param>
public sealed record ListenerState(string Name, string Endpoint, int Handle);

/// <summary>One job of a pool connection, as the miners were sent it.</summary>
/// <param name="Id">The proxy's job id (what miners submit).</param>
/// <param name="Notify">The pool's notify.</param>
/// <param name="NTime">The job's ntime (a keepalive refresh advances it).</param>
/// <param name="PoolDifficulty">The pool's difficulty for the job.</param>
public sealed record JobState(ulong Id, NotifyMessage Notify, uint NTime, double PoolDifficulty);

/// <summary>A request sent to the pool and not answered yet (an authorize).</summary>
/// <param name="Id">The request id.</param>
/// <param name="Kind">configure, subscribe or authorize.</param>
/// <param name="Worker">The worker of an authorize.</param>
public sealed record PendingRequestState(long Id, string Kind, string? Worker);

/// <summary>One plain-TCP pool connection.</summary>
public sealed record PoolConnectionState
{
    /// <summary>The pool's name (Proxy:Pools).</summary>
    public required string Pool { get; init; }

    /// <summary>The address the connection goes to (a client.reconnect target may differ from the configured one).</summary>
    public required string Url { get; init; }

    /// <summary>The connection's index in the descriptor list.</summary>
    public int Handle { get; init; }

    /// <summary>Bytes the pool sent that the proxy had not read yet.</summary>
    public byte[] UnreadInput { get; init; } = [];

    /// <summary>The pool's extranonce1.</summary>
    public required byte[] Extranonce1 { get; init; }

    /// <summary>The pool's extranonce2 size N.</summary>
    public int Extranonce2Size { get; init; }

    /// <summary>k: the miners' extranonce1 size on this connection.</summary>
    public int MinerPrefixSize { get; init; }

    /// <summary>n: the miners' extranonce2 size on this connection.</summary>
    public int MinerExtranonce2Size { get; init; }

    /// <summary>True for an extra connection (opened for another miner layout); false for the pool's first.</summary>
    public bool Extra { get; init; }

    /// <summary>The pool's difficulty in force.</summary>
    public double Difficulty { get; init; }

    /// <summary>A difficulty the pool sent that applies from its next job (0: none).</summary>
    public double PendingDifficulty { get; init; }

    /// <summary>The version-rolling mask the pool granted (0: none).</summary>
    public uint VersionMask { get; init; }

    /// <summary>The open jobs, oldest first; the last is the current one.</summary>
    public IReadOnlyList<JobState> Jobs { get; init; } = [];

    /// <summary>The last request id used on the connection (the new process goes on from it).</summary>
    public long LastRequestId { get; init; }

    /// <summary>Worker names already authorized on the connection.</summary>
    public IReadOnlyList<string> AuthorizedWorkers { get; init; } = [];

    /// <summary>Requests not answered yet.</summary>
    public IReadOnlyList<PendingRequestState> PendingRequests { get; init; } = [];

    /// <summary>The miners' extranonce1 values (slices of this connection's extranonce2) in use.</summary>
    public IReadOnlyList<uint> Slots { get; init; } = [];
}

/// <summary>One difficulty a sent job went out with (the validator judges shares on it by that).</summary>
/// <param name="JobId">The job.</param>
/// <param name="Difficulty">The difficulty it was sent with.</param>
public sealed record SentJobState(ulong JobId, double Difficulty);

/// <summary>One miner session.</summary>
public sealed record SessionState
{
    /// <summary>The connection's index in the descriptor list.</summary>
    public int Handle { get; init; }

    /// <summary>Bytes the miner sent that the proxy had not handled yet (they are handled by the new process).</summary>
    public byte[] UnreadInput { get; init; } = [];

    /// <summary>The listener the miner came in on.</summary>
    public required string Listener { get; init; }

    /// <summary>The miner's address (the PROXY protocol's source when a balancer sent one).</summary>
    public string? Remote { get; init; }

    /// <summary>True once the PROXY protocol header (if any) has been read.</summary>
    public bool ProxyHeaderDone { get; init; }

    /// <summary>True once the miner sent its first byte.</summary>
    public bool SawFirstByte { get; init; }

    /// <summary>Unparseable lines so far.</summary>
    public int BadLines { get; init; }

    /// <summary>mining.subscribe seen.</summary>
    public bool Subscribed { get; init; }

    /// <summary>The user agent.</summary>
    public string? UserAgent { get; init; }

    /// <summary>The authorized worker.</summary>
    public string? Worker { get; init; }

    /// <summary>mining.extranonce.subscribe seen.</summary>
    public bool ExtranonceSubscribe { get; init; }

    /// <summary>Version rolling negotiated.</summary>
    public bool VersionRolling { get; init; }

    /// <summary>The mask the miner asked for.</summary>
    public uint RequestedVersionMask { get; init; }

    /// <summary>The mask the miner may roll now.</summary>
    public uint VersionMask { get; init; }

    /// <summary>The minimum difficulty the miner asked for (0: none).</summary>
    public double MinimumDifficulty { get; init; }

    /// <summary>True once the miner has a layout and an extranonce1.</summary>
    public bool HasIdentity { get; init; }

    /// <summary>k.</summary>
    public int PrefixSize { get; init; }

    /// <summary>n.</summary>
    public int Extranonce2Size { get; init; }

    /// <summary>The miner's extranonce1 as a number.</summary>
    public uint Prefix { get; init; }

    /// <summary>True when the extranonce1 is unique in the proxy (minted, to be released when the miner leaves).</summary>
    public bool PrefixOwned { get; init; }

    /// <summary>The difficulty the miner was last told.</summary>
    public double Difficulty { get; init; }

    /// <summary>A new difficulty goes out with the next job.</summary>
    public bool DifficultyPending { get; init; }

    /// <summary>Vardiff's current difficulty (its sample ring starts again).</summary>
    public double VarDiff { get; init; }

    /// <summary>The jobs sent and the difficulty each went out with, oldest first.</summary>
    public IReadOnlyList<SentJobState> SentJobs { get; init; } = [];

    /// <summary>The last job sent.</summary>
    public ulong? LastJob { get; init; }

    /// <summary>The pool connection the miner works on (index in <see cref="TakeoverState.Pools"/>), if any.</summary>
    public int? Pool { get; init; }

    /// <summary>Submit tokens left in the rate bucket.</summary>
    public double SubmitTokens { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(TakeoverState))]
[JsonSerializable(typeof(TakeoverFormat))]
[JsonSerializable(typeof(TakeoverMessage))]
internal sealed partial class TakeoverJsonContext : JsonSerializerContext;
