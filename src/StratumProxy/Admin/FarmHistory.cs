using System.Text.Json.Serialization;
using StratumProxy.Farm;

namespace StratumProxy.Admin;

/// <summary>One point of the farm's history: what the running rigs did at one economics evaluation.</summary>
public sealed record FarmPoint(
    DateTimeOffset At,
    double HashrateHashesPerSecond,
    double PowerWatts,
    double RevenueUsdPerDay,
    double PowerCostUsdPerDay,
    double ProfitUsdPerDay,
    double PriceUsd,
    double EnergyUsdPerKwh,
    int RigsRunning,
    int RigsSleeping);

/// <summary>A configured rig's model figures, for comparing what it does with what it is rated for.</summary>
public sealed record RigRating(string Worker, string Model, double NominalTerahashes, double NominalWatts, double JoulesPerTerahash);

/// <summary>GET /api/farm: the farm now (running rigs only: a sleeping rig draws and earns nothing) and each rig's rating.</summary>
public sealed record FarmResponse(FarmPoint? Now, double? ShutdownPriceUsd, double IntervalSeconds, IReadOnlyList<RigRating> Rigs);

/// <summary>GET /api/history: the farm's points over the last hours, oldest first.</summary>
public sealed record HistoryResponse(double IntervalSeconds, IReadOnlyList<FarmPoint> Points);

/// <summary>
/// The farm's totals at each economics evaluation, kept in memory for the status page's charts (the last
/// <see cref="Window"/>; nothing is written to disk: the Prometheus series are the long-term record). Rigs the
/// curtailment loop holds asleep (confirmed, not in dry-run) count as drawing their sleep power and earning nothing,
/// exactly as in /api/economics and the dollar metrics (all three come from <see cref="FarmEconomics.LastRigs"/>).
/// </summary>
public sealed class FarmHistory(FarmEconomics farm, CurtailmentLoop? curtailment)
{
    /// <summary>How far back the history goes.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(6);

    /// <summary>
    /// The curtailment loop whose rig states price the rigs (taken here so it exists, and feeds the farm its states,
    /// before the first point); null without one.
    /// </summary>
    public CurtailmentLoop? Curtailment { get; } = curtailment;

    private readonly Queue<FarmPoint> _points = new();
    private readonly Lock _lock = new();
    private DateTimeOffset? _lastSampled;

    /// <summary>The economics interval (the spacing of the points).</summary>
    public TimeSpan Interval => farm.Options.Interval;

    /// <summary>The farm now, from the last evaluation; null before the first one.</summary>
    public FarmPoint? Current()
    {
        if (farm.LastMarket is not { } market)
        {
            return null;
        }

        // The same rigs and figures as /api/economics and the dollar metrics: a rig held asleep is priced at its sleep
        // power and no revenue there, so it is left out of the running totals here.
        var rigs = farm.LastRigs;
        var running = rigs.Where(r => !r.Asleep).ToList();
        return new FarmPoint(
            market.At,
            running.Sum(r => r.HashrateTerahashes) * 1e12,
            running.Sum(r => r.PowerWatts),
            running.Sum(r => r.RevenueUsdPerDay),
            running.Sum(r => r.PowerCostUsdPerDay),
            running.Sum(r => r.ProfitUsdPerDay),
            market.PriceUsd,
            market.EnergyUsdPerKwh,
            running.Count,
            rigs.Count(r => r.Asleep));
    }

    /// <summary>
    /// The BTC price at which the running farm's revenue would just pay its power at today's other inputs (revenue
    /// is proportional to the price); null when nothing earns.
    /// </summary>
    public static double? ShutdownPrice(FarmPoint? now) =>
        now is { RevenueUsdPerDay: > 0 } p ? p.PriceUsd * p.PowerCostUsdPerDay / p.RevenueUsdPerDay : null;

    /// <summary>Each configured rig's rating (catalog model, or its measured power).</summary>
    public IReadOnlyList<RigRating> Ratings() =>
        [.. farm.Options.Rigs.Select(r => farm.Describe(r.Worker) is { } d
            ? new RigRating(r.Worker, d.Model.Name, d.Model.Nominal.Hashrate.Terahashes, d.Power.Watts, d.Model.Nominal.Hashrate.Terahashes > 0 ? d.Power.Watts / d.Model.Nominal.Hashrate.Terahashes : 0)
            : null).OfType<RigRating>()];

    /// <summary>Adds the current point when the economics evaluated since the last sample.</summary>
    public void Sample()
    {
        if (Current() is not { } point || point.At == _lastSampled)
        {
            return;
        }

        lock (_lock)
        {
            _lastSampled = point.At;
            _points.Enqueue(point);
            while (_points.Count > 0 && point.At - _points.Peek().At > Window)
            {
                _points.Dequeue();
            }
        }
    }

    /// <summary>
    /// The points, oldest first; at most <paramref name="max"/> of them, evenly thinned (every k-th point, the newest
    /// always kept), so a chart over six hours stays a small answer.
    /// </summary>
    public IReadOnlyList<FarmPoint> Points(int max = int.MaxValue)
    {
        FarmPoint[] all;
        lock (_lock)
        {
            all = [.. _points];
        }

        if (max < 2 || all.Length <= max)
        {
            return max < 1 ? [] : all.Length <= max ? all : [all[^1]];
        }

        var stride = (int)Math.Ceiling((all.Length - 1) / (double)(max - 1));
        var thinned = new List<FarmPoint>(max);
        for (var i = (all.Length - 1) % stride; i < all.Length; i += stride)
        {
            thinned.Add(all[i]);
        }

        return thinned;
    }
}

/// <summary>Samples <see cref="FarmHistory"/> once per economics interval.</summary>
public sealed class FarmHistorySampler(FarmHistory history, TimeProvider time) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Twice per interval, so that no evaluation is missed; a point is added only after a new evaluation.
        var period = history.Interval / 2;
        using var timer = new PeriodicTimer(period > TimeSpan.Zero ? period : TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                history.Sample();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}

/// <summary>Source-generated JSON for /api/farm and /api/history (snake_case, like the rest of the admin API).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(FarmResponse))]
[JsonSerializable(typeof(HistoryResponse))]
public sealed partial class FarmHistoryJsonContext : JsonSerializerContext;
