using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs;

/// <summary>Turns transport faults into results, keeping "nothing was sent" apart from "outcome unknown".</summary>
internal static class Outcomes
{
    public static RigFailed ReadFailure(RigTransportException ex) => ex.Fault switch
    {
        TransportFault.ConnectFailed or TransportFault.ConnectTimeout => new RigFailed(RigFailureReason.ConnectFailed, ex.Message),
        TransportFault.ReplyTimeout => new RigFailed(RigFailureReason.Timeout, ex.Message),
        TransportFault.ClosedWithoutReply => new RigFailed(RigFailureReason.ConnectionClosedWithoutReply, ex.Message),
        _ => new RigFailed(RigFailureReason.InvalidReply, ex.Message),
    };

    /// <summary>
    /// A fault during a write operation. Before any write left, it is a plain failure (a connect failure may be retried);
    /// once a write may have reached the rig, the outcome is unknown: unconfirmed and not acknowledged.
    /// </summary>
    public static RigCommandResult WriteFailure(
        RigTransportException ex, bool isWriteExchange, bool earlierWriteSent, RigExpectation expected, string command)
    {
        if (!earlierWriteSent && (!isWriteExchange || !ex.RequestSent))
        {
            return ReadFailure(ex);
        }

        return new RigUnconfirmed(expected, Acknowledged: false, $"{command}: outcome unknown ({ex.Message})");
    }

    /// <summary>
    /// A read a command needs before it writes (a session, a token, the current configuration). A transport fault there is
    /// a read failure: nothing was written yet.
    /// </summary>
    public static async Task<(T? Value, RigFailed? Failure)> ReadFirstAsync<T>(Task<(T? Value, RigFailed? Failure)> read)
        where T : class
    {
        try
        {
            return await read;
        }
        catch (RigTransportException ex)
        {
            return (null, ReadFailure(ex));
        }
    }

    public static RigUnsupported Unsupported(RigFamily family, string what) => new($"{family} has no {what} command in this adapter");
}
