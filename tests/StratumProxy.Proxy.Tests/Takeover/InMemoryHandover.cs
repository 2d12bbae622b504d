using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Takeover;

/// <summary>A "descriptor" of an in-memory connection or listener: the object itself.</summary>
internal sealed class ObjectHandle(object target) : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public object Target { get; } = target;

    public override bool IsInvalid => false;

    protected override bool ReleaseHandle() => true;
}

/// <summary>
/// The descriptor-passing step over in-memory pipes: a detached connection is its pipe (what the session did not read
/// stays in the pipe, so nothing travels as unread bytes), adopting it wraps the same pipe again, and releasing the
/// old connection leaves the pipe open (as closing a socket's old descriptor leaves the peer connected).
/// </summary>
internal sealed class PipeMover(Func<ProxyConnection, bool>? canMove = null) : IConnectionMover
{
    public int Detached { get; private set; }

    /// <summary>When set, adopting a miner connection throws it (a descriptor that cannot be taken in).</summary>
    public Exception? AdoptMinerFailure { get; set; }

    public bool CanMove(ProxyConnection connection) => canMove?.Invoke(connection) ?? true;

    public ValueTask<MovedConnection> DetachAsync(ProxyConnection connection, CancellationToken cancellationToken)
    {
        Detached++;
        return ValueTask.FromResult(new MovedConnection(new ObjectHandle(connection.Transport), []));
    }

    public ValueTask ReleaseAsync(ProxyConnection detached) => ValueTask.CompletedTask;

    /// <summary>Every handle a miner adoption was tried on.</summary>
    public List<SafeHandle> MinerHandles { get; } = [];

    public ProxyConnection AdoptMiner(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength)
    {
        MinerHandles.Add(handle);
        return AdoptMinerFailure is { } failure ? throw failure : Adopt(handle, unreadInput);
    }

    /// <summary>When set, adopting a pool connection throws it (a descriptor that cannot be taken in).</summary>
    public Exception? AdoptPoolFailure { get; set; }

    public ProxyConnection AdoptPool(SafeHandle handle, ReadOnlyMemory<byte> unreadInput, int maxLineLength) =>
        AdoptPoolFailure is { } failure ? throw failure : Adopt(handle, unreadInput);

    public SafeHandle DetachListener(IConnectionListener listener) => new ObjectHandle(listener);

    /// <summary>When set, a handed listener is not one (as a descriptor that is not a listening socket).</summary>
    public bool ListenersAreNot { get; set; }

    /// <summary>When set, adopting a listener throws it (after the check said it was one).</summary>
    public Exception? AdoptListenerFailure { get; set; }

    public bool IsListener(SafeHandle handle) => !ListenersAreNot && ((ObjectHandle)handle).Target is IConnectionListener;

    public IConnectionListener AdoptListener(SafeHandle handle) =>
        AdoptListenerFailure is { } failure ? throw failure : (IConnectionListener)((ObjectHandle)handle).Target;

    private static ProxyConnection Adopt(SafeHandle handle, ReadOnlyMemory<byte> unreadInput)
    {
        Assert.True(unreadInput.IsEmpty);
        return new ProxyConnection((IDuplexPipe)((ObjectHandle)handle).Target, null, null, null);
    }
}

/// <summary>Two ends of an in-memory handover conversation.</summary>
internal sealed class InMemoryHandoverChannel : IHandoverChannel
{
    private readonly Channel<(byte[], IReadOnlyList<SafeHandle>)> _in;
    private readonly Channel<(byte[], IReadOnlyList<SafeHandle>)> _out;

    private InMemoryHandoverChannel(Channel<(byte[], IReadOnlyList<SafeHandle>)> input, Channel<(byte[], IReadOnlyList<SafeHandle>)> output)
    {
        _in = input;
        _out = output;
    }

    /// <summary>Messages this end received (the payloads, for assertions).</summary>
    public List<byte[]> Received { get; } = [];

    public static (InMemoryHandoverChannel Old, InMemoryHandoverChannel New) Pair()
    {
        var a = Channel.CreateUnbounded<(byte[], IReadOnlyList<SafeHandle>)>();
        var b = Channel.CreateUnbounded<(byte[], IReadOnlyList<SafeHandle>)>();
        return (new InMemoryHandoverChannel(a, b), new InMemoryHandoverChannel(b, a));
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, IReadOnlyList<SafeHandle> handles, CancellationToken cancellationToken)
    {
        if (!_out.Writer.TryWrite((payload.ToArray(), [.. handles])))
        {
            throw new IOException("the other side has gone");
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask<(byte[] Payload, IReadOnlyList<SafeHandle> Handles)> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            var message = await _in.Reader.ReadAsync(cancellationToken);
            Received.Add(message.Item1);
            return message;
        }
        catch (ChannelClosedException ex)
        {
            throw new IOException("the other side has gone", ex);
        }
    }

    /// <summary>This end goes away (a process that died): the other side's reads fail.</summary>
    public ValueTask DisposeAsync()
    {
        _out.Writer.TryComplete();
        _in.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
