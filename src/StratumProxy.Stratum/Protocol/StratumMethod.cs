namespace StratumProxy.Stratum.Protocol;

/// <summary>Every Stratum V1 method a real ASIC, CPU miner or pool is known to send, in both directions.</summary>
public enum StratumMethod : byte
{
    /// <summary>A method name not in this list; the name is kept in the envelope.</summary>
    Unknown,

    // Miner → proxy (and proxy → pool).

    /// <summary><c>mining.subscribe</c>.</summary>
    Subscribe,

    /// <summary><c>mining.authorize</c>.</summary>
    Authorize,

    /// <summary><c>mining.configure</c> (BIP310).</summary>
    Configure,

    /// <summary><c>mining.submit</c>.</summary>
    Submit,

    /// <summary><c>mining.suggest_difficulty</c>.</summary>
    SuggestDifficulty,

    /// <summary><c>mining.suggest_target</c> (bfgminer sends it before subscribe, with id null).</summary>
    SuggestTarget,

    /// <summary><c>mining.extranonce.subscribe</c> (NiceHash extension).</summary>
    ExtranonceSubscribe,

    /// <summary><c>mining.get_transactions</c> (bfgminer after every notify).</summary>
    GetTransactions,

    /// <summary><c>mining.capabilities</c>.</summary>
    Capabilities,

    /// <summary><c>mining.ping</c>.</summary>
    Ping,

    // Pool → miner.

    /// <summary><c>mining.notify</c>.</summary>
    Notify,

    /// <summary><c>mining.set_difficulty</c>.</summary>
    SetDifficulty,

    /// <summary><c>mining.set_target</c>.</summary>
    SetTarget,

    /// <summary><c>mining.set_extranonce</c>.</summary>
    SetExtranonce,

    /// <summary><c>mining.set_version_mask</c> (BIP310).</summary>
    SetVersionMask,

    /// <summary><c>client.reconnect</c>.</summary>
    Reconnect,

    /// <summary><c>client.show_message</c>.</summary>
    ShowMessage,

    /// <summary><c>client.get_version</c>.</summary>
    GetVersion,
}

/// <summary>Method names on the wire.</summary>
public static class StratumMethodNames
{
    /// <summary>Matches a method name (the unescaped UTF-8 of the JSON string) to a known method.</summary>
    public static StratumMethod Parse(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("mining.submit"u8) => StratumMethod.Submit,
        _ when name.SequenceEqual("mining.notify"u8) => StratumMethod.Notify,
        _ when name.SequenceEqual("mining.set_difficulty"u8) => StratumMethod.SetDifficulty,
        _ when name.SequenceEqual("mining.subscribe"u8) => StratumMethod.Subscribe,
        _ when name.SequenceEqual("mining.authorize"u8) => StratumMethod.Authorize,
        _ when name.SequenceEqual("mining.configure"u8) => StratumMethod.Configure,
        _ when name.SequenceEqual("mining.suggest_difficulty"u8) => StratumMethod.SuggestDifficulty,
        _ when name.SequenceEqual("mining.suggest_target"u8) => StratumMethod.SuggestTarget,
        _ when name.SequenceEqual("mining.extranonce.subscribe"u8) => StratumMethod.ExtranonceSubscribe,
        _ when name.SequenceEqual("mining.get_transactions"u8) => StratumMethod.GetTransactions,
        _ when name.SequenceEqual("mining.capabilities"u8) => StratumMethod.Capabilities,
        _ when name.SequenceEqual("mining.ping"u8) => StratumMethod.Ping,
        _ when name.SequenceEqual("mining.set_target"u8) => StratumMethod.SetTarget,
        _ when name.SequenceEqual("mining.set_extranonce"u8) => StratumMethod.SetExtranonce,
        _ when name.SequenceEqual("mining.set_version_mask"u8) => StratumMethod.SetVersionMask,
        _ when name.SequenceEqual("client.reconnect"u8) => StratumMethod.Reconnect,
        _ when name.SequenceEqual("client.show_message"u8) => StratumMethod.ShowMessage,
        _ when name.SequenceEqual("client.get_version"u8) => StratumMethod.GetVersion,
        _ => StratumMethod.Unknown,
    };

    /// <summary>The wire name of a known method.</summary>
    public static ReadOnlySpan<byte> Utf8(StratumMethod method) => method switch
    {
        StratumMethod.Subscribe => "mining.subscribe"u8,
        StratumMethod.Authorize => "mining.authorize"u8,
        StratumMethod.Configure => "mining.configure"u8,
        StratumMethod.Submit => "mining.submit"u8,
        StratumMethod.SuggestDifficulty => "mining.suggest_difficulty"u8,
        StratumMethod.SuggestTarget => "mining.suggest_target"u8,
        StratumMethod.ExtranonceSubscribe => "mining.extranonce.subscribe"u8,
        StratumMethod.GetTransactions => "mining.get_transactions"u8,
        StratumMethod.Capabilities => "mining.capabilities"u8,
        StratumMethod.Ping => "mining.ping"u8,
        StratumMethod.Notify => "mining.notify"u8,
        StratumMethod.SetDifficulty => "mining.set_difficulty"u8,
        StratumMethod.SetTarget => "mining.set_target"u8,
        StratumMethod.SetExtranonce => "mining.set_extranonce"u8,
        StratumMethod.SetVersionMask => "mining.set_version_mask"u8,
        StratumMethod.Reconnect => "client.reconnect"u8,
        StratumMethod.ShowMessage => "client.show_message"u8,
        StratumMethod.GetVersion => "client.get_version"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "No wire name for an unknown method."),
    };

    /// <summary>A label-safe lowercase name for metrics and logs (bounded set).</summary>
    public static string Label(StratumMethod method) => method == StratumMethod.Unknown
        ? "unknown"
        : System.Text.Encoding.UTF8.GetString(Utf8(method));
}
