namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The TLS stream a pool connection's pipes run over: a read that fails (a reset, a broken TLS record) reads as the
/// end of the stream and keeps the error in <see cref="ReceiveError"/>, as the plain-TCP transport does. The pipe
/// that Pipelines.Sockets.Unofficial fills from the stream then ends cleanly after every byte received before the
/// error; a read error passed on into the pipe would be thrown to the reader in place of the lines still buffered
/// (a pool's last verdicts before a reset).
/// </summary>
internal sealed class TlsReceiveEndStream(Stream inner) : Stream
{
    private IOException? _receiveError;

    /// <summary>Why the stream ended, when a read failed rather than reaching the peer's end; null otherwise.</summary>
    public IOException? ReceiveError => Volatile.Read(ref _receiveError);

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            Interlocked.CompareExchange(ref _receiveError, ex, null);
            return 0;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
