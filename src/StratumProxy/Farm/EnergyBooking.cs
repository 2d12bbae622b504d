using StratumProxy.Curtailment;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Units;

namespace StratumProxy.Farm;

/// <summary>
/// Energy and money per rig-hour: each interval between two evaluations is booked in the state the earlier one left
/// the rig in, at that evaluation's market, pool and energy price (the inputs its decision was made on). A rig whose
/// state is unknown is not booked for the intervals it stays unknown, and the first evaluation after a start books
/// nothing (the proxy was not watching before it). Used only from inside an evaluation (evaluations never overlap),
/// so it holds no lock.
/// </summary>
public sealed class EnergyBooking
{
    private readonly Dictionary<string, BookingRate> _rates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Hashrate Hashrate, int Pool)> _runningBasis = new(StringComparer.Ordinal);
    private DateTimeOffset? _lastEvaluation;

    /// <summary>
    /// The time since the previous evaluation (at most an hour; none for the first), and marks this one. A span of
    /// ticks, not hours in a double: hours turned back into a span lose a tick about one time in fifty, and the ledger
    /// would then book an interval shorter than the one between the two evaluations.
    /// </summary>
    public TimeSpan Elapsed(DateTimeOffset now)
    {
        var elapsed = _lastEvaluation is { } last ? TimeSpan.FromTicks(Math.Clamp((now - last).Ticks, 0, TimeSpan.TicksPerHour)) : TimeSpan.Zero;
        _lastEvaluation = now;
        return elapsed;
    }

    /// <summary>What a running rig earns, and so what a sleep forgoes: kept, since a sleep resets the measure.</summary>
    public void ObserveRunning(string worker, Hashrate hashrate, int pool) => _runningBasis[worker] = (hashrate, pool);

    /// <summary>Books the <paramref name="elapsed"/> before <paramref name="now"/> at the rig's last rate, if it has one.</summary>
    public void Book(string worker, DateTimeOffset now, TimeSpan elapsed, List<RigHour> rows)
    {
        if (elapsed > TimeSpan.Zero && _rates.TryGetValue(worker, out var rate))
        {
            rate.Book(worker, now, elapsed, rows);
        }
    }

    /// <summary>Sets the rate of the interval up to the next evaluation from the state the rig is left in.</summary>
    public void SetRate(string worker, RigOption current, PolicyModel model, MarketSnapshot market, IReadOnlyList<PoolTerms> pools, EnergyPrice energy)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pools);
        var modes = model.Modes;
        var nominal = modes[current.IsOff ? 0 : Math.Clamp(current.Mode, 0, modes.Count - 1)];
        var power = nominal.Power;
        var basis = _runningBasis.TryGetValue(worker, out var kept) ? kept : (Hashrate: default(Hashrate), Pool: 0);
        var hashrate = basis.Hashrate.HashesPerSecond > 0 ? basis.Hashrate : nominal.Hashrate;
        var pool = Math.Clamp(current.IsOff ? basis.Pool : current.Pool, 0, Math.Max(0, pools.Count - 1));
        var economics = MiningCalculator.Evaluate(hashrate, power, market, pools.Count > 0 ? pools[pool] : PoolTerms.NoFee, energy);
        _rates[worker] = new BookingRate(current.IsOff, power.Watts / 1000, economics.RevenuePerDay.Amount, economics.PowerCostPerDay.Amount, economics.ProfitPerDay.Amount);
    }

    /// <summary>Stops booking a rig (its state is unknown, or it is no longer managed).</summary>
    public void Forget(string worker) => _rates.Remove(worker);

    /// <summary>A rig's energy and money per day in the state an evaluation left it in.</summary>
    private readonly record struct BookingRate(bool Off, double Kilowatts, double RevenuePerDay, double CostPerDay, double ProfitPerDay)
    {
        /// <summary>Books the <paramref name="elapsed"/> before <paramref name="now"/>, split at hour boundaries.</summary>
        public void Book(string worker, DateTimeOffset now, TimeSpan elapsed, List<RigHour> rows)
        {
            var end = now;
            var start = now - elapsed;
            while (end > start)
            {
                var hourStart = new DateTimeOffset(end.UtcDateTime.Year, end.UtcDateTime.Month, end.UtcDateTime.Day, end.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
                if (hourStart == end)
                {
                    hourStart = hourStart.AddHours(-1);
                }

                var sliceStart = hourStart > start ? hourStart : start;
                var slice = (end - sliceStart).TotalHours;
                var at = sliceStart;
                rows.Add((Off
                    ? new RigHour(worker, at, 0, Kilowatts * slice, 0, 0, -ProfitPerDay * slice / 24)
                    : new RigHour(worker, at, Kilowatts * slice, 0, RevenuePerDay * slice / 24, CostPerDay * slice / 24, 0)) with { Hours = slice });
                end = sliceStart;
            }
        }
    }
}
