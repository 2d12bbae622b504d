using System.Buffers;
using System.IO.Pipelines;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Sessions;

public sealed partial class MinerSession
{
    // One formatter per thread, not per session (its JSON writer and hex buffer are ~1.3 KiB): a message is formatted
    // in one synchronous call, so a writer is never shared between two sessions at once.
    [ThreadStatic]
    private static StratumWriter? t_writer;

    /// <summary>
    /// Queues a message for the miner. A miner that does not read (its queue is full) is dropped and counted: it
    /// would otherwise hold memory for jobs it will never use (slow-consumer policy: disconnect).
    /// </summary>
    private void Enqueue(in MinerOutbound message)
    {
        if (_outbound.Writer.TryWrite(message) || _closing != 0)
        {
            return;
        }

        _context.Metrics.SlowConsumers.Inc();
        Close($"slow consumer: more than {OutboundCapacity} messages waiting");
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        var output = _connection.Transport.Output;
        var reader = _outbound.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var message))
            {
                Format(output, message);
            }

            var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCompleted || flush.IsCanceled)
            {
                return;
            }
        }
    }

    private static void Format(PipeWriter output, in MinerOutbound message)
    {
        var writer = t_writer ??= new StratumWriter();
        switch (message.Type)
        {
            case MinerOutbound.Kind.Result:
                writer.WriteResult(output, message.Id, message.Flag);
                break;
            case MinerOutbound.Kind.Error:
                writer.WriteError(output, message.Id, message.Code, message.Text ?? "error");
                break;
            case MinerOutbound.Kind.Subscribed:
                writer.WriteSubscribeResult(output, message.Id, message.Bytes, message.Bytes2, message.Code);
                break;
            case MinerOutbound.Kind.Configured:
                writer.WriteConfigureResult(output, message.Id, message.Option1, message.Mask, message.Option2);
                break;
            case MinerOutbound.Kind.SetDifficulty:
                writer.WriteSetDifficulty(output, message.Number);
                break;
            case MinerOutbound.Kind.VersionMask:
                writer.WriteSetVersionMask(output, message.Mask);
                break;
            case MinerOutbound.Kind.Raw:
                output.Write(message.Bytes);
                break;
            case MinerOutbound.Kind.RawResult:
                writer.WriteRawResult(output, message.Id, message.Bytes);
                break;
            case MinerOutbound.Kind.SetExtranonce:
                writer.WriteSetExtranonce(output, message.Bytes, message.Code);
                break;
        }
    }
}
