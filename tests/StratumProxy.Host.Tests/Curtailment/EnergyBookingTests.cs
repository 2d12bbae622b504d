using StratumProxy.Curtailment;
using StratumProxy.Economics.Calculators;
using StratumProxy.Economics.Market;
using StratumProxy.Economics.Policy;
using StratumProxy.Economics.Pools;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Units;
using StratumProxy.Farm;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed class EnergyBookingTests
{
    [Fact]
    public void Book_AnIntervalWhoseHoursDoNotConvertBackToItsTicks_BooksEveryTickOfIt()
    {
        // About one interval in fifty, as hours in a double, multiplies back to one tick fewer: take the first such
        // interval from 7.6 s on (the time between two evaluations of the end-to-end farm test).
        var ticks = 76_000_000L;
        while (TimeSpan.FromHours(TimeSpan.FromTicks(ticks).TotalHours).Ticks == ticks)
        {
            ticks++;
        }

        var t0 = new DateTimeOffset(2026, 1, 14, 10, 20, 0, TimeSpan.Zero);
        var t1 = t0.AddTicks(ticks);
        var model = new PolicyModel("S19j Pro", [new PowerMode("nominal", Hashrate.FromTerahashes(100), new Power(3050))], RigTransitions.Default);
        var market = new MarketSnapshot(Coin.Bitcoin, new CoinPrice(60_000), new Difficulty(1.1e14), new Coins(3.125), Coins.Zero, t0);
        var booking = new EnergyBooking();
        Assert.Equal(TimeSpan.Zero, booking.Elapsed(t0));
        booking.ObserveRunning("farm.s19", Hashrate.FromTerahashes(100), 0);
        booking.SetRate("farm.s19", RigOption.Off, model, market, [PoolTerms.NoFee], EnergyPrice.Flat(0.08));

        var elapsed = booking.Elapsed(t1);
        var rows = new List<RigHour>();
        booking.Book("farm.s19", t1, elapsed, rows);

        Assert.Equal(t1 - t0, elapsed);
        var row = Assert.Single(rows);
        Assert.Equal(t0, row.Hour);
        Assert.Equal((t1 - t0).TotalHours, row.Hours);
        Assert.Equal(3.05 * (t1 - t0).TotalHours, row.KwhAvoided);
    }
}
