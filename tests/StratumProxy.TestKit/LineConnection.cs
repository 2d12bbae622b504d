using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.TestKit;

/// <summary>
/// One Stratum TCP connection as both test peers use it: a read loop that hands each complete line to a handler,
/// and a single-writer output guarded by a semaphore so that replies, notifications and submits never interleave.
/// </summary>
internal sealed class LineConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly StratumWriter _writer = new();
    private static readonly TimeSpan FlushDeadline = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Action<string>? _trace;
    private readonly string _name;
    private int _closed;

    public LineConnection(Socket socket, string name, Action<string>? trace)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream);
        _output = PipeWriter.Create(_stream);
        _name = name;
        _trace = trace;
    }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Reads lines until the peer closes, the token fires, or <paramref name="onLine"/> returns false. When
    /// <paramref name="requireJsonFirstByte"/> is set, a first byte other than <c>{</c> ends the connection at once
    /// (ckpool's answer to a TLS ClientHello on a plain port, PEERS.md #6).
    /// </summary>
    public async Task ReadLinesAsync(Func<byte[], Task<bool>> onLine, int maxLineLength, bool requireJsonFirstByte, CancellationToken cancellationToken)
    {
        var first = true;
        var lines = new List<byte[]>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (first && requireJsonFirstByte && !buffer.IsEmpty)
                {
                    first = false;
                    if (buffer.FirstSpan[0] != (byte)'{')
                    {
                        Trace("<- non-JSON first byte, closing");
                        return;
                    }
                }

                lines.Clear();
                var status = FrameStatus.NeedMoreData;
                while ((status = LineFramer.TryReadLine(ref buffer, maxLineLength, out var line)) == FrameStatus.Line)
                {
                    if (!line.IsEmpty)
                    {
                        lines.Add(line.ToArray());
                    }
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                foreach (var line in lines)
                {
                    Trace("<- " + Encoding.UTF8.GetString(line));
                    if (!await onLine(line).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                if (status == FrameStatus.TooLong)
                {
                    Trace("<- line too long, closing");
                    return;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Trace("<- closed: " + ex.GetType().Name);
        }
    }

    /// <summary>Writes one or more lines with the connection's <see cref="StratumWriter"/> and flushes. False once closed.</summary>
    public async Task<bool> SendAsync(Action<StratumWriter, IBufferWriter<byte>> write)
    {
        if (IsClosed)
        {
            return false;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (IsClosed)
            {
                return false;
            }

            if (_trace is null)
            {
                write(_writer, _output);
            }
            else
            {
                var buffer = new ArrayBufferWriter<byte>();
                write(_writer, buffer);
                foreach (var line in Encoding.UTF8.GetString(buffer.WrittenSpan).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Trace("-> " + line);
                }

                _output.Write(buffer.WrittenSpan);
            }

            // A peer that stops reading must not hang the test: past the deadline it is treated as gone.
            using var deadline = new CancellationTokenSource(FlushDeadline);
            var flush = await _output.FlushAsync(deadline.Token).ConfigureAwait(false);
            return !flush.IsCompleted;
        }
        catch (OperationCanceledException)
        {
            Trace("-> peer not reading, closing");
            Close(abortive: true);
            return false;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes raw bytes (already a complete line with its newline).</summary>
    public Task<bool> SendRawAsync(byte[] line) => SendAsync((_, output) => output.Write(line));

    /// <summary>Closes both directions; with <paramref name="abortive"/> the peer sees a reset instead of an orderly close.</summary>
    public void Close(bool abortive = false)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            if (abortive)
            {
                _socket.LingerState = new LingerOption(true, 0);
            }
            else
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing to shut down.
        }

        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _input.CompleteAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The socket is already closed: whatever was left unflushed is lost, as on a real hang-up.
        }
        finally
        {
            _writer.Dispose();
            _writeLock.Release();
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    private void Trace(string text) => _trace?.Invoke($"{_name} {text}");
}
