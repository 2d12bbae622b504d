using StratumProxy.Proxy.Components;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

/// <summary>Whether a miner may submit shares yet.</summary>
public enum SubmitPermission : byte
{
    /// <summary>Subscribed and authorized.</summary>
    Allowed,

    /// <summary>No mining.subscribe yet (error 25).</summary>
    NotSubscribed,

    /// <summary>No successful mining.authorize yet (error 24).</summary>
    Unauthorized,
}

/// <summary>The outcome of a mining.authorize.</summary>
/// <param name="Accepted">True when the worker name is acceptable.</param>
/// <param name="First">True for the first accepted authorize of the connection (the worker is now fixed).</param>
/// <param name="Error">Why it was refused.</param>
public readonly record struct AuthorizeOutcome(bool Accepted, bool First, string? Error);

/// <summary>The answer to a mining.configure: null for an extension the miner did not ask for.</summary>
/// <param name="VersionRolling">Version rolling granted or not.</param>
/// <param name="VersionMask">The negotiated mask.</param>
/// <param name="MinimumDifficulty">Minimum difficulty accepted or not.</param>
public readonly record struct ConfigureOutcome(bool? VersionRolling, uint VersionMask, bool? MinimumDifficulty);

/// <summary>
/// The miner side of Stratum V1 as a state machine: what mining.subscribe, mining.authorize, mining.configure,
/// mining.suggest_difficulty/suggest_target and mining.extranonce.subscribe change, and what they allow. No I/O:
/// the session parses the lines, asks this, and writes the answers. Owned by the session's loop; the few values other
/// threads show (worker, user agent) are written once.
/// </summary>
public sealed class MinerProtocol
{
    /// <summary>The longest worker name accepted.</summary>
    public const int MaxWorkerLength = 128;

    /// <summary>The longest user agent kept.</summary>
    public const int MaxUserAgentLength = 64;

    // A farm's miners send a handful of user agents (one per firmware version), and each session kept its own copy of
    // its user agent: the first distinct ones sent by authorized miners are held once for the whole process, shared by
    // every session that sends them. Bounded, and only authorized miners' count, so connections that each send a
    // different one (or junk) before they leave cannot fill the table.
    private const int MaxSharedUserAgents = 256;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> s_userAgents = new(StringComparer.Ordinal);
    private static int s_sharedUserAgents;

    private string? _worker;

    /// <summary>True once the miner subscribed.</summary>
    public bool Subscribed { get; private set; }

    /// <summary>The user agent from mining.subscribe (at most <see cref="MaxUserAgentLength"/> characters).</summary>
    public string? UserAgent { get; private set; }

    /// <summary>The worker name from the first accepted mining.authorize.</summary>
    public string? Worker => Volatile.Read(ref _worker);

    /// <summary>True when the miner sent mining.extranonce.subscribe.</summary>
    public bool WantsExtranonceUpdates { get; private set; }

    /// <summary>True when version rolling was negotiated.</summary>
    public bool VersionRolling { get; private set; }

    /// <summary>The mask the miner asked for in mining.configure.</summary>
    public uint RequestedVersionMask { get; private set; }

    /// <summary>The mask the miner may roll now (its request narrowed by the pool's).</summary>
    public uint VersionMask { get; private set; }

    /// <summary>The minimum difficulty the miner asked for (clamped to the proxy's bounds), 0 when none.</summary>
    public double MinimumDifficulty { get; private set; }

    /// <summary>What a submit may do now.</summary>
    public SubmitPermission SubmitPermission =>
        !Subscribed ? SubmitPermission.NotSubscribed : Worker is null ? SubmitPermission.Unauthorized : SubmitPermission.Allowed;

    /// <summary>Restores the state of a session handed over by another process.</summary>
    internal void Restore(bool subscribed, string? userAgent, string? worker, bool extranonceSubscribe, bool versionRolling, uint requestedMask, uint mask, double minimumDifficulty)
    {
        Subscribed = subscribed;
        UserAgent = worker is null ? userAgent : Shared(userAgent);
        _worker = worker;
        WantsExtranonceUpdates = extranonceSubscribe;
        VersionRolling = versionRolling;
        RequestedVersionMask = requestedMask;
        VersionMask = mask;
        MinimumDifficulty = minimumDifficulty;
    }

    /// <summary>mining.subscribe.</summary>
    public void Subscribe(string? userAgent)
    {
        var cut = userAgent is { Length: > MaxUserAgentLength } ua ? ua[..MaxUserAgentLength] : userAgent;
        UserAgent = Worker is null ? cut : Shared(cut);
        Subscribed = true;
    }

    /// <summary>The process's copy of <paramref name="userAgent"/>, once it holds one (see <see cref="MaxSharedUserAgents"/>).</summary>
    internal static string? Shared(string? userAgent)
    {
        if (userAgent is null)
        {
            return null;
        }

        if (s_userAgents.TryGetValue(userAgent, out var shared))
        {
            return shared;
        }

        // A place is taken before the add, so racing sessions never hold more than the bound.
        if (Interlocked.Increment(ref s_sharedUserAgents) > MaxSharedUserAgents || !s_userAgents.TryAdd(userAgent, userAgent))
        {
            Interlocked.Decrement(ref s_sharedUserAgents);
            return s_userAgents.TryGetValue(userAgent, out shared) ? shared : userAgent;
        }

        return userAgent;
    }

    /// <summary>True when <paramref name="text"/> is whole Unicode (no lone surrogate) without a control character.</summary>
    internal static bool IsPrintable(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            if (System.Text.Rune.DecodeFromUtf16(text, out var rune, out var used) != System.Buffers.OperationStatus.Done || System.Text.Rune.IsControl(rune))
            {
                return false;
            }

            text = text[used..];
        }

        return true;
    }

    /// <summary>mining.authorize: the first acceptable name becomes the connection's worker; later ones are answered true.</summary>
    public AuthorizeOutcome Authorize(string username)
    {
        ArgumentNullException.ThrowIfNull(username);
        var worker = username.Trim();
        if (worker.Length is 0 or > MaxWorkerLength)
        {
            return new AuthorizeOutcome(false, false, $"worker name must be 1 to {MaxWorkerLength} characters");
        }

        if (!IsPrintable(worker))
        {
            // The name goes into log lines, metric labels and the farm store's text columns (PostgreSQL refuses a NUL,
            // and the whole report with it): a rig's name is printable text.
            return new AuthorizeOutcome(false, false, "worker name must be printable text (no control characters, no broken UTF-16)");
        }

        if (Worker is not null)
        {
            return new AuthorizeOutcome(true, false, null);
        }

        Volatile.Write(ref _worker, worker);
        UserAgent = Shared(UserAgent);
        return new AuthorizeOutcome(true, true, null);
    }

    /// <summary>
    /// mining.configure: version rolling against the pool's mask (<paramref name="poolMask"/>, the BIP320 default
    /// when the pool's is not known), and a minimum difficulty, clamped by <paramref name="clampMinimum"/> (the
    /// session's vardiff itself, so a configure allocates no delegate).
    /// </summary>
    public ConfigureOutcome Configure(ConfigureRequest request, uint poolMask, IDifficultyClamp clampMinimum)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(clampMinimum);
        bool? rolling = null;
        if (request.WantsVersionRolling)
        {
            RequestedVersionMask = request.VersionRollingMask ?? MinerSession.DefaultVersionMask;
            VersionMask = Stratum.Mining.VersionRolling.Negotiate(poolMask, RequestedVersionMask);
            VersionRolling = VersionMask != 0;
            rolling = VersionRolling;
        }

        bool? minimum = null;
        if (request.WantsMinimumDifficulty && request.MinimumDifficulty is { } min && min > 0)
        {
            MinimumDifficulty = clampMinimum.Clamp(min);
            minimum = true;
        }

        return new ConfigureOutcome(rolling, VersionMask, minimum);
    }

    /// <summary>mining.extranonce.subscribe: the proxy may change the miner's extranonce with mining.set_extranonce.</summary>
    public void SubscribeExtranonce() => WantsExtranonceUpdates = true;

    /// <summary>
    /// The pool's mask changed: the miner's is narrowed to it. False when the miner does not roll versions (nothing
    /// to tell it); otherwise <paramref name="mask"/> is the mask to send.
    /// </summary>
    public bool OnPoolMask(uint poolMask, out uint mask)
    {
        if (!VersionRolling)
        {
            mask = 0;
            return false;
        }

        VersionMask = Stratum.Mining.VersionRolling.Negotiate(poolMask, RequestedVersionMask);
        mask = VersionMask;
        return true;
    }

    /// <summary>
    /// The miner moves to an upstream whose mask is <paramref name="poolMask"/>: true (with the new mask) only when
    /// the miner's mask changes.
    /// </summary>
    public bool OnAttach(uint poolMask, out uint mask)
    {
        mask = VersionMask;
        if (!VersionRolling || poolMask == 0)
        {
            return false;
        }

        var negotiated = Stratum.Mining.VersionRolling.Negotiate(poolMask, RequestedVersionMask);
        if (negotiated == VersionMask)
        {
            return false;
        }

        VersionMask = mask = negotiated;
        return true;
    }

    /// <summary>The difficulty a mining.suggest_target stands for; null for a zero target (ignored).</summary>
    public static double? SuggestedDifficulty(in UInt256 target) => target.IsZero ? null : Difficulty.FromTarget(target);
}
