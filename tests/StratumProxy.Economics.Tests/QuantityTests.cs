using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tests;

public sealed class QuantityTests
{
    [Fact]
    public void Quantity_SameUnitArithmetic_ActsOnTheAmount()
    {
        Assert.Equal(new Usd(7.5), new Usd(5) + new Usd(2.5));
        Assert.Equal(new Usd(2.5), new Usd(5) - new Usd(2.5));
        Assert.Equal(new Usd(-5), -new Usd(5));
        Assert.Equal(new Power(3000), new Power(1500) * 2);
        Assert.Equal(Hashrate.FromTerahashes(300), Hashrate.FromTerahashes(100) + Hashrate.FromTerahashes(200));
        Assert.Equal(new Energy(36), new Energy(12) * 3);
        Assert.Equal(new Coins(0.75), new Coins(0.5) + new Coins(0.25));
        Assert.Equal(0.05, (new UsdPerKwh(0.08) - new UsdPerKwh(0.03)).Value, 1e-15);
    }

    [Fact]
    public void Quantity_Comparisons_OrderByTheAmount()
    {
        Assert.True(new Power(100) < new Power(200));
        Assert.False(new Power(200) < new Power(100));
        Assert.True(new Usd(-1) > new Usd(-2));
        Assert.True(new CoinPrice(60_000) >= new CoinPrice(60_000));
        Assert.False(new CoinPrice(60_000) > new CoinPrice(60_000));
        Assert.True(new UsdPerKwh(0.08) <= new UsdPerKwh(0.08));
        Assert.False(new UsdPerKwh(0.09) <= new UsdPerKwh(0.08));

        Hashrate[] rates = [Hashrate.FromTerahashes(200), Hashrate.FromTerahashes(100), Hashrate.FromTerahashes(150)];
        Array.Sort(rates);
        Assert.Equal([Hashrate.FromTerahashes(100), Hashrate.FromTerahashes(150), Hashrate.FromTerahashes(200)], rates);
    }

    [Fact]
    public void Quantity_CrossUnitProducts_GiveTheOtherUnit()
    {
        Assert.Equal(6.72, (new Power(3500).PerDay * new UsdPerKwh(0.08)).Amount, 1e-12);
        Assert.Equal(120, (new Coins(0.002) * new CoinPrice(60_000)).Amount, 1e-9);
        Assert.Equal(new CoinPrice(60_000), new Usd(120) / new Coins(0.002));
    }
}
