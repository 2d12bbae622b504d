using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace StratumProxy.Simulators;

/// <summary>
/// A simulator's listener on 127.0.0.1 and a free port, and the accept loop every simulator runs: each connection is
/// handed to the server and served on its own until the listener is disposed.
/// </summary>
internal sealed class LoopbackListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <summary>Starts listening and hands each connection to <paramref name="serve"/>.</summary>
    public LoopbackListener(Func<TcpClient, Task> serve)
    {
        Stopping = _stop.Token;
        _listener.Start();
        _accepting = AcceptAsync(serve, Stopping);
    }

    /// <summary>Cancelled when the listener is disposed: the connections being served end with it.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>The port, as it is written in a URL or a HOST:PORT address.</summary>
    public string Port => ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Stops accepting and cancels <see cref="Stopping"/>; returns when the accept loop has ended.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task AcceptAsync(Func<TcpClient, Task> serve, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(stop).ConfigureAwait(false);
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
