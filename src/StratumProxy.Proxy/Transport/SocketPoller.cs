using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// One epoll instance, and one thread waiting on it, for the miners' plain TCP sockets (Linux). A socket whose reader
/// waits for its peer is armed once (a one-shot registration); when the kernel reports it readable, or ended, the
/// reader is queued to the thread pool and receives with a plain non-blocking <c>recv</c>. A socket holds a slot here
/// from its first wait to its end, and nothing else: no socket context, event args or pending operation of the
/// runtime's, which an idle connection otherwise keeps for as long as it waits (about 700 bytes).
/// </summary>
/// <remarks>
/// An event names its socket by slot and generation, so an event still on its way for a slot that was freed and given
/// to another socket wakes nobody, and a reader woken when nothing is there (a spurious wake) just waits again.
/// </remarks>
internal sealed unsafe partial class SocketPoller
{
    private const string Libc = "libc";
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const int EpollCtlMod = 3;
    private const uint EpollIn = 0x001;
    private const uint EpollRdHup = 0x2000;
    private const uint EpollOneShot = 1u << 30;
    private const int EpollCloexec = 0x80000;
    private const int OnNonBlock = 0x800;
    private const int FGetfl = 3;
    private const int FSetfl = 4;
    private const int EBadF = 9;
    private const int EExist = 17;
    private const int Batch = 256;

    private static readonly Lock s_sharedLock = new();
    private static SocketPoller? s_shared;

    // struct epoll_event is packed on x86-64 (12 bytes, data at 4) and naturally aligned on arm64 (16 bytes, data at 8).
    private static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly int _epoll;
    private readonly Lock _lock = new();
    private Slot[] _slots = new Slot[1024];
    private int _freeSlot = -1;
    private int _usedSlots;
    private int _registered;

    internal SocketPoller()
    {
        _epoll = EpollCreate1(EpollCloexec);
        if (_epoll < 0)
        {
            throw LinuxDescriptors.Error("epoll_create1");
        }

        new Thread(Run) { IsBackground = true, Name = "Miner sockets (epoll)" }.Start();
    }

    /// <summary>
    /// The process's poller; null where it does not run (not Linux x64 or arm64), or while it cannot be made (out of
    /// descriptors: the connection then waits with the runtime's receive, and the next one tries again).
    /// </summary>
    public static SocketPoller? Shared
    {
        get
        {
            var shared = Volatile.Read(ref s_shared);
            if (shared is not null || !LinuxDescriptors.IsSupported)
            {
                return shared;
            }

            lock (s_sharedLock)
            {
                try
                {
                    return s_shared ??= new SocketPoller();
                }
                catch (IOException)
                {
                    return null;
                }
            }
        }
    }

    /// <summary>Sockets registered now (armed or between two waits).</summary>
    public int Registered => Volatile.Read(ref _registered);

    /// <summary>Sockets the kernel holds registered in this poller's epoll (from /proc; for tests).</summary>
    internal int KernelRegistrations() =>
        File.ReadLines($"/proc/self/fdinfo/{_epoll}").Count(line => line.StartsWith("tfd:", StringComparison.Ordinal));

    /// <summary>Makes the socket non-blocking, so <see cref="Receive"/> and <see cref="Send"/> never wait.</summary>
    public static void SetNonBlocking(SafeSocketHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)handle.DangerousGetHandle().ToInt64();
            var flags = LinuxDescriptors.Fcntl(fd, FGetfl, 0);
            if (flags < 0 || ((flags & OnNonBlock) == 0 && LinuxDescriptors.Fcntl(fd, FSetfl, flags | OnNonBlock) < 0))
            {
                throw LinuxDescriptors.Error("fcntl(O_NONBLOCK)");
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Receives what the kernel holds into <paramref name="buffer"/>: the byte count (0: the peer's FIN), or -1 when
    /// it holds nothing yet. Throws <see cref="SocketException"/> for a reset or any other socket error, and
    /// <see cref="ObjectDisposedException"/> once the socket is closed.
    /// </summary>
    public static int Receive(SafeSocketHandle handle, Span<byte> buffer)
    {
        while (true)
        {
            nint received;
            fixed (byte* bytes = &MemoryMarshal.GetReference(buffer))
            {
                received = Recv(handle, bytes, (nuint)buffer.Length, 0);
            }

            if (received >= 0)
            {
                return (int)received;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == LinuxDescriptors.EAgain)
            {
                return -1;
            }

            if (errno != LinuxDescriptors.EIntr)
            {
                throw SocketError(errno);
            }
        }
    }

    /// <summary>
    /// Sends as much of <paramref name="buffer"/> as the kernel takes now: the byte count, 0 when it takes nothing
    /// (the socket's send buffer is full). Throws as <see cref="Receive"/> does.
    /// </summary>
    public static int Send(SafeSocketHandle handle, ReadOnlySpan<byte> buffer)
    {
        while (true)
        {
            nint sent;
            fixed (byte* bytes = &MemoryMarshal.GetReference(buffer))
            {
                sent = SendTo(handle, bytes, (nuint)buffer.Length, LinuxDescriptors.MsgNoSignal);
            }

            if (sent >= 0)
            {
                return (int)sent;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == LinuxDescriptors.EAgain)
            {
                return 0;
            }

            if (errno != LinuxDescriptors.EIntr)
            {
                throw SocketError(errno);
            }
        }
    }

    /// <summary>
    /// Arms the socket for one wake: <paramref name="waiter"/> is queued to the thread pool once it is readable (bytes,
    /// its FIN or an error). <paramref name="registration"/> is the socket's registration (0 before the first arm),
    /// updated. Throws <see cref="ObjectDisposedException"/> once the socket is closed, <see cref="IOException"/> when
    /// the kernel refuses (out of memory, or the per-user limit of watched sockets).
    /// </summary>
    public void Arm(SafeSocketHandle handle, ref long registration, IThreadPoolWorkItem waiter)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)handle.DangerousGetHandle().ToInt64();
            if (registration != 0)
            {
                if (Control(EpollCtlMod, fd, registration) == 0)
                {
                    return;
                }

                throw LinuxDescriptors.Error("epoll_ctl(MOD)");
            }

            var token = Take(waiter);
            var result = Control(EpollCtlAdd, fd, token);
            if (result != 0 && Marshal.GetLastPInvokeError() == EExist)
            {
                // Registered under this number by an earlier owner of the same socket that did not remove it.
                result = Control(EpollCtlMod, fd, token);
            }

            if (result != 0)
            {
                var error = LinuxDescriptors.Error("epoll_ctl(ADD)");
                Free(token);
                throw error;
            }

            registration = token;
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>Takes the socket out of the epoll (no new wake), keeping its slot until <see cref="Unregister"/>.</summary>
    public void Remove(SafeSocketHandle handle, long registration)
    {
        if (registration == 0)
        {
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            _ = Control(EpollCtlDel, (int)handle.DangerousGetHandle().ToInt64(), 0);
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Removes the socket's registration (no wake comes after this returns, except one already on its way, which finds
    /// the slot freed) and sets <paramref name="registration"/> to 0. A closed socket's registration went with its last
    /// descriptor: only the slot is freed then.
    /// </summary>
    public void Unregister(SafeSocketHandle handle, ref long registration)
    {
        if (registration == 0)
        {
            return;
        }

        Remove(handle, registration);
        Free(registration);
        registration = 0;
    }

    private static SocketException SocketError(int errno) => new((int)(errno switch
    {
        104 => System.Net.Sockets.SocketError.ConnectionReset,
        103 => System.Net.Sockets.SocketError.ConnectionAborted,
        110 => System.Net.Sockets.SocketError.TimedOut,
        32 => System.Net.Sockets.SocketError.Shutdown,
        107 => System.Net.Sockets.SocketError.NotConnected,
        113 => System.Net.Sockets.SocketError.HostUnreachable,
        101 => System.Net.Sockets.SocketError.NetworkUnreachable,
        100 => System.Net.Sockets.SocketError.NetworkDown,
        EBadF or LinuxDescriptors.ENotSock => System.Net.Sockets.SocketError.NotSocket,
        _ => System.Net.Sockets.SocketError.SocketError,
    }));

    private int Control(int operation, int fd, long token)
    {
        var ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, EpollIn | EpollRdHup | EpollOneShot);
        Unsafe.WriteUnaligned(ev + s_dataOffset, token);
        return EpollCtl(_epoll, operation, fd, ev);
    }

    private long Take(IThreadPoolWorkItem waiter)
    {
        lock (_lock)
        {
            int index;
            if (_freeSlot >= 0)
            {
                index = _freeSlot;
                _freeSlot = _slots[index].NextFree;
            }
            else
            {
                if (_usedSlots == _slots.Length)
                {
                    var larger = new Slot[_slots.Length * 2];
                    _slots.CopyTo(larger, 0);
                    Volatile.Write(ref _slots, larger);
                }

                index = _usedSlots++;
            }

            ref var slot = ref _slots[index];
            slot.Waiter = waiter;

            // Generations start at 1, so a registration is never 0.
            slot.Generation = slot.Generation == int.MaxValue ? 1 : slot.Generation + 1;
            _registered++;
            return ((long)slot.Generation << 32) | (uint)index;
        }
    }

    private void Free(long token)
    {
        var index = (int)(uint)token;
        lock (_lock)
        {
            ref var slot = ref _slots[index];
            if (slot.Generation != (int)(token >> 32) || slot.Waiter is null)
            {
                return;
            }

            slot.Waiter = null;
            slot.NextFree = _freeSlot;
            _freeSlot = index;
            _registered--;
        }
    }

    private void Run()
    {
        var events = (byte*)NativeMemory.Alloc((nuint)(Batch * s_eventSize));
        while (true)
        {
            var count = EpollWait(_epoll, events, Batch, -1);
            if (count < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == LinuxDescriptors.EIntr)
                {
                    continue;
                }

                Environment.FailFast($"epoll_wait on the miner sockets failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }

            var slots = Volatile.Read(ref _slots);
            for (var i = 0; i < count; i++)
            {
                var token = Unsafe.ReadUnaligned<long>(events + (i * s_eventSize) + s_dataOffset);
                var index = (int)(uint)token;
                if ((uint)index >= (uint)slots.Length)
                {
                    continue;
                }

                // Read without the lock: a slot freed (or reused) meanwhile wakes nobody, or its new owner for nothing.
                var waiter = Volatile.Read(ref slots[index].Waiter);
                if (waiter is not null && Volatile.Read(ref slots[index].Generation) == (int)(token >> 32))
                {
                    ThreadPool.UnsafeQueueUserWorkItem(waiter, preferLocal: false);
                }
            }
        }
    }

    [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int EpollCreate1(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int EpollCtl(int epoll, int operation, int fd, byte* ev);

    [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int EpollWait(int epoll, byte* events, int maxEvents, int timeout);

    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial nint Recv(SafeSocketHandle fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Libc, EntryPoint = "send", SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial nint SendTo(SafeSocketHandle fd, byte* buffer, nuint length, int flags);

    private struct Slot
    {
        public IThreadPoolWorkItem? Waiter;
        public int Generation;
        public int NextFree;
    }
}
