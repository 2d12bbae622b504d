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

    /// <summary>
    /// Serves one request and its reply on <paramref name="client"/>, then closes it: reads (up to 4 KiB) until
    /// <paramref name="answer"/> has a reply for what has arrived, else takes <paramref name="unanswered"/>'s (told
    /// whether the caller closed first; null writes nothing). A caller that goes away, or a stop, ends it quietly.
    /// </summary>
    public static async Task ReplyOnceAsync(TcpClient client, Func<ReadOnlyMemory<byte>, byte[]?> answer, Func<bool, byte[]?> unanswered, CancellationToken stop)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var received = 0;
                var closed = false;
                byte[]? reply = null;
                while (reply is null && received < buffer.Length)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(received), stop).ConfigureAwait(false);
                    if (read == 0)
                    {
                        closed = true;
                        break;
                    }

                    received += read;
                    reply = answer(buffer.AsMemory(0, received));
                }

                reply ??= unanswered(closed);
                if (reply is not null)
                {
                    await stream.WriteAsync(reply, stop).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
                // The caller went away or we are stopping.
            }
        }
    }
}
