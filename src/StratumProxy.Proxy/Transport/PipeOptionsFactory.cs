using System.Buffers;
using System.IO.Pipelines;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The one place pipe thresholds are chosen, per direction and per peer kind (STYLE.md §2 SE.Redis #2). The receive
/// pause threshold is always above the longest allowed line, or a long line would stall the read loop forever
/// (STYLE.md §3 #8).
/// </summary>
public static class PipeOptionsFactory
{
    // Options are immutable and hold no per-connection state, so every miner connection shares one instance instead
    // of carrying its own. A miner's send side has no pipe: it writes straight to its socket (SocketSendWriter).
    private static MinerReceiveOptions? s_minerReceive;

    /// <summary>Receive side for a miner: small, since miners are untrusted and their lines are short.</summary>
    public static PipeOptions MinerReceive(int maxLineLength)
    {
        var cached = Volatile.Read(ref s_minerReceive);
        if (cached is null || cached.MaxLineLength != maxLineLength)
        {
            cached = new MinerReceiveOptions(maxLineLength, Create(Math.Max(64 * 1024, maxLineLength * 4), BlockMemoryPool.Miners));
            Volatile.Write(ref s_minerReceive, cached);
        }

        return cached.Options;
    }

    /// <summary>Receive side for a pool: notify lines can carry large coinbases.</summary>
    public static PipeOptions PoolReceive(int maxLineLength) => Create(Math.Max(1024 * 1024, maxLineLength * 4));

    /// <summary>Send side for a pool: many miners' submits share it.</summary>
    public static PipeOptions PoolSend() => Create(4 * 1024 * 1024);

    private static PipeOptions Create(long pause, MemoryPool<byte>? pool = null) => new(
        pool: pool,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: pause,
        resumeWriterThreshold: pause / 2,
        minimumSegmentSize: BlockMemoryPool.BlockSize,
        useSynchronizationContext: false);

    private sealed record MinerReceiveOptions(int MaxLineLength, PipeOptions Options);
}
