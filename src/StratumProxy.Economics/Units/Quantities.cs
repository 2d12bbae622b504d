using System.Globalization;

namespace StratumProxy.Economics.Units;

// Small unit types so a revenue cannot be added to a power draw by accident. They wrap double on purpose: see
// docs/economics.md ("decimal or double") — the inputs are statistical estimates spanning 1e-10 to 1e20, and the
// engine must evaluate ~10^6 options in milliseconds. Rounding to cents happens only when a figure is shown.
// Within one unit, +, -, × double and the comparisons are QuantityOperators' (IQuantity.cs).

#pragma warning disable CA1036 // The comparison operators are QuantityOperators' extension operators, which CA1036 does not see.

/// <summary>Hash rate in hashes per second.</summary>
public readonly record struct Hashrate(double HashesPerSecond) : IQuantity<Hashrate>
{
    public const double Tera = 1e12;
    public const double Peta = 1e15;
    public const double Exa = 1e18;

    public static Hashrate FromTerahashes(double terahashesPerSecond) => new(terahashesPerSecond * Tera);
    public static Hashrate FromPetahashes(double petahashesPerSecond) => new(petahashesPerSecond * Peta);
    public static Hashrate FromExahashes(double exahashesPerSecond) => new(exahashesPerSecond * Exa);

    public double Terahashes => HashesPerSecond / Tera;
    public double Petahashes => HashesPerSecond / Peta;
    public double Exahashes => HashesPerSecond / Exa;

    double IQuantity<Hashrate>.Value => HashesPerSecond;
    static Hashrate IQuantity<Hashrate>.Of(double value) => new(value);
    public int CompareTo(Hashrate other) => HashesPerSecond.CompareTo(other.HashesPerSecond);
    public override string ToString() => Terahashes.ToString("0.###", CultureInfo.InvariantCulture) + " TH/s";
}

/// <summary>Electrical power in watts.</summary>
public readonly record struct Power(double Watts) : IQuantity<Power>
{
    public static Power FromKilowatts(double kilowatts) => new(kilowatts * 1000.0);
    public double Kilowatts => Watts / 1000.0;

    /// <summary>Energy drawn at this power for <paramref name="duration"/>.</summary>
    public Energy Over(TimeSpan duration) => new(Kilowatts * duration.TotalHours);

    /// <summary>Energy per day: kW × 24 h.</summary>
    public Energy PerDay => new(Kilowatts * 24.0);

    double IQuantity<Power>.Value => Watts;
    static Power IQuantity<Power>.Of(double value) => new(value);
    public int CompareTo(Power other) => Watts.CompareTo(other.Watts);
    public override string ToString() => Watts.ToString("0.#", CultureInfo.InvariantCulture) + " W";
}

/// <summary>Energy in kilowatt-hours.</summary>
public readonly record struct Energy(double KilowattHours) : IQuantity<Energy>
{
    public static Usd operator *(Energy e, UsdPerKwh price) => new(e.KilowattHours * price.Value);

    double IQuantity<Energy>.Value => KilowattHours;
    static Energy IQuantity<Energy>.Of(double value) => new(value);
    public int CompareTo(Energy other) => KilowattHours.CompareTo(other.KilowattHours);
    public override string ToString() => KilowattHours.ToString("0.###", CultureInfo.InvariantCulture) + " kWh";
}

/// <summary>An amount of US dollars.</summary>
public readonly record struct Usd(double Amount) : IQuantity<Usd>
{
    public static readonly Usd Zero;

    /// <summary>Dollars per coin: the price at which <paramref name="coins"/> are worth <paramref name="usd"/>.</summary>
    public static CoinPrice operator /(Usd usd, Coins coins) => new(usd.Amount / coins.Amount);

    /// <summary>Dollars per kWh: the energy price at which <paramref name="energy"/> costs <paramref name="usd"/>.</summary>
    public static UsdPerKwh operator /(Usd usd, Energy energy) => new(usd.Amount / energy.KilowattHours);

    double IQuantity<Usd>.Value => Amount;
    static Usd IQuantity<Usd>.Of(double value) => new(value);
    public int CompareTo(Usd other) => Amount.CompareTo(other.Amount);
    public override string ToString() => "$" + Amount.ToString("0.00", CultureInfo.InvariantCulture);
}

/// <summary>An amount of the mined coin (BTC for Bitcoin), in whole coins.</summary>
public readonly record struct Coins(double Amount) : IQuantity<Coins>
{
    public const long SatoshisPerCoin = 100_000_000;
    public static readonly Coins Zero;
    public static Coins FromSatoshis(long satoshis) => new((double)satoshis / SatoshisPerCoin);

    public static Usd operator *(Coins c, CoinPrice price) => new(c.Amount * price.UsdPerCoin);

    double IQuantity<Coins>.Value => Amount;
    static Coins IQuantity<Coins>.Of(double value) => new(value);
    public int CompareTo(Coins other) => Amount.CompareTo(other.Amount);
    public override string ToString() => Amount.ToString("0.########", CultureInfo.InvariantCulture);
}

/// <summary>The coin's price in US dollars per whole coin.</summary>
public readonly record struct CoinPrice(double UsdPerCoin) : IQuantity<CoinPrice>
{
    double IQuantity<CoinPrice>.Value => UsdPerCoin;
    static CoinPrice IQuantity<CoinPrice>.Of(double value) => new(value);
    public int CompareTo(CoinPrice other) => UsdPerCoin.CompareTo(other.UsdPerCoin);
    public override string ToString() => "$" + UsdPerCoin.ToString("0.00", CultureInfo.InvariantCulture) + "/coin";
}

/// <summary>An electricity price in US dollars per kilowatt-hour.</summary>
public readonly record struct UsdPerKwh(double Value) : IQuantity<UsdPerKwh>
{
    public static UsdPerKwh FromUsdPerMwh(double usdPerMwh) => new(usdPerMwh / 1000.0);
    public double UsdPerMwh => Value * 1000.0;

    static UsdPerKwh IQuantity<UsdPerKwh>.Of(double value) => new(value);
    public int CompareTo(UsdPerKwh other) => Value.CompareTo(other.Value);
    public override string ToString() => "$" + Value.ToString("0.#####", CultureInfo.InvariantCulture) + "/kWh";
}

/// <summary>
/// Network difficulty in the Bitcoin "bdiff" convention: target(diff 1) / target, where target(diff 1) is
/// 0xFFFF × 2^208 (compact 0x1d00ffff).
/// </summary>
public readonly record struct Difficulty(double Value)
{
    /// <summary>2^32: the expected hashes per unit of difficulty used by every public calculator.</summary>
    public const double HashesPerUnit = 4294967296.0;

    /// <summary>The network hash rate that finds one block per <paramref name="spacing"/> at this difficulty.</summary>
    public Hashrate ImpliedNetworkHashrate(TimeSpan spacing) => new(Value * HashesPerUnit / spacing.TotalSeconds);

    /// <summary>The difficulty at which <paramref name="network"/> finds one block per <paramref name="spacing"/>.</summary>
    public static Difficulty FromNetworkHashrate(Hashrate network, TimeSpan spacing) =>
        new(network.HashesPerSecond * spacing.TotalSeconds / HashesPerUnit);

    public override string ToString() => Value.ToString("G6", CultureInfo.InvariantCulture);
}
