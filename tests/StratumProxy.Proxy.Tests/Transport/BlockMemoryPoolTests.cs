using System.Buffers;
using System.IO.Pipelines;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Transport;

public sealed class BlockMemoryPoolTests
{
    [Fact]
    public void Rent_AfterAReturn_HandsBackTheSameBlock()
    {
        var pool = new BlockMemoryPool(maxRetainedBlocks: 4);
        var first = pool.Rent(100);
        first.Memory.Span[0] = 42;
        var array = Array(first);
        first.Dispose();

        using var second = pool.Rent(BlockMemoryPool.BlockSize);

        Assert.Same(first, second);
        Assert.Same(array, Array(second));
        Assert.Equal(BlockMemoryPool.BlockSize, second.Memory.Length);
        Assert.Equal(0, pool.IdleCount);
    }

    [Fact]
    public void Dispose_Twice_ReturnsTheBlockOnce()
    {
        var pool = new BlockMemoryPool(maxRetainedBlocks: 4);
        var block = pool.Rent();

        block.Dispose();
        block.Dispose();

        Assert.Equal(1, pool.IdleCount);
        using var again = pool.Rent();
        using var fresh = pool.Rent();
        Assert.NotSame(again, fresh);
    }

    [Fact]
    public void Return_BeyondTheCap_IsLeftToTheCollector()
    {
        var pool = new BlockMemoryPool(maxRetainedBlocks: 2);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();

        blocks.ForEach(b => b.Dispose());

        Assert.Equal(2, pool.IdleCount);
    }

    [Fact]
    public void Rent_LargerThanABlock_Throws()
    {
        var pool = new BlockMemoryPool();
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(BlockMemoryPool.BlockSize + 1));
    }

    [Fact]
    public async Task APipeOverThePool_ReusesItsBlocksAcrossWrites()
    {
        var pool = new BlockMemoryPool(maxRetainedBlocks: 16);
        var pipe = new Pipe(new PipeOptions(pool: pool, minimumSegmentSize: BlockMemoryPool.BlockSize, useSynchronizationContext: false));
        var line = new byte[1000];
        for (var i = 0; i < 20; i++)
        {
            await pipe.Writer.WriteAsync(line);
            var read = await pipe.Reader.ReadAsync();
            Assert.Equal(line.Length, read.Buffer.Length);
            pipe.Reader.AdvanceTo(read.Buffer.End);
        }

        // Each write's segment went back to the pool once read and came out of it again for the next write.
        Assert.Equal(1, pool.BlocksCreated);
        Assert.Equal(1, pool.IdleCount);
    }

    private static byte[] Array(IMemoryOwner<byte> owner) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(owner.Memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");
}
