using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace StratumProxy.Proxy.Transport;

/// <summary>
/// The upgrade handover's wire between the running process and its successor: a Unix domain stream socket carrying
/// messages of a payload (any size) and any number of file descriptors (SCM_RIGHTS). Both ends check that the peer
/// runs as the same user (SO_PEERCRED). One <see cref="SendAsync"/> and one <see cref="ReceiveAsync"/> at a time; a
/// send or receive cancelled in the middle of a message leaves the stream unusable (dispose the channel).
/// </summary>
/// <remarks>
/// A message on the stream: a 16-byte header (magic, payload length, descriptor count, batch count), one byte per
/// batch of at most 253 descriptors (the kernel's limit per message, each batch sent with its byte), then the payload.
/// The receiver reads exactly one message's bytes, so a batch's descriptors arrive with the byte they ride on and
/// never with the next message's.
/// </remarks>
public sealed class HandoverChannel : IAsyncDisposable
{
    private const uint Magic = 0x31485053; // "SPH1" little-endian
    private const int HeaderSize = 16;

    /// <summary>
    /// The largest payload a message may announce: a handover state takes about a kilobyte a session plus the bytes
    /// not read yet, so 100,000 sessions stay well under it, and a bad or hostile header cannot make the receiver
    /// allocate gigabytes.
    /// </summary>
    internal const int DefaultMaxPayloadLength = 512 * 1024 * 1024;

    /// <summary>The most descriptors a message may carry: Linux's default per-process ceiling (fs.nr_open).</summary>
    internal const int DefaultMaxDescriptors = 1024 * 1024;

    private static readonly int s_controlSize = LinuxDescriptors.CmsgSpace(LinuxDescriptors.MaxDescriptorsPerMessage * sizeof(int));

    private readonly Socket _socket;
    private readonly byte[] _control = GC.AllocateArray<byte>(s_controlSize, pinned: true);
    private readonly List<DescriptorHandle> _arrived = [];
    private int _expected;
    private int _disposed;

    private HandoverChannel(Socket socket) => _socket = socket;

    /// <summary>The largest payload <see cref="ReceiveAsync"/> takes (a larger announced one is refused).</summary>
    internal int MaxPayloadLength { get; set; } = DefaultMaxPayloadLength;

    /// <summary>The most descriptors <see cref="ReceiveAsync"/> takes in one message (more are refused and closed).</summary>
    internal int MaxDescriptors { get; set; } = DefaultMaxDescriptors;

    /// <summary>
    /// Listens on <paramref name="path"/> (a stale file there is removed first; the socket file is made 0600). Disposing
    /// the listener deletes the path.
    /// </summary>
    public static HandoverListener Listen(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureSupported();
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (OperatingSystem.IsLinux())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            socket.Listen(4);
            return new HandoverListener(socket, path);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects to a running process's <see cref="Listen"/> path; refuses a listener run by another user.</summary>
    public static async ValueTask<HandoverChannel> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureSupported();
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            CheckPeer(socket);
            return new HandoverChannel(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static HandoverChannel Accepted(Socket socket)
    {
        CheckPeer(socket);
        return new HandoverChannel(socket);
    }

    /// <summary>
    /// Sends one message: <paramref name="payload"/> and <paramref name="handles"/> (duplicated into the peer by the
    /// kernel; the caller keeps and still owns its handles).
    /// </summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, IReadOnlyList<SafeHandle> handles, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handles);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var batches = (handles.Count + LinuxDescriptors.MaxDescriptorsPerMessage - 1) / LinuxDescriptors.MaxDescriptorsPerMessage;
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), handles.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), batches);
        await SendAllAsync(header, cancellationToken).ConfigureAwait(false);

        var descriptors = new int[Math.Min(handles.Count, LinuxDescriptors.MaxDescriptorsPerMessage)];
        for (var batch = 0; batch < batches; batch++)
        {
            var first = batch * LinuxDescriptors.MaxDescriptorsPerMessage;
            var count = Math.Min(LinuxDescriptors.MaxDescriptorsPerMessage, handles.Count - first);
            var referenced = 0;
            try
            {
                for (; referenced < count; referenced++)
                {
                    var added = false;
                    handles[first + referenced].DangerousAddRef(ref added);
                    descriptors[referenced] = (int)handles[first + referenced].DangerousGetHandle().ToInt64();
                }

                await SendBatchAsync(descriptors.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                for (var i = 0; i < referenced; i++)
                {
                    handles[first + i].DangerousRelease();
                }
            }
        }

        await SendAllAsync(payload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The next message. The caller owns the returned handles (dispose the message, or each handle, to close them).
    /// Throws <see cref="EndOfStreamException"/> when the peer closed the channel between messages.
    /// </summary>
    public async ValueTask<HandoverMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            var header = new byte[HeaderSize];
            _expected = 0;
            await ReceiveExactlyAsync(header, atMessageStart: true, cancellationToken).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            {
                throw new InvalidDataException("Not a handover message (bad magic).");
            }

            var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
            var descriptorCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
            var batches = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
            if (payloadLength < 0 || descriptorCount < 0
                || batches != (descriptorCount + LinuxDescriptors.MaxDescriptorsPerMessage - 1) / LinuxDescriptors.MaxDescriptorsPerMessage)
            {
                throw new InvalidDataException("Bad handover message header.");
            }

            if (payloadLength > MaxPayloadLength)
            {
                throw new InvalidDataException($"The handover message announced {payloadLength} bytes; at most {MaxPayloadLength} bytes are taken.");
            }

            if (descriptorCount > MaxDescriptors)
            {
                throw new InvalidDataException($"The handover message announced {descriptorCount} descriptors; at most {MaxDescriptors} descriptors are taken.");
            }

            _expected = descriptorCount;

            if (batches > 0)
            {
                await ReceiveExactlyAsync(new byte[batches], atMessageStart: false, cancellationToken).ConfigureAwait(false);
            }

            var payload = payloadLength == 0 ? [] : GC.AllocateUninitializedArray<byte>(payloadLength);
            await ReceiveExactlyAsync(payload, atMessageStart: false, cancellationToken).ConfigureAwait(false);
            if (_arrived.Count != descriptorCount)
            {
                throw new InvalidDataException($"The message announced {descriptorCount} descriptors and carried {_arrived.Count}.");
            }

            var handles = _arrived.ToArray();
            _arrived.Clear();
            return new HandoverMessage(payload, handles);
        }
        catch
        {
            foreach (var handle in _arrived)
            {
                handle.Dispose();
            }

            _arrived.Clear();
            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    internal static void EnsureSupported()
    {
        if (!LinuxDescriptors.IsSupported)
        {
            throw new PlatformNotSupportedException("The upgrade handover runs on Linux x64 and arm64 only.");
        }
    }

    private static void CheckPeer(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Span<byte> credentials = stackalloc byte[12];
        var length = socket.GetRawSocketOption(LinuxDescriptors.SolSocket, LinuxDescriptors.SoPeerCred, credentials);
        if (length < 12)
        {
            throw new HandoverPeerRefusedException("The peer's credentials could not be read.", -1, uint.MaxValue);
        }

        RequireSameUser(
            BinaryPrimitives.ReadInt32LittleEndian(credentials),
            BinaryPrimitives.ReadUInt32LittleEndian(credentials[4..]),
            LinuxDescriptors.GetEffectiveUserId());
    }

    /// <summary>The peer check: only a process of our own (effective) user may take over or hand over.</summary>
    internal static void RequireSameUser(int peerProcessId, uint peerUserId, uint ourUserId)
    {
        if (peerUserId != ourUserId)
        {
            throw new HandoverPeerRefusedException(
                $"Handover peer refused: process {peerProcessId} runs as uid {peerUserId}, this process as uid {ourUserId}.",
                peerProcessId,
                peerUserId);
        }
    }

    /// <summary>The peer's process id, as the kernel recorded it at connect (for logs).</summary>
    public int PeerProcessId
    {
        get
        {
            Span<byte> credentials = stackalloc byte[12];
            return _socket.GetRawSocketOption(LinuxDescriptors.SolSocket, LinuxDescriptors.SoPeerCred, credentials) >= 4
                ? BinaryPrimitives.ReadInt32LittleEndian(credentials)
                : -1;
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private async ValueTask SendBatchAsync(ReadOnlyMemory<int> descriptors, CancellationToken cancellationToken)
    {
        // sendmsg is called without blocking; when the socket's buffer is full (EAGAIN) or too many descriptors are
        // in flight for this user (ETOOMANYREFS, bounded by RLIMIT_NOFILE) the receiver has not caught up yet: wait a
        // moment and retry. A handover sends a few batches, so this is not a hot path.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var errno = TrySendBatch(descriptors.Span);
            if (errno == 0)
            {
                return;
            }

            if (errno is LinuxDescriptors.EAgain or LinuxDescriptors.ETooManyRefs or LinuxDescriptors.EIntr)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System, cancellationToken).ConfigureAwait(false);
                continue;
            }

            throw new IOException($"sendmsg failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }
    }

    private unsafe int TrySendBatch(ReadOnlySpan<int> descriptors)
    {
        var dataLength = descriptors.Length * sizeof(int);
        var controlLength = LinuxDescriptors.CmsgSpace(dataLength);
        byte marker = 0;
        var control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        *(nuint*)control = (nuint)LinuxDescriptors.CmsgLen(dataLength);
        *(int*)(control + 8) = LinuxDescriptors.SolSocket;
        *(int*)(control + 12) = LinuxDescriptors.ScmRights;
        descriptors.CopyTo(new Span<int>(control + LinuxDescriptors.CmsgHeaderSize, descriptors.Length));

        var vector = new LinuxDescriptors.IoVector { Base = &marker, Length = 1 };
        var message = new LinuxDescriptors.MessageHeader
        {
            Vectors = &vector,
            VectorCount = 1,
            Control = control,
            ControlLength = (nuint)controlLength,
        };

        var added = false;
        _socket.SafeHandle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)_socket.SafeHandle.DangerousGetHandle().ToInt64();
            var sent = LinuxDescriptors.SendMessage(fd, &message, LinuxDescriptors.MsgDontWait | LinuxDescriptors.MsgNoSignal);
            return sent == 1 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            _socket.SafeHandle.DangerousRelease();
        }
    }

    private async ValueTask ReceiveExactlyAsync(Memory<byte> target, bool atMessageStart, CancellationToken cancellationToken)
    {
        var received = 0;
        while (received < target.Length)
        {
            // A zero-byte receive waits for data without taking any (the runtime peeks one byte on Unix), so the
            // descriptors riding on the next byte are left for recvmsg below.
            await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            var count = TryReceive(target.Span[received..], out var errno);
            if (count > 0)
            {
                received += count;
            }
            else if (count == 0)
            {
                throw atMessageStart && received == 0
                    ? new EndOfStreamException("The handover peer closed the channel.")
                    : new EndOfStreamException("The handover peer closed the channel in the middle of a message.");
            }
            else if (errno is not (LinuxDescriptors.EAgain or LinuxDescriptors.EIntr))
            {
                throw new IOException($"recvmsg failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
            }
        }
    }

    private unsafe int TryReceive(Span<byte> target, out int errno)
    {
        errno = 0;
        fixed (byte* data = target)
        fixed (byte* control = _control)
        {
            var vector = new LinuxDescriptors.IoVector { Base = data, Length = (nuint)target.Length };
            var message = new LinuxDescriptors.MessageHeader
            {
                Vectors = &vector,
                VectorCount = 1,
                Control = control,
                ControlLength = (nuint)_control.Length,
            };

            nint count;
            var added = false;
            _socket.SafeHandle.DangerousAddRef(ref added);
            try
            {
                var fd = (int)_socket.SafeHandle.DangerousGetHandle().ToInt64();
                count = LinuxDescriptors.ReceiveMessage(fd, &message, LinuxDescriptors.MsgDontWait | LinuxDescriptors.MsgCmsgCloexec);
                if (count < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return -1;
                }
            }
            finally
            {
                _socket.SafeHandle.DangerousRelease();
            }

            TakeDescriptors(control, (int)message.ControlLength);
            if ((message.Flags & LinuxDescriptors.MsgCtrunc) != 0)
            {
                throw new IOException("Handover descriptors were truncated by the kernel (control buffer too small).");
            }

            if (_arrived.Count > _expected)
            {
                // Refused as they come, so a peer cannot pile up descriptors in this process (they are closed).
                throw new InvalidDataException($"The handover message announced {_expected} descriptors and carried more.");
            }

            return (int)count;
        }
    }

    private unsafe void TakeDescriptors(byte* control, int length)
    {
        var offset = 0;
        while (offset + LinuxDescriptors.CmsgHeaderSize <= length)
        {
            var cmsgLength = (int)*(nuint*)(control + offset);
            var level = *(int*)(control + offset + 8);
            var type = *(int*)(control + offset + 12);
            if (cmsgLength < LinuxDescriptors.CmsgHeaderSize || offset + cmsgLength > length)
            {
                break;
            }

            if (level == LinuxDescriptors.SolSocket && type == LinuxDescriptors.ScmRights)
            {
                var count = (cmsgLength - LinuxDescriptors.CmsgHeaderSize) / sizeof(int);
                var fds = (int*)(control + offset + LinuxDescriptors.CmsgHeaderSize);
                for (var i = 0; i < count; i++)
                {
                    _arrived.Add(new DescriptorHandle(fds[i]));
                }
            }

            offset += LinuxDescriptors.CmsgAlign(cmsgLength);
        }
    }
}

/// <summary>One handover message: its payload and the descriptors that came with it (owned by the receiver).</summary>
public sealed record HandoverMessage(byte[] Payload, IReadOnlyList<SafeHandle> Handles) : IDisposable
{
    /// <summary>Closes every handle not yet taken (an adopted handle is already invalid and is skipped).</summary>
    public void Dispose()
    {
        foreach (var handle in Handles)
        {
            handle.Dispose();
        }
    }
}

/// <summary>The running process's end of <see cref="HandoverChannel.Listen"/>.</summary>
public sealed class HandoverListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private int _disposed;

    internal HandoverListener(Socket socket, string path)
    {
        _socket = socket;
        Path = path;
    }

    /// <summary>The socket file.</summary>
    public string Path { get; }

    /// <summary>
    /// The next successor process. Throws <see cref="HandoverPeerRefusedException"/> (after closing that connection)
    /// when the peer runs as another user; the caller logs it and may accept again.
    /// </summary>
    public async ValueTask<HandoverChannel> AcceptAsync(CancellationToken cancellationToken)
    {
        var client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return HandoverChannel.Accepted(client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Stops listening and deletes the socket file.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
            try
            {
                File.Delete(Path);
            }
            catch (IOException)
            {
                // Already gone or replaced: nothing of ours to remove.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>A handover peer that runs as another user (or whose credentials cannot be read) was refused.</summary>
public sealed class HandoverPeerRefusedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HandoverPeerRefusedException(string message, int peerProcessId, uint peerUserId)
        : base(message)
    {
        PeerProcessId = peerProcessId;
        PeerUserId = peerUserId;
    }

    /// <summary>The peer's process id (-1 when unknown).</summary>
    public int PeerProcessId { get; }

    /// <summary>The peer's user id (uint.MaxValue when unknown).</summary>
    public uint PeerUserId { get; }
}
