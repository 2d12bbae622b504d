using System.Net.Sockets;

namespace StratumProxy.Simulators;

/// <summary>The accept loop every simulator's listener runs: each connection is served on its own, until stopped.</summary>
internal static class LoopbackAccept
{
    /// <summary>Accepts connections on <paramref name="listener"/> and hands each to <paramref name="serve"/> until <paramref name="stop"/>.</summary>
    public static async Task RunAsync(TcpListener listener, Func<TcpClient, Task> serve, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = serve(client);
        }
    }
}
