using System.Buffers;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The miner connections' receive buffers (<see cref="SocketReceiveReader"/>, rented only while bytes are pending):
/// fixed 4 KiB blocks kept for reuse, each block its own owner object, so renting and returning allocate nothing (the
/// shared array pool keeps only a few dozen arrays of a size and drops the rest when thousands of sockets hold one at
/// once, and a <see cref="MemoryPool{T}"/> over it allocates an owner per rent). At most
/// <see cref="MaxRetainedBlocks"/> idle blocks are kept; a block returned beyond that is left to the GC, so a burst
/// does not stay in memory as idle blocks. (Miners' send sides use no blocks: they write straight to the socket, see
/// <see cref="SocketSendWriter"/>.)
/// </summary>
public sealed class BlockMemoryPool : MemoryPool<byte>
{
    /// <summary>The size of every block (the pipes' minimum segment size).</summary>
    public const int BlockSize = 4096;

    /// <summary>
    /// Idle blocks kept at most (4 MiB): about what a thousand busy miners hold at once. A fixed cost, not per session.
    /// </summary>
    public const int MaxRetainedBlocks = 1024;

    private readonly Lock _lock = new();
    private readonly Block[] _idle;
    private readonly int _maxRetained;
    private int _count;
    private long _created;

    /// <summary>Creates a pool that keeps at most <paramref name="maxRetainedBlocks"/> idle blocks.</summary>
    public BlockMemoryPool(int maxRetainedBlocks = MaxRetainedBlocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetainedBlocks);
        _maxRetained = maxRetainedBlocks;
        _idle = new Block[maxRetainedBlocks];
    }

    /// <summary>The pool the miner pipes share.</summary>
    public static BlockMemoryPool Miners { get; } = new();

    /// <inheritdoc/>
    public override int MaxBufferSize => BlockSize;

    /// <summary>Idle blocks held now.</summary>
    public int IdleCount => Volatile.Read(ref _count);

    /// <summary>Blocks allocated since the pool was made (a rent the pool could not serve from its idle blocks).</summary>
    public long BlocksCreated => Interlocked.Read(ref _created);

    /// <inheritdoc/>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        Block? block = null;
        lock (_lock)
        {
            if (_count > 0)
            {
                block = _idle[--_count];
                _idle[_count] = null!;
            }
        }

        if (block is null)
        {
            Interlocked.Increment(ref _created);
            block = new Block(this);
        }

        block.Rented = true;
        return block;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        // The pool lives as long as the process; blocks are plain arrays.
    }

    private void Return(Block block)
    {
        lock (_lock)
        {
            if (_count < _maxRetained)
            {
                _idle[_count++] = block;
            }
        }
    }

    private sealed class Block(BlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize);

        public bool Rented { get; set; }

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            // Owners are disposed once by the pipe; a second dispose must not put the block in the pool twice.
            if (!Rented)
            {
                return;
            }

            Rented = false;
            pool.Return(this);
        }
    }
}
