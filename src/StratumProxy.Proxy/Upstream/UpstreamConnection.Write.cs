using System.Text;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Upstream;

public sealed partial class UpstreamConnection
{
    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        var output = _connection.Transport.Output;
        var reader = _outbound.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var marker = false;
            while (reader.TryRead(out var item))
            {
                marker |= item.Kind == OutboundKind.Marker;
                Format(output, item);
            }

            var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (marker)
            {
                Interlocked.Exchange(ref _flushed, null)?.TrySetResult();
            }

            if (flush.IsCompleted || flush.IsCanceled)
            {
                return;
            }
        }
    }

    private void Format(System.IO.Pipelines.PipeWriter output, in Outbound item)
    {
        var id = JsonRpcId.FromNumber(item.Id);
        switch (item.Kind)
        {
            case OutboundKind.Configure:
                _writer.WriteConfigureVersionRolling(output, id, 0x1fffe000, 2);
                break;
            case OutboundKind.Subscribe:
                _writer.WriteSubscribe(output, id, UserAgent, item.Text);
                break;
            case OutboundKind.Authorize:
                _writer.WriteAuthorize(output, id, item.Text ?? string.Empty, Pool.Password);
                break;
            case OutboundKind.Response:
                _writer.WriteStringResult(output, JsonRpcId.FromRaw(JsonRpcIdKind.Number, Encoding.UTF8.GetBytes(item.Text ?? "null")), _context.UserAgent);
                break;
            case OutboundKind.Submit:
                ForwardedShare share;
                lock (_lock)
                {
                    if (!_pendingShares.TryGetValue(item.Id, out share))
                    {
                        return;
                    }
                }

                _writer.WriteSubmit(
                    output,
                    id,
                    share.UpstreamWorker,
                    share.Job.PoolJobId,
                    share.Extranonce2Prefix,
                    share.Extranonce2.Span,
                    share.NTime,
                    share.Nonce,
                    share.HasVersionBits ? share.VersionBits : null);
                break;
        }
    }
}
