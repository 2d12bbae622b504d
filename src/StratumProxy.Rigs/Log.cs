using Microsoft.Extensions.Logging;

namespace StratumProxy.Rigs;

internal static partial class Log
{
    /// <summary>
    /// A command's outcome. Status reads run at every curtailment evaluation for every rig, so they log at Debug
    /// (event 3005); commands that change a rig (sleep, wake, power target, work mode, pool) log at Information (3001).
    /// </summary>
    public static void CommandFinished(this ILogger logger, string rigId, RigCommand command, string outcome, string detail)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Kind == RigCommandKind.ReadStatus)
        {
            logger.StatusRead(rigId, outcome, detail);
        }
        else
        {
            logger.CommandDone(rigId, command, outcome, detail);
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Rig {RigId}: {Command} -> {Outcome} ({Detail})")]
    private static partial void CommandDone(this ILogger logger, string rigId, RigCommand command, string outcome, string detail);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Rig {RigId}: connect attempt {Attempt} failed ({Detail}); next attempt in {Delay}")]
    public static partial void ConnectRetry(this ILogger logger, string rigId, int attempt, string detail, TimeSpan delay);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Rig {RigId} marked unreachable after {Attempts} connect attempts; left alone for {HoldOff}")]
    public static partial void MarkedUnreachable(this ILogger logger, string rigId, int attempts, TimeSpan holdOff);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Rig {RigId}: read-back {Attempt} does not show {Expected} yet")]
    public static partial void ReadBackPending(this ILogger logger, string rigId, int attempt, RigExpectation expected);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Rig {RigId}: ReadStatus -> {Outcome} ({Detail})")]
    private static partial void StatusRead(this ILogger logger, string rigId, string outcome, string detail);
}
