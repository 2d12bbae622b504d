using System.Globalization;

namespace StratumProxy.TestKit;

/// <summary>
/// N <see cref="TestMiner"/>s with distinct worker names, started and stopped together, with aggregate counts.
/// Worker names are the template's worker plus a two-digit index: <c>farm.rig</c> gives <c>farm.rig01</c>, <c>farm.rig02</c>, ….
/// </summary>
public sealed class MinerFleet : IAsyncDisposable
{
    private readonly ChangeSignal _changed = new();
    private readonly TestMiner[] _miners;

    /// <param name="count">How many miners.</param>
    /// <param name="template">Options every miner starts from.</param>
    /// <param name="customize">Optional per-miner change (index from 0), e.g. a different id style or version rolling.</param>
    public MinerFleet(int count, TestMinerOptions template, Func<int, TestMinerOptions, TestMinerOptions>? customize = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentNullException.ThrowIfNull(template);
        _miners = new TestMiner[count];
        for (var i = 0; i < count; i++)
        {
            var options = template with { Worker = template.Worker + (i + 1).ToString("00", CultureInfo.InvariantCulture) };
            _miners[i] = new TestMiner(customize?.Invoke(i, options) ?? options, _changed);
        }
    }

    public IReadOnlyList<TestMiner> Miners => _miners;

    public long Submitted => _miners.Sum(m => m.Submitted);

    public long Accepted => _miners.Sum(m => m.Accepted);

    public long Rejected => _miners.Sum(m => m.Rejected);

    public long Pending => _miners.Sum(m => m.Pending);

    public long Unanswered => _miners.Sum(m => m.Unanswered);

    public long UnexpectedAnswers => _miners.Sum(m => m.UnexpectedAnswers);

    public double AcceptedDifficulty => _miners.Sum(m => m.AcceptedDifficulty);

    /// <summary>True when every miner's every submit got exactly one answer.</summary>
    public bool EverySubmitAnsweredOnce => _miners.All(m => m.EverySubmitAnsweredOnce);

    public Task StartAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(_miners.Select(m => m.StartAsync(cancellationToken)));

    /// <summary>Stops every miner's hashing; connections stay open so outstanding answers still arrive.</summary>
    public Task StopHashingAsync() => Task.WhenAll(_miners.Select(m => m.StopHashingAsync()));

    /// <summary>Waits until the fleet has at least <paramref name="total"/> accepted shares.</summary>
    public Task WaitForAcceptedAsync(long total, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(f => f.Accepted >= total, timeout, $"{total.ToString(CultureInfo.InvariantCulture)} accepted in total", cancellationToken);

    /// <summary>Waits until every miner has at least <paramref name="perMiner"/> accepted shares.</summary>
    public Task WaitForEachAcceptedAsync(long perMiner, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(f => f._miners.All(m => m.Accepted >= perMiner), timeout, $"{perMiner.ToString(CultureInfo.InvariantCulture)} accepted per miner", cancellationToken);

    /// <summary>Waits until no miner has a pending submit.</summary>
    public Task WaitForAnswersAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(f => f.Pending == 0, timeout, "no pending submit", cancellationToken);

    public Task WaitUntilAsync(Func<MinerFleet, bool> condition, TimeSpan timeout, string? what = null, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => condition(this), timeout, () => $"fleet waiting for {what ?? "condition"}; " + string.Join(" | ", _miners.Select(m => m.ToString())), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var miner in _miners)
        {
            await miner.DisposeAsync().ConfigureAwait(false);
        }
    }
}
