namespace StratumProxy.Hosting;

/// <summary>Source-generated log messages of the host (event ids 900+; add, never renumber).</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Configuration reloaded and applied")]
    public static partial void ConfigApplied(ILogger logger);

    [LoggerMessage(EventId = 901, Level = LogLevel.Error, Message = "Configuration reload refused, the running configuration stays: {Error}")]
    public static partial void ConfigRefused(ILogger logger, string error);

    [LoggerMessage(EventId = 902, Level = LogLevel.Information, Message = "Admin endpoint on {Url} (/metrics, /healthz, /api/status, status page at /)")]
    public static partial void AdminListening(ILogger logger, string url);

    [LoggerMessage(EventId = 903, Level = LogLevel.Information, Message = "Listener changes take effect after a restart; kept {Listeners}")]
    public static partial void ListenersNeedRestart(ILogger logger, string listeners);

    [LoggerMessage(EventId = 904, Level = LogLevel.Warning, Message = "Proxy:Miners:Extranonce1Size/Extranonce2Size take effect after a restart (miners keep theirs while connected; pools with a small extranonce2 still shrink them, see docs/extranonce.md); kept {Extranonce1Size}/{Extranonce2Size}")]
    public static partial void ExtranonceNeedsRestart(ILogger logger, int extranonce1Size, int extranonce2Size);

    [LoggerMessage(EventId = 905, Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
    public static partial void ConfigWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 906, Level = LogLevel.Warning, Message = "No pool is configured: miners can connect but get no work until Proxy:Pools names one (edit {File} or pass --config FILE; see README, Configuration keys)")]
    public static partial void NoPoolConfigured(ILogger logger, string file);

    [LoggerMessage(EventId = 907, Level = LogLevel.Warning, Message = "Admin request refused: {Method} {Path} from {Remote}: {Reason}")]
    public static partial void AdminRefused(ILogger logger, string method, string path, string remote, string reason);

    [LoggerMessage(EventId = 908, Level = LogLevel.Warning, Message = "Admin:AllowWrite is on, the admin endpoint {Endpoint} is not loopback and no Admin:Token is set: writes are refused (docs/security.md)")]
    public static partial void AdminWritesNeedToken(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 909, Level = LogLevel.Warning, Message = "Proxy:Limits:MaxPoolLineLength takes effect after a restart (each pool connection's read buffer is sized by it); kept {MaxPoolLineLength} bytes")]
    public static partial void PoolLineLimitNeedsRestart(ILogger logger, int maxPoolLineLength);

    [LoggerMessage(EventId = 910, Level = LogLevel.Warning, Message = "Configuration reload deferred: an upgrade handover is under way; the change is applied when it ends if this process keeps serving")]
    public static partial void ReloadDeferred(ILogger logger);

    [LoggerMessage(EventId = 911, Level = LogLevel.Information, Message = "The configuration changed while this process started: reloading it")]
    public static partial void ConfigChangedDuringStart(ILogger logger);
}
