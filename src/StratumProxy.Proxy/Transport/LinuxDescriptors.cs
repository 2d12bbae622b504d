using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The few libc calls the upgrade handover needs (Linux x64 and arm64, glibc or musl: both lay out <c>msghdr</c> and
/// <c>cmsghdr</c> as below on 64-bit). Everything else about sockets stays with <see cref="Socket"/>.
/// </summary>
internal static unsafe partial class LinuxDescriptors
{
    private const string Libc = "libc";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> s_retired = new();

    public const int SolSocket = 1;
    public const int ScmRights = 1;
    public const int SoType = 3;
    public const int SoPeerCred = 17;
    public const int SoAcceptConn = 30;
    public const int MsgDontWait = 0x40;
    public const int MsgCtrunc = 0x8;
    public const int MsgNoSignal = 0x4000;
    public const int MsgCmsgCloexec = 0x40000000;
    public const int OCloexec = 0x80000;
    public const int FDupfdCloexec = 1030;
    public const int FGetfd = 1;
    public const int AfUnix = 1;
    public const int SockStream = 1;
    public const int SockCloexec = 0x80000;

    /// <summary>The kernel's limit of descriptors in one SCM_RIGHTS message (SCM_MAX_FD).</summary>
    public const int MaxDescriptorsPerMessage = 253;

    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int ETooManyRefs = 109;
    public const int ENotSock = 88;

    /// <summary>sizeof(struct cmsghdr): size_t cmsg_len, int cmsg_level, int cmsg_type.</summary>
    public const int CmsgHeaderSize = 16;

    /// <summary>True where the layouts above hold.</summary>
    public static bool IsSupported =>
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    public static int CmsgAlign(int length) => (length + 7) & ~7;

    public static int CmsgSpace(int dataLength) => CmsgHeaderSize + CmsgAlign(dataLength);

    public static int CmsgLen(int dataLength) => CmsgHeaderSize + dataLength;

    /// <summary>A new descriptor (lowest free number) for the same open file, close-on-exec.</summary>
    public static int DuplicateCloseOnExec(int fd)
    {
        var result = Fcntl(fd, FDupfdCloexec, 0);
        return result >= 0 ? result : throw Error("fcntl(F_DUPFD_CLOEXEC)");
    }

    /// <summary>
    /// A fresh Unix stream socket whose peer is already closed: reads on it see EOF at once, and shutdown, disconnect,
    /// linger or close on it reach nobody. Made before a detach changes anything, so running out of descriptors fails
    /// the detach while the connection is still whole.
    /// </summary>
    public static int CreateClosedDummy()
    {
        var pair = stackalloc int[2];
        if (SocketPair(AfUnix, SockStream | SockCloexec, 0, pair) != 0)
        {
            throw Error("socketpair");
        }

        _ = Close(pair[1]);
        return pair[0];
    }

    /// <summary>
    /// Makes descriptor number <paramref name="fd"/> refer to <paramref name="dummy"/> (which is closed under its own
    /// number): whatever is done through <paramref name="fd"/> from now on touches only the dummy, never the file the
    /// number referred to before. dup3 is atomic: a call already inside the kernel on the old file finishes on it.
    /// </summary>
    public static void ReplaceWithDummy(int fd, int dummy)
    {
        try
        {
            while (Dup3(dummy, fd, OCloexec) < 0)
            {
                if (Marshal.GetLastPInvokeError() != EIntr)
                {
                    throw Error("dup3");
                }
            }
        }
        finally
        {
            _ = Close(dummy);
        }
    }

    /// <summary>
    /// Marks <paramref name="fd"/> as the number a socket object of this process held for a file that now lives on
    /// elsewhere (detached). The runtime registered that file with its epoll instance under this number and never
    /// removes registrations itself; the kernel drops one only when the file's last descriptor closes. While the file
    /// lives, epoll refuses a second registration of the same file under the same number (EEXIST), so a socket object
    /// over that file must not get this number again in this process (see <see cref="AvoidRetired"/>).
    /// </summary>
    public static void Retire(int fd) => s_retired.TryAdd(fd, 0);

    /// <summary>
    /// <paramref name="fd"/> itself, or (when it is a retired number, see <see cref="Retire"/>) a duplicate under a
    /// number that is not, with <paramref name="fd"/> closed. Called before a socket object is made over a descriptor
    /// that may be a file this process had registered before (a connection handed back after a failed takeover, or
    /// within one process in tests).
    /// </summary>
    public static int AvoidRetired(int fd)
    {
        if (!s_retired.ContainsKey(fd))
        {
            return fd;
        }

        var held = new List<int>();
        try
        {
            var candidate = DuplicateCloseOnExec(fd);
            while (s_retired.ContainsKey(candidate))
            {
                held.Add(candidate);
                candidate = DuplicateCloseOnExec(fd);
            }

            _ = Close(fd);
            return candidate;
        }
        finally
        {
            foreach (var number in held)
            {
                _ = Close(number);
            }
        }
    }

    public static Exception Error(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }

    /// <summary>The process's open-file limit (the soft one, which the kernel enforces), or null when it cannot be read.</summary>
    public static ulong? OpenFileLimit()
    {
        const int OpenFiles = 7; // RLIMIT_NOFILE
        ResourceLimit limit;
        return GetResourceLimit(OpenFiles, &limit) == 0 ? limit.Current : null;
    }

    [LibraryImport(Libc, EntryPoint = "getrlimit", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int GetResourceLimit(int resource, ResourceLimit* limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport(Libc, EntryPoint = "fcntl", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Libc, EntryPoint = "dup3", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Dup3(int oldFd, int newFd, int flags);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "socketpair", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int SocketPair(int domain, int type, int protocol, int* pair);

    [LibraryImport(Libc, EntryPoint = "sendmsg", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint SendMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport(Libc, EntryPoint = "recvmsg", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint ReceiveMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport(Libc, EntryPoint = "getsockopt", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int GetSocketOption(int fd, int level, int name, int* value, uint* length);

    /// <summary>True when <paramref name="handle"/> is a socket in the listening state (SO_ACCEPTCONN).</summary>
    public static bool IsListeningSocket(SafeHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsClosed || handle.IsInvalid)
        {
            return false;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            int value = 0;
            uint length = sizeof(int);
            return GetSocketOption((int)handle.DangerousGetHandle().ToInt64(), SolSocket, SoAcceptConn, &value, &length) == 0 && value != 0;
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Throws <see cref="IOException"/> unless <paramref name="fd"/> is a stream socket (SO_TYPE): a handed-over
    /// descriptor that is a pipe, a file or a datagram socket is refused when it is adopted, not when it is first read.
    /// </summary>
    public static void EnsureStreamSocket(int fd)
    {
        int type = 0;
        uint length = sizeof(int);
        if (GetSocketOption(fd, SolSocket, SoType, &type, &length) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == ENotSock
                ? new IOException($"descriptor {fd} is not a socket", errno)
                : new IOException($"descriptor {fd}: getsockopt(SO_TYPE) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }

        if (type != SockStream)
        {
            throw new IOException($"descriptor {fd} is a socket of type {type}, not a stream socket");
        }
    }

    [LibraryImport(Libc, EntryPoint = "geteuid")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial uint GetEffectiveUserId();

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (64-bit Linux: the compiler's padding after msg_namelen and msg_flags included).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }
}

/// <summary>
/// A file descriptor this process owns (closed on dispose): a socket received over a <see cref="HandoverChannel"/> or
/// taken from a live connection by <see cref="ProxyConnection.DetachAsync"/>.
/// </summary>
public sealed class DescriptorHandle : SafeHandle
{
    /// <summary>Owns <paramref name="fd"/>.</summary>
    public DescriptorHandle(int fd)
        : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The descriptor number (valid while the handle is open).</summary>
    public int Descriptor => (int)handle.ToInt64();

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LinuxDescriptors.Close((int)handle.ToInt64()) == 0;
}
