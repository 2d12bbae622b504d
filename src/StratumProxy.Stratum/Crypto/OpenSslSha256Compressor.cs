using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StratumProxy.Stratum.Crypto;

/// <summary>
/// SHA-256 block function from OpenSSL 3's libcrypto (<c>SHA256_Transform</c> for one block, <c>SHA256_Update</c>
/// on a block-aligned context for several), which dispatches to SHA-NI, AVX2 or SSSE3 code as the CPU allows.
/// These are OpenSSL's low-level (deprecated in 3.0, still exported) entry points: unlike the EVP path behind
/// <c>System.Security.Cryptography.SHA256</c> they do no per-call allocation, locking or provider lookup.
/// </summary>
[SkipLocalsInit]
internal sealed unsafe partial class OpenSslSha256Compressor : Sha256Compressor
{
    internal const string LibraryName = "libcrypto.so.3";

    // SuppressGCTransition holds off the GC for the duration of the call, so each native call is bounded:
    // 16 blocks take under 1 µs with SHA-NI and a few µs on the AVX2 fallback.
    private const int MaxBlocksPerCall = 16;

    private OpenSslSha256Compressor()
    {
    }

    public override string Name => "openssl";

    /// <summary>Loads libcrypto, checks the exports and a known answer; null when any of that fails.</summary>
    internal static OpenSslSha256Compressor? TryCreate()
    {
        if (!NativeLibrary.TryLoad(LibraryName, typeof(OpenSslSha256Compressor).Assembly, null, out var handle))
        {
            return null;
        }

        if (!NativeLibrary.TryGetExport(handle, "SHA256_Transform", out _) ||
            !NativeLibrary.TryGetExport(handle, "SHA256_Update", out _))
        {
            return null;
        }

        var candidate = new OpenSslSha256Compressor();
        try
        {
            return candidate.PassesSelfTest() ? candidate : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }

    public override void Compress(ref Sha256State state, ReadOnlySpan<byte> blocks)
    {
        CheckBlocks(blocks.Length);
        if (blocks.IsEmpty)
        {
            return;
        }

        // A fresh SHA256_CTX per call: only h[] carries over. With num == 0 and a block-aligned length,
        // SHA256_Update hands the input straight to the block function without buffering any of it. The state is
        // moved in and out 16 bytes at a time, the width OpenSSL loads and stores it with (store forwarding).
        Unsafe.SkipInit(out Sha256Ctx ctx);
        ref var h = ref Unsafe.As<Sha256State, byte>(ref ctx.H);
        ref var s = ref Unsafe.As<Sha256State, byte>(ref state);
        Vector128.LoadUnsafe(ref s).StoreUnsafe(ref h);
        Vector128.LoadUnsafe(ref s, 16).StoreUnsafe(ref h, 16);

        fixed (byte* data = blocks)
        {
            if (blocks.Length == BlockSize)
            {
                SHA256_Transform(&ctx, data);
            }
            else
            {
                ctx.Nl = 0;
                ctx.Nh = 0;
                ctx.Num = 0;
                ctx.MdLen = DigestSize;
                for (var offset = 0; offset < blocks.Length; offset += MaxBlocksPerCall * BlockSize)
                {
                    var length = Math.Min(blocks.Length - offset, MaxBlocksPerCall * BlockSize);
                    if (SHA256_Update(&ctx, data + offset, (nuint)length) != 1)
                    {
                        ThrowNativeFailure();
                    }
                }
            }
        }

        Vector128.LoadUnsafe(ref h).StoreUnsafe(ref s);
        Vector128.LoadUnsafe(ref h, 16).StoreUnsafe(ref s, 16);
    }

    private static void ThrowNativeFailure() =>
        throw new InvalidOperationException("OpenSSL's SHA256_Update reported a failure.");

    private bool PassesSelfTest()
    {
        // FIPS 180-2 appendix B.1 ("abc") one block, then B.2's two-block message, through both entry points.
        Span<byte> digest = stackalloc byte[DigestSize];
        Span<byte> expected = stackalloc byte[DigestSize];
        Hash("abc"u8, digest);
        Convert.FromHexString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", expected, out _, out _);
        if (!digest.SequenceEqual(expected))
        {
            return false;
        }

        Hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"u8, digest);
        Convert.FromHexString("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", expected, out _, out _);
        return digest.SequenceEqual(expected);
    }

    [LibraryImport(LibraryName)]
    [SuppressGCTransition]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial void SHA256_Transform(Sha256Ctx* ctx, byte* data);

    [LibraryImport(LibraryName)]
    [SuppressGCTransition]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int SHA256_Update(Sha256Ctx* ctx, byte* data, nuint length);

    /// <summary>The public layout of OpenSSL's <c>SHA256_CTX</c> (openssl/sha.h): h[8], Nl, Nh, data[16], num, md_len.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Sha256Ctx
    {
        public Sha256State H;
        public uint Nl;
        public uint Nh;
        public BlockWords Data;
        public uint Num;
        public uint MdLen;
    }

    [InlineArray(16)]
    private struct BlockWords
    {
        private uint _w0;
    }
}
