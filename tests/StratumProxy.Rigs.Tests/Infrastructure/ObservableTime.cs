using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace StratumProxy.Rigs.Tests.Infrastructure;

/// <summary>
/// A FakeTimeProvider that reports each timer it creates, so a test advances the clock exactly when the code under test
/// is waiting on a given delay (read-back pause, back-off) instead of sleeping or guessing.
/// </summary>
internal sealed class ObservableTime : TimeProvider
{
    private readonly Channel<TimeSpan> _created = Channel.CreateUnbounded<TimeSpan>();

    public ObservableTime(DateTimeOffset start) => Fake = new FakeTimeProvider(start);

    public ObservableTime()
        : this(new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public FakeTimeProvider Fake { get; }

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        _created.Writer.TryWrite(dueTime);
        return timer;
    }

    public void Advance(TimeSpan by) => Fake.Advance(by);

    /// <summary>Waits (bounded by a real-time guard) until a timer with this due time exists, then advances past it.</summary>
    public async Task AdvanceWhenWaitingAsync(TimeSpan due)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var next = await _created.Reader.ReadAsync(guard.Token);
            if (next == due)
            {
                Fake.Advance(due);
                return;
            }
        }
    }
}
