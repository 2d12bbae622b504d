using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace StratumProxy.TestKit;

/// <summary>The far end of a test connection: a plain socket that sends numbered lines and collects every line it receives.</summary>
public sealed class LineClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _reading;
    private TaskCompletionSource _gate = CompletedGate();

    public LineClient(Socket socket)
    {
        _socket = socket;
        _reading = ReadLoopAsync();
    }

    /// <summary>Stops reading after the read in progress (what arrives stays in the socket buffers).</summary>
    public void PauseReading() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void ResumeReading() => Volatile.Read(ref _gate).TrySetResult();

    /// <summary>True when the stream ended with an error (a reset) rather than a FIN.</summary>
    public bool EndedByReset { get; private set; }

    /// <summary>True once the stream ended (EOF or reset).</summary>
    public bool SawEnd { get; private set; }

    public static async Task<LineClient> ConnectAsync(EndPoint endpoint, CancellationToken ct, int receiveBuffer = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer > 0)
        {
            socket.ReceiveBufferSize = receiveBuffer;
        }

        await socket.ConnectAsync(endpoint, ct);
        return new LineClient(socket);
    }

    public async Task SendLinesAsync(string prefix, int first, int last, CancellationToken ct)
    {
        var text = new StringBuilder();
        for (var i = first; i <= last; i++)
        {
            text.Append(NumberedLines.Line(prefix, i)).Append('\n');
        }

        var bytes = Encoding.ASCII.GetBytes(text.ToString());
        var sent = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes.AsMemory(sent), ct);
        }
    }

    public async Task<string[]> ReadLinesAsync(int count, CancellationToken ct)
    {
        var lines = new string[count];
        for (var i = 0; i < count; i++)
        {
            lines[i] = await _lines.Reader.ReadAsync(ct);
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        ResumeReading();

        // A FIN: disposing a socket with a receive pending would otherwise reset the connection.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var pending = new StringBuilder();
        while (true)
        {
            await Volatile.Read(ref _gate).Task;
            int count;
            try
            {
                count = await _socket.ReceiveAsync(buffer);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                EndedByReset = ex is SocketException;
                count = 0;
            }

            if (count == 0)
            {
                SawEnd = true;
                _lines.Writer.TryComplete(new EndOfStreamException("The connection ended."));
                return;
            }

            pending.Append(Encoding.ASCII.GetString(buffer, 0, count));
            var text = pending.ToString();
            var start = 0;
            int end;
            while ((end = text.IndexOf('\n', start)) >= 0)
            {
                await _lines.Writer.WriteAsync(text[start..end]);
                start = end + 1;
            }

            pending.Clear().Append(text.AsSpan(start));
        }
    }
}
