using Microsoft.Extensions.Options;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Proxy.Components;

/// <summary>Settings of <see cref="VarDiffController"/>; one instance is shared by every session of a listener.</summary>
public sealed class VarDiffOptions
{
    /// <summary>The rules of these settings: the first broken one, named by its setting.</summary>
    public static IValidateOptions<VarDiffOptions> Validator { get; } = OptionsGuard.Rule<VarDiffOptions>(FirstProblem);

    /// <summary>Difficulty a miner starts at before the first retarget (<c>--start-difficulty</c>).</summary>
    public double StartDifficulty { get; init; } = 16384;

    /// <summary>Lowest difficulty; fractions below 1 are allowed (CPU miners, test rigs: e.g. 0.001).</summary>
    public double MinDifficulty { get; init; } = 1;

    /// <summary>Highest difficulty.</summary>
    public double MaxDifficulty { get; init; } = 1L << 42;

    /// <summary>The share interval vardiff aims at (by default one share per 10 s).</summary>
    public TimeSpan TargetShareInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Minimum time between two retargets driven by time (see <see cref="SampleCount"/> for the other trigger).</summary>
    public TimeSpan RetargetInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>No change while the mean interval stays within target ± this percentage.</summary>
    public double VariancePercent { get; init; } = 30;

    /// <summary>One retarget changes the difficulty by at most this factor up or down.</summary>
    public double MaxStepFactor { get; init; } = 16;

    /// <summary>Size of the ring of recent share intervals; this many shares since the last retarget also trigger one.</summary>
    public int SampleCount { get; init; } = 10;

    /// <summary>Round to a power of two (many ASIC firmwares mishandle other values); on by default.</summary>
    public bool PowerOfTwo { get; init; } = true;

    private static string? FirstProblem(VarDiffOptions o)
    {
        if (!(o.MinDifficulty > 0) || double.IsInfinity(o.MinDifficulty))
        {
            return $"MinDifficulty must be a positive number (got {o.MinDifficulty})";
        }

        if (!(o.MaxDifficulty >= o.MinDifficulty) || double.IsInfinity(o.MaxDifficulty))
        {
            return $"MaxDifficulty ({o.MaxDifficulty}) must be finite and at least MinDifficulty ({o.MinDifficulty})";
        }

        if (!(o.StartDifficulty >= o.MinDifficulty && o.StartDifficulty <= o.MaxDifficulty))
        {
            return $"StartDifficulty ({o.StartDifficulty}) must lie within MinDifficulty..MaxDifficulty ({o.MinDifficulty}..{o.MaxDifficulty})";
        }

        if (o.TargetShareInterval <= TimeSpan.Zero)
        {
            return "TargetShareInterval must be positive";
        }

        if (o.RetargetInterval <= TimeSpan.Zero)
        {
            return "RetargetInterval must be positive";
        }

        if (!(o.VariancePercent is >= 0 and < 100))
        {
            return $"VariancePercent must be in 0..100 (got {o.VariancePercent})";
        }

        if (!(o.MaxStepFactor > 1) || double.IsInfinity(o.MaxStepFactor))
        {
            return $"MaxStepFactor must be a finite number above 1 (got {o.MaxStepFactor})";
        }

        return o.SampleCount is < 1 or > 1024 ? $"SampleCount must be in 1..1024 (got {o.SampleCount})" : null;
    }
}

/// <summary>
/// Per-miner variable difficulty in the shape of miningcore's VarDiffManager (STYLE.md §3 #5): a ring of the last
/// share intervals, a target interval ± variance, a retarget interval, a maximum step and min/max bounds, driven by
/// <see cref="TimeProvider.GetTimestamp"/> values instead of a wall clock.
/// </summary>
/// <remarks>
/// <para><b>On a share</b> (<see cref="OnShare"/>): the first share only starts the clock. Every later share pushes
/// its interval into the ring. A retarget is due when <see cref="VarDiffOptions.RetargetInterval"/> has passed since
/// the last one, or when <see cref="VarDiffOptions.SampleCount"/> shares arrived since it — the second rule corrects a
/// miner flooding at a too-low start difficulty within a few shares instead of a whole interval. When due, with mean
/// interval <c>t̄</c> over the ring and target <c>T</c>: if <c>t̄</c> is within <c>T·(1 ± variance)</c> nothing
/// changes; otherwise <c>new = current · T / t̄</c> (the hashrate is <c>current·2³²/t̄</c>, and <c>T</c> seconds of it
/// are worth <c>new</c>), limited to <c>current ÷ MaxStepFactor .. current × MaxStepFactor</c>, then rounded and
/// bounded (see <see cref="Clamp"/>). A change clears the ring: intervals found at the old difficulty say nothing
/// about the new one.</para>
/// <para><b>On idle</b> (<see cref="OnIdle"/>, from a periodic sweep): a miner silent for a whole retarget interval
/// (at the right difficulty the chance of that is e^-(RetargetInterval/T), 0.25 % with the defaults) gets
/// <c>new = current · T / silence</c>. The silence is a lower bound of its true interval, so this only lowers, and
/// does so conservatively; the next sweep lowers again if it stays silent.</para>
/// <para><b>suggest_difficulty</b> (<see cref="Suggest"/>) sets the difficulty within bounds and restarts the
/// measurement; vardiff keeps working from there.</para>
/// <para><b>Threads and allocation:</b> shares come from the session's read loop and idle sweeps from a timer, so
/// both take a per-miner lock (uncontended in practice); the sweep uses TryEnter and skips a miner that is busy, as
/// miningcore does. The ring is allocated once; nothing allocates per share.</para>
/// <para>The controller only says what the difficulty should be; the session sends mining.set_difficulty with the
/// next job, and when the pool's difficulty is below the miner's the miner works at the pool's.</para>
/// </remarks>
public sealed class VarDiffController : IDifficultyClamp
{
    // The last settings made, shared by every controller made with the same options and clock (all of a proxy's
    // sessions): what follows from the options is computed and held once, not once per miner.
    private static Settings? s_last;

    private readonly Settings _settings;

    // The per-miner lock is the ring's own monitor (the ring is private and never handed out): one object less per
    // session than a Lock of its own. The intervals are whole milliseconds (vardiff aims at seconds; a silence longer
    // than 24 days counts as 24 days): 40 bytes a miner less than clock ticks.
    private readonly int[] _intervals;
    private int _ringNext;
    private int _ringCount;
    private int _sharesSinceRetarget;
    private bool _primed;
    private long _lastShare;
    private long _lastRetarget;
    private double _current;

    /// <param name="options">Validated settings (throws <see cref="ArgumentException"/> with the reason otherwise).</param>
    /// <param name="time">Clock; tests pass a FakeTimeProvider.</param>
    /// <param name="startDifficulty">Overrides <see cref="VarDiffOptions.StartDifficulty"/> (bounded and rounded).</param>
    public VarDiffController(VarDiffOptions options, TimeProvider time, double? startDifficulty = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var settings = Volatile.Read(ref s_last);
        if (settings is null || !ReferenceEquals(settings.Options, options) || !ReferenceEquals(settings.Time, time))
        {
            OptionsGuard.ThrowIfInvalid(VarDiffOptions.Validator, options);
            settings = new Settings(options, time);
            Volatile.Write(ref s_last, settings);
        }

        _settings = settings;
        _intervals = new int[options.SampleCount];
        _current = Clamp(startDifficulty ?? options.StartDifficulty);
        _lastRetarget = time.GetTimestamp();
        _lastShare = _lastRetarget;
    }

    /// <summary>The difficulty the miner should work at now.</summary>
    public double Current
    {
        get
        {
            lock (_intervals)
            {
                return _current;
            }
        }
    }

    /// <summary>
    /// Records an accepted share at <paramref name="timestamp"/> (from <see cref="TimeProvider.GetTimestamp"/>).
    /// Returns the new difficulty when a retarget changed it, else null.
    /// </summary>
    public double? OnShare(long timestamp)
    {
        lock (_intervals)
        {
            if (!_primed)
            {
                _primed = true;
                _lastShare = timestamp;
                return null;
            }

            // A clock never runs backwards here, but a caller passing a stale timestamp must not poison the ring.
            var interval = Math.Max(0, timestamp - _lastShare);
            _lastShare = Math.Max(_lastShare, timestamp);
            _intervals[_ringNext] = (int)Math.Min(int.MaxValue, interval * 1000.0 / _settings.Frequency);
            _ringNext = (_ringNext + 1) % _intervals.Length;
            _ringCount = Math.Min(_ringCount + 1, _intervals.Length);
            _sharesSinceRetarget++;

            if (timestamp - _lastRetarget < _settings.RetargetTicks && _sharesSinceRetarget < _intervals.Length)
            {
                return null;
            }

            long sum = 0;
            for (var i = 0; i < _ringCount; i++)
            {
                sum += _intervals[i];
            }

            var mean = sum / 1000.0 / _ringCount;
            _lastRetarget = timestamp;
            _sharesSinceRetarget = 0;
            if (mean >= _settings.LowSeconds && mean <= _settings.HighSeconds)
            {
                return null;
            }

            // A burst of shares with the same timestamp has mean 0: treat it as "as fast as measurable".
            var ratio = mean > 0 ? _settings.TargetSeconds / mean : _settings.Options.MaxStepFactor;
            return Apply(_current * ratio, timestamp);
        }
    }

    /// <summary>
    /// Periodic sweep: lowers the difficulty of a miner that has sent nothing for a retarget interval. Returns the new
    /// difficulty, or null when nothing changed or the miner's lock was busy (the next sweep will look again).
    /// </summary>
    public double? OnIdle(long timestamp)
    {
        if (!Monitor.TryEnter(_intervals))
        {
            return null;
        }

        try
        {
            var silence = timestamp - _lastShare;
            if (silence < _settings.RetargetTicks || timestamp - _lastRetarget < _settings.RetargetTicks)
            {
                return null;
            }

            var proposed = _current * _settings.TargetSeconds / (silence / _settings.Frequency);
            if (proposed >= _current)
            {
                return null;
            }

            return Apply(proposed, timestamp);
        }
        finally
        {
            Monitor.Exit(_intervals);
        }
    }

    /// <summary>
    /// Honours mining.suggest_difficulty: the suggestion bounded to min/max (and rounded when powers of two are on)
    /// becomes the current difficulty and the measurement restarts. Returns the difficulty now in force.
    /// </summary>
    public double Suggest(double difficulty)
    {
        lock (_intervals)
        {
            if (double.IsNaN(difficulty) || difficulty <= 0)
            {
                return _current;
            }

            _current = Clamp(difficulty);
            Restart(_settings.Time.GetTimestamp());
            return _current;
        }
    }

    /// <summary>
    /// Bounds and, when <see cref="VarDiffOptions.PowerOfTwo"/> is on, rounds a difficulty: the nearest power of two
    /// (in log scale) when it lies within min..max, else the power of two closest to the violated bound on the inside,
    /// and only when no power of two fits in min..max the bound itself. So bounds always hold exactly.
    /// </summary>
    public double Clamp(double difficulty)
    {
        var min = _settings.Options.MinDifficulty;
        var max = _settings.Options.MaxDifficulty;
        var bounded = Math.Clamp(difficulty, min, max);
        if (!_settings.Options.PowerOfTwo)
        {
            return bounded;
        }

        var rounded = Math.Pow(2, Math.Round(Math.Log2(bounded)));
        if (rounded > max)
        {
            rounded = Math.Pow(2, Math.Floor(Math.Log2(max)));
        }
        else if (rounded < min)
        {
            rounded = Math.Pow(2, Math.Ceiling(Math.Log2(min)));
        }

        return rounded >= min && rounded <= max ? rounded : bounded;
    }

    private double? Apply(double proposed, long timestamp)
    {
        var step = _settings.Options.MaxStepFactor;
        var limited = Math.Clamp(proposed, _current / step, _current * step);
        var next = Clamp(limited);
        if (next == _current)
        {
            return null;
        }

        _current = next;
        Restart(timestamp);
        return next;
    }

    private void Restart(long timestamp)
    {
        _ringCount = 0;
        _ringNext = 0;
        _sharesSinceRetarget = 0;
        _lastRetarget = timestamp;

        // Silence is measured from the change too: the miner has only been asked for the new difficulty since now.
        _lastShare = Math.Max(_lastShare, timestamp);
    }

    /// <summary>What follows from the options and the clock, the same for every miner.</summary>
    private sealed class Settings
    {
        public Settings(VarDiffOptions options, TimeProvider time)
        {
            Options = options;
            Time = time;
            Frequency = time.TimestampFrequency;
            RetargetTicks = (long)(options.RetargetInterval.TotalSeconds * Frequency);
            TargetSeconds = options.TargetShareInterval.TotalSeconds;
            LowSeconds = TargetSeconds * (1 - (options.VariancePercent / 100));
            HighSeconds = TargetSeconds * (1 + (options.VariancePercent / 100));
        }

        public VarDiffOptions Options { get; }

        public TimeProvider Time { get; }

        public double Frequency { get; }

        public long RetargetTicks { get; }

        public double TargetSeconds { get; }

        public double LowSeconds { get; }

        public double HighSeconds { get; }
    }
}
