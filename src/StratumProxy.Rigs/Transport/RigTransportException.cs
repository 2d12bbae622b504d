namespace StratumProxy.Rigs.Transport;

internal enum TransportFault
{
    /// <summary>Refused, unreachable or reset while connecting: nothing was sent.</summary>
    ConnectFailed,

    /// <summary>The connect did not finish in time: nothing was sent.</summary>
    ConnectTimeout,

    /// <summary>The request left, no complete reply arrived in time.</summary>
    ReplyTimeout,

    /// <summary>The request left (or may have), the peer closed before any reply byte.</summary>
    ClosedWithoutReply,

    /// <summary>A reply arrived but could not be read.</summary>
    InvalidReply,
}

/// <summary>
/// What one exchange with a rig may cost, for every transport (TCP and HTTP): the whole exchange (connect, send, the
/// whole reply) is bounded by <see cref="RigEndpoint.CommandTimeout"/>, so a rig that drips its reply a byte at a time
/// or never closes is cut off; and a reply longer than <see cref="MaxReplyBytes"/> is refused as invalid, so a rig
/// that sends without end costs at most that much memory.
/// </summary>
internal static class RigReplyLimits
{
    /// <summary>The longest reply read from a rig (real replies are a few kilobytes).</summary>
    public const int MaxReplyBytes = 1024 * 1024;
}

/// <summary>A transport fault, mapped once at the socket/HTTP seam; adapters turn it into a result.</summary>
internal sealed class RigTransportException : Exception
{
    public RigTransportException(TransportFault fault, string message, Exception? innerException = null)
        : base(message, innerException) => Fault = fault;

    public RigTransportException()
        : this(TransportFault.InvalidReply, "invalid reply")
    {
    }

    public RigTransportException(string message)
        : this(TransportFault.InvalidReply, message)
    {
    }

    public RigTransportException(string message, Exception innerException)
        : this(TransportFault.InvalidReply, message, innerException)
    {
    }

    public TransportFault Fault { get; }

    /// <summary>False only when the fault happened before any request byte could have left.</summary>
    public bool RequestSent => Fault is not (TransportFault.ConnectFailed or TransportFault.ConnectTimeout);
}
