using System.Runtime.InteropServices;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Takeover;

/// <summary>The handover conversation over a Unix socket (<see cref="HandoverChannel"/>: descriptors as SCM_RIGHTS).</summary>
public sealed class SocketHandoverChannel(HandoverChannel channel) : IHandoverChannel
{
    /// <inheritdoc/>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, IReadOnlyList<SafeHandle> handles, CancellationToken cancellationToken) =>
        channel.SendAsync(payload, handles, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask<(byte[] Payload, IReadOnlyList<SafeHandle> Handles)> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            var message = await channel.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            return (message.Payload, message.Handles);
        }
        catch (InvalidDataException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => channel.DisposeAsync();
}
