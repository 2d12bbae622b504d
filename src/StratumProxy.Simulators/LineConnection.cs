using System.Buffers;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Simulators;

/// <summary>One newline-delimited JSON connection: a line reader and a serialized writer using the product's <see cref="StratumWriter"/>.</summary>
internal sealed class LineConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly StratumWriter _writer = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);

    public LineConnection(TcpClient client)
    {
        _client = client;
        _client.NoDelay = true;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
    }

    /// <summary>The next line as UTF-8 bytes, or null at the end of the stream.</summary>
    public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        return line is null ? null : Encoding.UTF8.GetBytes(line);
    }

    /// <summary>Writes what <paramref name="write"/> renders, as one flush. False when the connection is gone.</summary>
    public async Task<bool> SendAsync(Action<StratumWriter, IBufferWriter<byte>> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _buffer.ResetWrittenCount();
            write(_writer, _buffer);
            await _stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
        _client.Dispose();

        // The write lock and the writer are left to the collector: a job may still be on its way to this connection
        // (neither holds an OS handle); its write fails on the closed stream.
    }
}
