using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>The rig's miner: a <see cref="TestMiner"/> that hashes through the proxy while the rig's devices are enabled.</summary>
internal sealed class RigMiner(string worker) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Task> _changes = [];
    private readonly Lock _lock = new();
    private TestMiner? _miner;
    private int _port;

    /// <summary>The rig's worker name.</summary>
    public string Worker => worker;

    /// <summary>The miner while it hashes (null while the rig sleeps).</summary>
    public TestMiner? Miner => _miner;

    /// <summary>The proxy port it points at (0: none yet).</summary>
    public int Port => _port;

    /// <summary>Follows the rig's devices (called on the rig's thread: the work happens elsewhere).</summary>
    public void Follow(bool hashing)
    {
        lock (_lock)
        {
            _changes.Add(Task.Run(() => SetAsync(hashing, null)));
        }
    }

    /// <summary>Points the miner at a (new) proxy.</summary>
    public Task PointAtAsync(int port, bool hashing) => SetAsync(hashing, port);

    public async Task StopAsync()
    {
        Task[] changes;
        lock (_lock)
        {
            changes = [.. _changes];
        }

        await Task.WhenAll(changes);
        await SetAsync(false, null);
    }

    public async ValueTask DisposeAsync()
    {
        await SetAsync(false, null);
        _gate.Dispose();
    }

    private async Task SetAsync(bool hashing, int? port)
    {
        await _gate.WaitAsync();
        try
        {
            if (_miner is not null && (!hashing || (port is { } p && p != _port)))
            {
                await _miner.DisposeAsync();
                _miner = null;
            }

            _port = port ?? _port;
            if (hashing && _miner is null && _port > 0)
            {
                _miner = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = _port, Worker = worker });
                await _miner.StartAsync();
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
