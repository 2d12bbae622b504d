using System.Buffers.Binary;
using System.Net.Sockets;

namespace StratumProxy.Rigs.Transport;

internal enum ReplyFraming
{
    /// <summary>cgminer style: the reply ends at a NUL byte or when the server closes.</summary>
    NulOrClose,

    /// <summary>Whatsminer API v3: uint32 little-endian length, then the JSON; a zero length is a heartbeat.</summary>
    LengthPrefixed,
}

/// <summary>One request per TCP connection, as every 4028-style rig API expects; all time comes from the TimeProvider.</summary>
internal sealed class TcpRpcTransport(RigEndpoint endpoint, TimeProvider timeProvider)
{
    private const int MaxReplyBytes = RigReplyLimits.MaxReplyBytes;

    public RigEndpoint Endpoint => endpoint;

    public async Task<byte[]> ExchangeAsync(
        ReadOnlyMemory<byte> request, ReplyFraming framing, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? endpoint.CommandTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(endpoint.Host, endpoint.Port, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RigTransportException(TransportFault.ConnectTimeout, $"connect to {Describe()} timed out");
        }
        catch (SocketException ex)
        {
            throw new RigTransportException(TransportFault.ConnectFailed, $"connect to {Describe()} failed: {ex.SocketErrorCode}", ex);
        }

        var stream = client.GetStream();
        try
        {
            // cgminer reads the request with a single recv(): one write, never split by us.
            await stream.WriteAsync(request, linked.Token);
            await stream.FlushAsync(linked.Token);
            return framing == ReplyFraming.NulOrClose
                ? await ReadUntilNulOrCloseAsync(stream, linked.Token)
                : await ReadFrameAsync(stream, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RigTransportException(TransportFault.ReplyTimeout, $"no reply from {Describe()} in time");
        }
        catch (IOException ex)
        {
            throw new RigTransportException(TransportFault.ClosedWithoutReply, $"{Describe()} closed the connection: {ex.Message}", ex);
        }
        catch (SocketException ex)
        {
            throw new RigTransportException(TransportFault.ClosedWithoutReply, $"{Describe()} closed the connection: {ex.SocketErrorCode}", ex);
        }
    }

    private string Describe() => FormattableString.Invariant($"{endpoint.Host}:{endpoint.Port}");

    private async Task<byte[]> ReadUntilNulOrCloseAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        using var reply = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                // Whatsminer v2 and some forks close without the NUL: a non-empty reply still counts.
                return reply.Length > 0
                    ? reply.ToArray()
                    : throw new RigTransportException(TransportFault.ClosedWithoutReply, $"{Describe()} closed without a reply");
            }

            var nul = Array.IndexOf(buffer, (byte)0, 0, read);
            var take = nul >= 0 ? nul : read;
            if (reply.Length + take > MaxReplyBytes)
            {
                throw new RigTransportException(TransportFault.InvalidReply, $"reply from {Describe()} exceeds {MaxReplyBytes} bytes");
            }

            reply.Write(buffer, 0, take);
            if (nul >= 0)
            {
                return reply.ToArray();
            }
        }
    }

    private async Task<byte[]> ReadFrameAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        while (true)
        {
            if (!await ReadExactAsync(stream, header, cancellationToken))
            {
                throw new RigTransportException(TransportFault.ClosedWithoutReply, $"{Describe()} closed without a reply");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length == 0)
            {
                continue;
            }

            if (length > MaxReplyBytes)
            {
                throw new RigTransportException(TransportFault.InvalidReply, $"frame length {length} from {Describe()} is not plausible");
            }

            var body = new byte[length];
            return await ReadExactAsync(stream, body, cancellationToken)
                ? body
                : throw new RigTransportException(TransportFault.InvalidReply, $"{Describe()} closed inside a reply frame");
        }
    }

    private static async Task<bool> ReadExactAsync(NetworkStream stream, byte[] target, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < target.Length)
        {
            var read = await stream.ReadAsync(target.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                return false;
            }

            filled += read;
        }

        return true;
    }
}
