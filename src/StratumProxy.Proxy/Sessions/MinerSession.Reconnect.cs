namespace StratumProxy.Proxy.Sessions;

public sealed partial class MinerSession
{
    private const int ReconnectNone = 0;
    private const int ReconnectWanted = 1;
    private const int ReconnectSentState = 2;
    private const int ReconnectDeferred = 3;

    private int _reconnect;

    /// <summary>True once <c>client.reconnect</c> has been queued for the miner.</summary>
    public bool ReconnectSent => Volatile.Read(ref _reconnect) == ReconnectSentState;

    /// <summary>True while a requested reconnect waits for the pool's verdict on a share of the miner.</summary>
    internal bool ReconnectWaitsForVerdict => Volatile.Read(ref _reconnect) == ReconnectDeferred;

    /// <summary>
    /// Asks the miner to reconnect (<c>client.reconnect</c> without parameters: to the address it dialled, which a
    /// balancer maps to another instance). Callable from any thread, once; the session's loop sends it as soon as no
    /// share of the miner awaits a pool's verdict, so every answer already due reaches the miner before it leaves
    /// (cgminer closes the connection the moment it reads the request).
    /// </summary>
    internal void RequestReconnect()
    {
        if (Interlocked.CompareExchange(ref _reconnect, ReconnectWanted, ReconnectNone) == ReconnectNone)
        {
            Post(SessionEvent.Reconnect());
        }
    }

    /// <summary>
    /// Sends a requested reconnect once nothing is left to answer: called by the read loop after it has handled every
    /// complete line it holds (so submits that arrived before the request are answered first) and when a posted
    /// request wakes it. A share still awaiting a pool's verdict defers it; that verdict posts the request again.
    /// </summary>
    private void ApplyReconnect()
    {
        var state = Volatile.Read(ref _reconnect);
        if (_closing != 0 || state is ReconnectNone or ReconnectSentState)
        {
            return;
        }

        if (Volatile.Read(ref _inFlight) > 0)
        {
            Volatile.Write(ref _reconnect, ReconnectDeferred);
            return;
        }

        Volatile.Write(ref _reconnect, ReconnectSentState);
        Enqueue(MinerOutbound.Reconnect());
    }

    /// <summary>A forwarded share was answered (on the upstream's loop): a reconnect waiting for it may go now.</summary>
    private void OnForwardedAnswered()
    {
        if (Volatile.Read(ref _reconnect) is ReconnectWanted or ReconnectDeferred && Volatile.Read(ref _inFlight) == 0)
        {
            Post(SessionEvent.Reconnect());
        }
    }
}
