using System.Security.Cryptography;
using System.Text;
using StratumProxy.Stratum.Crypto;

namespace StratumProxy.Stratum.Tests.Crypto;

public sealed class Sha256CompressorTests
{
    public static TheoryData<string> Implementations => Sha256Implementations.Names;

    [Fact]
    public void OpenSsl_OnLinux_IsAvailableAndIsTheDefault()
    {
        // .ci/run installs libssl3; without it every share would take the slow path, which must not go unnoticed.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Assert.NotNull(Sha256Compressor.OpenSsl);
        Assert.Equal("openssl", Sha256Compressor.Get(Sha256Implementation.OpenSsl).Name);
        Assert.Equal("managed", Sha256Compressor.Get(Sha256Implementation.Managed).Name);
        var forced = Environment.GetEnvironmentVariable(Sha256Compressor.ImplementationEnvironmentVariable);
        Assert.Equal(string.Equals(forced, "managed", StringComparison.OrdinalIgnoreCase) ? "managed" : "openssl", Sha256Compressor.Default.Name);
    }

    // FIPS 180-2 appendix B (and the empty message from NIST's examples).
    [Theory]
    [InlineData("managed", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("managed", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("managed", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    [InlineData("openssl", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("openssl", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("openssl", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void Hash_FipsVectors_MatchPublishedDigests(string implementation, string message, string expectedHex)
    {
        var sha = Sha256Implementations.Get(implementation);
        var digest = new byte[32];

        sha.Hash(Encoding.ASCII.GetBytes(message), digest);

        Assert.Equal(expectedHex, Convert.ToHexStringLower(digest));
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Hash_OneMillionA_MatchesFipsDigest(string implementation)
    {
        var sha = Sha256Implementations.Get(implementation);
        var message = new byte[1_000_000];
        message.AsSpan().Fill((byte)'a');
        var digest = new byte[32];

        sha.Hash(message, digest);

        Assert.Equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", Convert.ToHexStringLower(digest));
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Hash_RandomLengths0To300_MatchesSystemSha256(string implementation)
    {
        var sha = Sha256Implementations.Get(implementation);
        var random = new Random(20240601);
        var digest = new byte[32];
        var doubleDigest = new byte[32];
        for (var length = 0; length <= 300; length++)
        {
            for (var round = 0; round < 3; round++)
            {
                var message = new byte[length];
                random.NextBytes(message);

                sha.Hash(message, digest);
                sha.DoubleHash(message, doubleDigest);

                Assert.Equal(SHA256.HashData(message), digest);
                Assert.Equal(SHA256.HashData(SHA256.HashData(message)), doubleDigest);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void HashFrom_Midstate_EqualsWholeHash(string implementation)
    {
        var sha = Sha256Implementations.Get(implementation);
        var random = new Random(7);
        var digest = new byte[32];
        for (var i = 0; i < 200; i++)
        {
            var message = new byte[random.Next(0, 400)];
            random.NextBytes(message);
            var prefixLength = random.Next(0, message.Length + 1);

            var state = sha.ComputeMidstate(message.AsSpan(0, prefixLength), out var absorbed);
            sha.HashFrom(ref state, absorbed, message.AsSpan(absorbed), digest);

            Assert.Equal(prefixLength / 64 * 64, absorbed);
            Assert.Equal(SHA256.HashData(message), digest);
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void DoubleHashFixedShapes_MatchSystemSha256Twice(string implementation)
    {
        var sha = Sha256Implementations.Get(implementation);
        var random = new Random(11);
        var digest = new byte[32];
        foreach (var length in new[] { 32, 64, 80 })
        {
            for (var i = 0; i < 50; i++)
            {
                var message = new byte[length];
                random.NextBytes(message);

                switch (length)
                {
                    case 32: sha.DoubleHash32(message, digest); break;
                    case 64: sha.DoubleHash64(message, digest); break;
                    default: sha.DoubleHash80(message, digest); break;
                }

                Assert.Equal(SHA256.HashData(SHA256.HashData(message)), digest);
            }
        }
    }

    [Fact]
    public void Compress_OpenSslAndManaged_AgreeOnRandomStatesAndBlockCounts()
    {
        var openSsl = Sha256Compressor.OpenSsl;
        if (openSsl is null)
        {
            return; // OpenSsl_OnLinux_IsAvailableAndIsTheDefault reports a missing libcrypto on Linux.
        }

        var random = new Random(99);
        // Up to 40 blocks: more than the native path's per-call chunk (16), so the chunking is covered.
        for (var blocks = 0; blocks <= 40; blocks++)
        {
            var data = new byte[blocks * 64];
            random.NextBytes(data);
            var start = RandomState(random);
            var managedState = start;
            var nativeState = start;

            Sha256Compressor.Managed.Compress(ref managedState, data);
            openSsl.Compress(ref nativeState, data);

            Assert.Equal(managedState, nativeState);
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Compress_ManyBlocksAtOnce_EqualsOneBlockAtATime(string implementation)
    {
        var sha = Sha256Implementations.Get(implementation);
        var random = new Random(3);
        var data = new byte[37 * 64];
        random.NextBytes(data);
        var together = Sha256State.Initial;
        var oneByOne = Sha256State.Initial;

        sha.Compress(ref together, data);
        for (var offset = 0; offset < data.Length; offset += 64)
        {
            sha.Compress(ref oneByOne, data.AsSpan(offset, 64));
        }

        Assert.Equal(oneByOne, together);
        Assert.NotEqual(Sha256State.Initial, together);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Compress_PartialBlock_Throws(string implementation)
    {
        var sha = Sha256Implementations.Get(implementation);
        var state = Sha256State.Initial;

        Assert.Throws<ArgumentException>(() => sha.Compress(ref state, new byte[65]));
    }

    [Fact]
    public void Get_UnknownImplementation_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sha256Compressor.Get((Sha256Implementation)42));
    }

    private static Sha256State RandomState(Random random)
    {
        var state = default(Sha256State);
        for (var i = 0; i < 8; i++)
        {
            state[i] = (uint)random.NextInt64(0, 1L << 32);
        }

        return state;
    }
}
