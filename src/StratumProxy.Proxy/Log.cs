using Microsoft.Extensions.Logging;

namespace StratumProxy.Proxy;

/// <summary>
/// Source-generated log messages of the proxy. Event ids and method names are a contract with operators' log
/// queries: add, never renumber.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Listening for miners on {Endpoint} ({Listener}, pool group {Group})")]
    public static partial void Listening(ILogger logger, string listener, string endpoint, string group);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Miner {Session} connected from {Remote} on {Listener}")]
    public static partial void MinerConnected(ILogger logger, long session, string? remote, string listener);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Miner {Session} ({Worker}) disconnected: {Reason}")]
    public static partial void MinerDisconnected(ILogger logger, long session, string? worker, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Miner {Session} ({Worker}) sent a bad line: {Reason}")]
    public static partial void MinerBadLine(ILogger logger, long session, string? worker, string reason);

    // At Debug: formatted for the console per miner it was about 0.5 KB of garbage a connect; event 108 sums it up.
    [LoggerMessage(EventId = 104, Level = LogLevel.Debug, Message = "Miner {Session} authorized as {Worker} ({UserAgent})")]
    public static partial void MinerAuthorized(ILogger logger, long session, string worker, string? userAgent);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Connection from {Remote} on {Listener} refused: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string? remote, string listener, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Miner session {Session} failed unexpectedly")]
    public static partial void SessionFaulted(ILogger logger, long session, Exception exception);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Block candidate from {Worker} on {Pool}: share difficulty {Difficulty}")]
    public static partial void BlockCandidate(ILogger logger, string worker, string pool, double difficulty);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "{Count} miners authorized in the last {Seconds} s; {Sessions} miner connections open")]
    public static partial void MinersAuthorized(ILogger logger, long count, int seconds, int sessions);

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Pool {Pool} ready at {Url}: extranonce1 {Extranonce1}, extranonce2 size {Extranonce2Size}, difficulty {Difficulty}, version mask {VersionMask:x8}")]
    public static partial void PoolReady(ILogger logger, string pool, string url, string extranonce1, int extranonce2Size, double difficulty, uint versionMask);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Pool {Pool} at {Url}: connection failed ({Reason}); retrying in {Delay}")]
    public static partial void PoolConnectFailed(ILogger logger, string pool, string url, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Pool {Pool} disconnected: {Reason}")]
    public static partial void PoolDisconnected(ILogger logger, string pool, string reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Pool {Pool} refused: {Reason}")]
    public static partial void PoolRefused(ILogger logger, string pool, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Pool {Pool} sent a bad line: {Reason}")]
    public static partial void PoolBadLine(ILogger logger, string pool, string reason);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Pool {Pool} says: {Message}")]
    public static partial void PoolMessage(ILogger logger, string pool, string message);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Pool {Pool} asks to reconnect to {Host}:{Port} in {Wait} s")]
    public static partial void PoolReconnectRequested(ILogger logger, string pool, string host, int port, int wait);

    [LoggerMessage(EventId = 207, Level = LogLevel.Warning, Message = "Pool {Pool} rejected authorization of worker {Worker}")]
    public static partial void PoolAuthorizeRejected(ILogger logger, string pool, string worker);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "{Count} in-flight shares on {Pool} were lost with the connection and answered to their miners")]
    public static partial void SharesLost(ILogger logger, string pool, int count);

    [LoggerMessage(EventId = 209, Level = LogLevel.Information, Message = "{Count} in-flight shares re-sent to {Pool} after it resumed the session")]
    public static partial void SharesResent(ILogger logger, string pool, int count);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Pool {Pool}: opening connection {Count} for miners with k={PrefixSize}, n={Extranonce2Size}")]
    public static partial void PoolLaneOpened(ILogger logger, string pool, int count, int prefixSize, int extranonce2Size);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning, Message = "Pool {Pool} gives extranonce2 size {PoolExtranonce2Size}: new miners of group {Group} get k={PrefixSize}, n={Extranonce2Size} ({MinersPerConnection} per upstream connection, at most {MaxConnections} connections per pool) instead of k={ConfiguredPrefixSize}, n={ConfiguredExtranonce2Size}")]
    public static partial void LayoutAdapted(ILogger logger, string pool, int poolExtranonce2Size, string group, int prefixSize, int extranonce2Size, long minersPerConnection, int maxConnections, int configuredPrefixSize, int configuredExtranonce2Size);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "Miner {Session} ({Worker}) has k={PrefixSize}, n={Extranonce2Size}, which no ready pool of group {Group} can carry: {Action}")]
    public static partial void MinerLayoutUnfit(ILogger logger, long session, string? worker, int prefixSize, int extranonce2Size, string group, string action);

    [LoggerMessage(EventId = 213, Level = LogLevel.Error, Message = "Pool {Pool}: a message from the pool could not be handled; the connection is closed and opened again")]
    public static partial void PoolMessageFailed(ILogger logger, string pool, Exception exception);

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Moved {Count} miners from {From} to {To} ({Reason})")]
    public static partial void MinersMoved(ILogger logger, int count, string from, string to, string reason);

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Address {Remote} went over {Limit} miner connections on {Listener}: new connections from it are refused for {BanSeconds} s (Proxy:Limits)")]
    public static partial void AddressBanned(ILogger logger, string remote, int limit, string listener, int banSeconds);

    [LoggerMessage(EventId = 121, Level = LogLevel.Debug, Message = "Connection from {Remote} on {Listener} refused: {Reason}")]
    public static partial void AddressRefused(ILogger logger, string remote, string listener, string reason);

    [LoggerMessage(EventId = 122, Level = LogLevel.Error, Message = "Listener {Listener} cannot accept miners: {Error} ({Message}; {Failures} failed accepts since the last report). Waiting miners are taken once descriptors free up: raise the open-file limit (ulimit -n, systemd LimitNOFILE) above Proxy:Miners:MaxConnections")]
    public static partial void AcceptFailed(ILogger logger, string listener, string error, string message, int failures);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "No pool of group {Group} is ready; {Count} miners wait for work")]
    public static partial void NoPoolReady(ILogger logger, string group, int count);

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Draining: no new miners accepted; asking {Count} miners to reconnect over {Period}, then {Grace} of grace")]
    public static partial void DrainStarted(ILogger logger, int count, TimeSpan period, TimeSpan grace);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Draining: {Sent} of {Count} miners asked to reconnect, {Remaining} still connected")]
    public static partial void DrainProgress(ILogger logger, int sent, int count, int remaining);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Drain done: {Sent} miners asked to reconnect, {Left} left, {Remaining} still connected are closed now ({Elapsed})")]
    public static partial void DrainDone(ILogger logger, int sent, int left, int remaining, TimeSpan elapsed);

    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "Handed over to process {ProcessId}: {Sessions} miner sessions, {Pools} pool connections, {Listeners} listeners; exiting without closing them")]
    public static partial void HandedOver(ILogger logger, int processId, int sessions, int pools, int listeners);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Takeover refused: {Reason}; this process keeps serving")]
    public static partial void TakeoverRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Takeover failed after the connections were handed: {Reason}; this process took them back and keeps serving")]
    public static partial void TakeoverTakenBack(ILogger logger, string reason);

    [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Took over from process {ProcessId}: {Sessions} miner sessions, {Pools} pool connections, {Listeners} listeners")]
    public static partial void TookOver(ILogger logger, int processId, int sessions, int pools, int listeners);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Pool {Pool}: its handed-over connection is closed (no aggregating pool of that name is configured here)")]
    public static partial void TakeoverPoolDropped(ILogger logger, string pool);

    [LoggerMessage(EventId = 505, Level = LogLevel.Information, Message = "Takeover requested: parking {Sessions} miner sessions and waiting up to {Quiesce} for the pools' verdicts")]
    public static partial void TakeoverParking(ILogger logger, int sessions, TimeSpan quiesce);

    [LoggerMessage(EventId = 506, Level = LogLevel.Information, Message = "Listening for a takeover on {Path}")]
    public static partial void TakeoverListening(ILogger logger, string path);

    [LoggerMessage(EventId = 507, Level = LogLevel.Warning, Message = "A takeover connection was refused: {Reason}")]
    public static partial void TakeoverConnectionRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 509, Level = LogLevel.Warning, Message = "Proxy:Takeover:SocketPath {Path} is set, but takeovers need Linux: running without a takeover socket")]
    public static partial void TakeoverUnsupported(ILogger logger, string path);

    [LoggerMessage(EventId = 510, Level = LogLevel.Error, Message = "Takeover take-back: {Miners} miner connections and {Pools} pool connections could not be taken back and were closed (their peers reconnect): {Reason}")]
    public static partial void TakeoverTakeBackFailed(ILogger logger, int miners, int pools, string reason);

    [LoggerMessage(EventId = 511, Level = LogLevel.Error, Message = "Takeover: {Miners} miner connections and {Pools} pool connections could not be adopted and were closed (their peers reconnect; the pools are dialled again): {Reason}")]
    public static partial void TakeoverAdoptFailed(ILogger logger, int miners, int pools, string reason);

    [LoggerMessage(EventId = 508, Level = LogLevel.Information, Message = "Waiting for process {ProcessId} to exit before the admin endpoint binds")]
    public static partial void TakeoverWaitingForExit(ILogger logger, int processId);

    [LoggerMessage(EventId = 512, Level = LogLevel.Error, Message = "Takeover: listener {Listener} ({Endpoint}) could not be adopted and is bound fresh: {Reason}")]
    public static partial void TakeoverListenerNotAdopted(ILogger logger, string listener, string endpoint, string reason);

    [LoggerMessage(EventId = 513, Level = LogLevel.Warning, Message = "Takeover: {Miners} miners did not take the bytes queued for them within {Quiesce} and were closed instead of moved (they reconnect): {Who}")]
    public static partial void TakeoverMinersLeftBehind(ILogger logger, int miners, TimeSpan quiesce, string who);

    [LoggerMessage(EventId = 514, Level = LogLevel.Warning, Message = "Takeover: {Reason}; trying again while the old process exits (up to {Limit})")]
    public static partial void TakeoverBindRetrying(ILogger logger, string reason, TimeSpan limit);

    [LoggerMessage(EventId = 515, Level = LogLevel.Error, Message = "Takeover failed: {Reason}; {Outcome}")]
    public static partial void TakeoverFailed(ILogger logger, string reason, string outcome);

    [LoggerMessage(EventId = 516, Level = LogLevel.Error, Message = "Takeover take-back: listener {Listener} ({Endpoint}) could not be taken back: {Reason}; {Outcome}")]
    public static partial void TakeoverListenerNotTakenBack(ILogger logger, string listener, string endpoint, string reason, string outcome);
}
