using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Transport;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HandoverChannelTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("handover-").FullName;

    private string SocketPath => Path.Combine(_directory, "handover.sock");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Channel_600DescriptorsAndA300KiBPayload_ArriveInOrderAndWhole()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var files = Enumerable.Range(0, 600).Select(i => Path.Combine(_directory, $"f{i}")).ToArray();
        var handles = new List<SafeHandle>();
        foreach (var file in files)
        {
            handles.Add(File.OpenHandle(file, FileMode.CreateNew, FileAccess.ReadWrite));
        }

        var payload = new byte[300 * 1024];
        new Random(7).NextBytes(payload);

        await using var listener = HandoverChannel.Listen(SocketPath);
        var accepting = listener.AcceptAsync(timeout.Token);
        await using var client = await HandoverChannel.ConnectAsync(SocketPath, timeout.Token);
        await using var server = await accepting;

        var receiving = client.ReceiveAsync(timeout.Token);
        await server.SendAsync(payload, handles, timeout.Token);
        await server.SendAsync("second"u8.ToArray(), [handles[5]], timeout.Token);
        using var first = await receiving;
        using var second = await client.ReceiveAsync(timeout.Token);

        Assert.Equal(payload, first.Payload);
        Assert.Equal(files.Length, first.Handles.Count);
        for (var i = 0; i < files.Length; i++)
        {
            // The received descriptor is another number for the same open file.
            var fd = (int)first.Handles[i].DangerousGetHandle();
            Assert.NotEqual((int)handles[i].DangerousGetHandle(), fd);
            Assert.Equal(files[i], new FileInfo($"/proc/self/fd/{fd}").LinkTarget);
        }

        Assert.Equal("second"u8.ToArray(), second.Payload);
        Assert.Equal(files[5], new FileInfo($"/proc/self/fd/{(int)second.Handles[0].DangerousGetHandle()}").LinkTarget);

        // The sender still owns its handles: they stay open and usable after sending.
        RandomAccess.Write((SafeFileHandle)handles[0], "kept"u8, 0);
        foreach (var handle in handles)
        {
            handle.Dispose();
        }
    }

    [Fact]
    public async Task Channel_ReceivedDescriptorsAreCloseOnExec()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var file = File.OpenHandle(Path.Combine(_directory, "f"), FileMode.CreateNew, FileAccess.ReadWrite);
        await using var listener = HandoverChannel.Listen(SocketPath);
        var accepting = listener.AcceptAsync(timeout.Token);
        await using var client = await HandoverChannel.ConnectAsync(SocketPath, timeout.Token);
        await using var server = await accepting;

        await server.SendAsync(ReadOnlyMemory<byte>.Empty, [file], timeout.Token);
        using var message = await client.ReceiveAsync(timeout.Token);

        Assert.Empty(message.Payload);
        var flags = File.ReadAllLines($"/proc/self/fdinfo/{(int)message.Handles[0].DangerousGetHandle()}")
            .Single(line => line.StartsWith("flags:", StringComparison.Ordinal));
        var octal = Convert.ToInt32(flags["flags:".Length..].Trim(), 8);
        Assert.NotEqual(0, octal & 0x80000); // O_CLOEXEC, from MSG_CMSG_CLOEXEC
    }

    [Fact]
    public async Task Channel_AConnectedTcpSocketCrossesAndKeepsServingThePeer()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcpListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tcpListener.Listen();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(tcpListener.LocalEndPoint!, timeout.Token);
        var original = await tcpListener.AcceptAsync(timeout.Token);

        await using var listener = HandoverChannel.Listen(SocketPath);
        var accepting = listener.AcceptAsync(timeout.Token);
        await using var client = await HandoverChannel.ConnectAsync(SocketPath, timeout.Token);
        await using var server = await accepting;
        await server.SendAsync("conn"u8.ToArray(), [original.SafeHandle], timeout.Token);
        using var message = await client.ReceiveAsync(timeout.Token);

        // Closing the sender's copy (no operation pending on it) leaves the connection to the received descriptor.
        original.Dispose();

        var fd = message.Handles[0].DangerousGetHandle();
        message.Handles[0].SetHandleAsInvalid();
        using var adopted = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        await peer.SendAsync("ping"u8.ToArray(), timeout.Token);
        var buffer = new byte[4];
        Assert.Equal(4, await adopted.ReceiveAsync(buffer, timeout.Token));
        Assert.Equal("ping"u8.ToArray(), buffer);
        await adopted.SendAsync("pong"u8.ToArray(), timeout.Token);
        Assert.Equal(4, await peer.ReceiveAsync(buffer, timeout.Token));
        Assert.Equal("pong"u8.ToArray(), buffer);
    }

    [Fact]
    public async Task Listen_AStaleSocketFile_IsReplacedAndTheNewFileIsOwnerOnly()
    {
        await File.WriteAllTextAsync(SocketPath, "stale", CancellationToken.None);

        await using (var listener = HandoverChannel.Listen(SocketPath))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));
        }

        Assert.False(File.Exists(SocketPath));
    }

    [Fact]
    public void RequireSameUser_AnotherUid_IsRefusedWithTheTypedException()
    {
        HandoverChannel.RequireSameUser(42, 1000, 1000);

        var refused = Assert.Throws<HandoverPeerRefusedException>(() => HandoverChannel.RequireSameUser(42, 1001, 1000));

        Assert.Equal(42, refused.PeerProcessId);
        Assert.Equal(1001u, refused.PeerUserId);
    }

    [Fact]
    public async Task Receive_ThePeerClosesBetweenMessages_ThrowsEndOfStream()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var listener = HandoverChannel.Listen(SocketPath);
        var accepting = listener.AcceptAsync(timeout.Token);
        await using var client = await HandoverChannel.ConnectAsync(SocketPath, timeout.Token);
        var server = await accepting;
        await server.DisposeAsync();

        await Assert.ThrowsAsync<EndOfStreamException>(async () => await client.ReceiveAsync(timeout.Token));
    }
    [Fact]
    public async Task Receive_APayloadOverTheCap_IsRefusedBeforeItIsRead()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var listener = HandoverChannel.Listen(SocketPath);
        var accepting = listener.AcceptAsync(timeout.Token);
        await using var client = await HandoverChannel.ConnectAsync(SocketPath, timeout.Token);
        await using var server = await accepting;
        client.MaxPayloadLength = 1024;

        await server.SendAsync(new byte[1025], [], timeout.Token);
        var refused = await Assert.ThrowsAsync<InvalidDataException>(async () => await client.ReceiveAsync(timeout.Token));

        Assert.Contains("announced 1025 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Contains("at most 1024 bytes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Receive_MoreDescriptorsThanTheCap_IsRefused_AndNoneStaysOpenInTheReceiver()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var files = Enumerable.Range(0, 3).Select(i => Path.Combine(_directory, $"f{i}")).ToArray();
        var handles = files.Select(f => (SafeHandle)File.OpenHandle(f, FileMode.CreateNew, FileAccess.ReadWrite)).ToList();
        await using var listener = HandoverChannel.Listen(SocketPath);
        var accepting = listener.AcceptAsync(timeout.Token);
        var client = await HandoverChannel.ConnectAsync(SocketPath, timeout.Token);
        await using var server = await accepting;
        client.MaxDescriptors = 2;

        await server.SendAsync("state"u8.ToArray(), handles, timeout.Token);
        var refused = await Assert.ThrowsAsync<InvalidDataException>(async () => await client.ReceiveAsync(timeout.Token));
        await client.DisposeAsync();

        Assert.Contains("announced 3 descriptors", refused.Message, StringComparison.Ordinal);
        Assert.Contains("at most 2 descriptors", refused.Message, StringComparison.Ordinal);
        // Only the sender's own three handles are open on the files.
        Assert.Equal(3, OpenDescriptorsOn(files));
        foreach (var handle in handles)
        {
            handle.Dispose();
        }
    }

    [Fact]
    public async Task IsListener_OnlyAListeningSocket_IsOne()
    {
        using var listening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listening.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listening.Listen();
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var connected = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await connected.ConnectAsync(listening.LocalEndPoint!);
        using var file = File.OpenHandle(Path.Combine(_directory, "f"), FileMode.CreateNew, FileAccess.ReadWrite);
        var mover = StratumProxy.Proxy.Takeover.SocketMover.Instance;

        Assert.True(mover.IsListener(listening.SafeHandle));
        Assert.False(mover.IsListener(bound.SafeHandle));
        Assert.False(mover.IsListener(connected.SafeHandle));
        Assert.False(mover.IsListener(file));
    }

    private static int OpenDescriptorsOn(string[] files) =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(fd =>
        {
            try
            {
                return files.Contains(fd.LinkTarget, StringComparer.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        });
}
