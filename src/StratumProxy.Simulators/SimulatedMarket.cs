using System.Globalization;

namespace StratumProxy.Simulators;

/// <summary>
/// A compressed-time market: one simulated day passes in <see cref="DayLength"/>. The BTC price drifts in a slow wave,
/// the network difficulty steps up a little every few minutes (a retarget), and the electricity price follows a
/// time-of-use day (night, shoulder, peak, and a short price spike), all as pure functions of the elapsed time.
/// </summary>
public sealed class SimulatedMarket(TimeProvider time, double difficultyScale)
{
    /// <summary>The demo starts late in the simulated night, so the first tariff change comes within a minute.</summary>
    private const double StartOfDay = 0.27;

    private readonly DateTimeOffset _start = time.GetUtcNow() - (DayLength * StartOfDay);

    /// <summary>How long one simulated day lasts.</summary>
    public static TimeSpan DayLength { get; } = TimeSpan.FromMinutes(6);

    /// <summary>Real network difficulty at the start.</summary>
    public const double StartDifficulty = 1.2e14;

    /// <summary>The tariff bands of the simulated day: from (fraction of the day), name, USD per MWh.</summary>
    private static readonly (double From, string Band, double UsdPerMwh)[] Bands =
    [
        (0.00, "night", 38),
        (0.30, "shoulder", 72),
        (0.55, "peak", 128),
        (0.70, "spike", 240),
        (0.78, "peak", 128),
        (0.85, "night", 38),
    ];

    /// <summary>Simulated time elapsed, in simulated days.</summary>
    public double Days => (time.GetUtcNow() - _start) / DayLength;

    /// <summary>BTC price now: 95 000 USD ± 12 % over about three simulated days, with a smaller daily ripple.</summary>
    public double PriceUsd
    {
        get
        {
            var d = Days;
            return Math.Round(95_000 * (1 + (0.12 * Math.Sin(2 * Math.PI * d / 3.2)) + (0.03 * Math.Sin(2 * Math.PI * d * 1.7))), 2);
        }
    }

    /// <summary>The real network difficulty: +1.5 % at every retarget (one every half simulated day).</summary>
    public double NetworkDifficulty => StartDifficulty * Math.Pow(1.015, Math.Floor(Days * 2));

    /// <summary>The difficulty the simulated pools put in their jobs: the network's, scaled as the rigs' hash rate is.</summary>
    public double ScaledDifficulty => NetworkDifficulty * difficultyScale;

    /// <summary>The tariff band and its energy price (USD per MWh) now.</summary>
    public (string Band, double UsdPerMwh) Energy
    {
        get
        {
            var fraction = Days - Math.Floor(Days);
            var current = Bands[0];
            foreach (var band in Bands)
            {
                if (fraction >= band.From)
                {
                    current = band;
                }
            }

            return (current.Band, current.UsdPerMwh);
        }
    }

    /// <summary>The JSON the market endpoint serves: price, energy price and band, difficulty.</summary>
    public string ToJson()
    {
        var energy = Energy;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"btc_usd\":{PriceUsd},\"energy_usd_per_mwh\":{energy.UsdPerMwh},\"band\":\"{energy.Band}\",\"network_difficulty\":{NetworkDifficulty:0},\"simulated_days\":{Days:0.000}}}");
    }
}
