using StratumProxy.Proxy.Components;

namespace StratumProxy.Proxy.Tests.Components;

public sealed class ExtranonceAllocatorTests
{
    [Theory]
    [InlineData(0, 1L)]
    [InlineData(1, 256L)]
    [InlineData(2, 65_536L)]
    [InlineData(3, 16_777_216L)]
    [InlineData(4, 4_294_967_296L)]
    public void Capacity_IsTheWholePrefixSpace(int prefixSize, long expected)
    {
        Assert.Equal(expected, new ExtranonceAllocator(prefixSize).Capacity);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]
    public void Constructor_PrefixSizeOutside0To4_Throws(int prefixSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExtranonceAllocator(prefixSize));
    }

    [Fact]
    public void TryAllocate_WholeOneByteSpace_UniqueThenExhausted()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 1);
        var seen = new HashSet<uint>();

        for (var i = 0; i < 256; i++)
        {
            Assert.True(allocator.TryAllocate(out var prefix));
            Assert.Equal(1, prefix.Size);
            Assert.True(seen.Add(prefix.Value));
        }

        Assert.True(allocator.IsExhausted);
        Assert.False(allocator.TryAllocate(out _));
        Assert.Equal(256, allocator.Count);
    }

    [Fact]
    public void Release_AfterExhaustion_MakesExactlyThatPrefixAvailable()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 1);
        for (var i = 0; i < 256; i++)
        {
            allocator.TryAllocate(out _);
        }

        var freed = new MinerExtranoncePrefix(0x42, 1);
        Assert.True(allocator.Release(freed));
        Assert.False(allocator.IsExhausted);

        Assert.True(allocator.TryAllocate(out var reused));
        Assert.Equal(freed, reused);
        Assert.False(allocator.TryAllocate(out _));
    }

    [Fact]
    public void TryAllocate_AfterRelease_ReusesFreedPrefixesLast()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 2);
        allocator.TryAllocate(out var first);
        allocator.TryAllocate(out var second);
        allocator.Release(first);

        allocator.TryAllocate(out var third);

        Assert.Equal(0u, first.Value);
        Assert.Equal(1u, second.Value);
        // Next-fit: 0 is free again but a miner that just left may still have shares in flight on this job.
        Assert.Equal(2u, third.Value);
    }

    [Fact]
    public void TryAllocate_WrapsAroundToFreedPrefixes()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 1);
        for (var i = 0; i < 256; i++)
        {
            allocator.TryAllocate(out _);
        }

        allocator.Release(new MinerExtranoncePrefix(3, 1));
        allocator.Release(new MinerExtranoncePrefix(7, 1));

        Assert.True(allocator.TryAllocate(out var a));
        Assert.True(allocator.TryAllocate(out var b));
        Assert.Equal(3u, a.Value);
        Assert.Equal(7u, b.Value);
    }

    [Fact]
    public void MaxAllocations_CapsLivePrefixes()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 4, maxAllocations: 3);

        Assert.Equal(3, allocator.Capacity);
        Assert.True(allocator.TryAllocate(out _));
        Assert.True(allocator.TryAllocate(out _));
        Assert.True(allocator.TryReserve(new MinerExtranoncePrefix(0xDEADBEEF, 4)));
        Assert.False(allocator.TryAllocate(out _));
        Assert.False(allocator.TryReserve(new MinerExtranoncePrefix(0xCAFEBABE, 4)));
    }

    [Fact]
    public void TryReserve_PrefixOfAMinerMovingIn_ClaimsItOnceAndAllocateSkipsIt()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 2);
        var moving = new MinerExtranoncePrefix(0x0000, 2);

        Assert.True(allocator.TryReserve(moving));
        Assert.False(allocator.TryReserve(moving));
        Assert.True(allocator.IsAllocated(moving));
        Assert.True(allocator.TryAllocate(out var next));
        Assert.Equal(1u, next.Value);
    }

    [Fact]
    public void Release_UnknownPrefix_ReturnsFalse()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 2);

        Assert.False(allocator.Release(new MinerExtranoncePrefix(5, 2)));
    }

    [Fact]
    public void Release_PrefixOfOtherSize_Throws()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 2);

        Assert.Throws<ArgumentException>(() => allocator.Release(new MinerExtranoncePrefix(5, 1)));
    }

    [Fact]
    public void TryAllocate_ConcurrentConnectsAndDisconnects_NeverHandsOutALivePrefixTwice()
    {
        var allocator = new ExtranonceAllocator(prefixSize: 1);
        var live = new int[256];
        var duplicates = 0;

        Parallel.For(0, 8, _ =>
        {
            var mine = new List<MinerExtranoncePrefix>();
            for (var i = 0; i < 20_000; i++)
            {
                if (mine.Count < 32 && allocator.TryAllocate(out var prefix))
                {
                    if (Interlocked.Increment(ref live[prefix.Value]) != 1)
                    {
                        Interlocked.Increment(ref duplicates);
                    }

                    mine.Add(prefix);
                }
                else if (mine.Count > 0)
                {
                    var victim = mine[^1];
                    mine.RemoveAt(mine.Count - 1);
                    Interlocked.Decrement(ref live[victim.Value]);
                    Assert.True(allocator.Release(victim));
                }
            }

            foreach (var prefix in mine)
            {
                Interlocked.Decrement(ref live[prefix.Value]);
                allocator.Release(prefix);
            }
        });

        Assert.Equal(0, duplicates);
        Assert.Equal(0, allocator.Count);
    }

    [Theory]
    [InlineData(0x01u, 1, "01")]
    [InlineData(0x0102u, 2, "0102")]
    [InlineData(0x0Au, 3, "00000a")]
    [InlineData(0xDEADBEEFu, 4, "deadbeef")]
    public void Prefix_WriteToAndToString_BigEndianFixedWidth(uint value, int size, string hex)
    {
        var prefix = new MinerExtranoncePrefix(value, size);
        var bytes = new byte[size];

        prefix.WriteTo(bytes);

        Assert.Equal(hex, prefix.ToString());
        Assert.Equal(Convert.FromHexString(hex), bytes);
    }

    [Fact]
    public void Prefix_ValueWiderThanSize_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinerExtranoncePrefix(0x100, 1));
    }

    [Fact]
    public void Prefixes_PastTheOneByteSpace_AreHandedOutAgainInTurnAndNotReleased()
    {
        var prefixes = new ExtranoncePrefixes();
        var minted = Enumerable.Range(0, 256).Select(_ => prefixes.Mint(1, out var unique) is var p && unique ? p : throw new InvalidOperationException("not unique")).ToList();
        Assert.Equal(256, minted.Select(p => p.Value).Distinct().Count());

        var again = prefixes.Mint(1, out var shared);
        var next = prefixes.Mint(1, out _);

        Assert.False(shared);
        Assert.Equal(0u, again.Value);
        Assert.Equal(1u, next.Value);
        prefixes.Release(minted[5]);
        Assert.Equal(255, prefixes.Count(1));
        Assert.Equal(5u, prefixes.Mint(1, out var uniqueAgain).Value);
        Assert.True(uniqueAgain);
    }

    [Fact]
    public void Prefixes_ZeroBytes_AreEmptyAndNeverUniqueTwice()
    {
        var prefixes = new ExtranoncePrefixes();
        var first = prefixes.Mint(0, out var firstUnique);
        var second = prefixes.Mint(0, out var secondUnique);

        Assert.True(firstUnique);
        Assert.False(secondUnique);
        Assert.Equal(string.Empty, first.ToString());
        Assert.Equal(first, second);
    }
}
