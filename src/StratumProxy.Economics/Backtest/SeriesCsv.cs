using System.Globalization;
using StratumProxy.Economics.Market;

namespace StratumProxy.Economics.Backtest;

/// <summary>One row of a recorded series; it holds from <see cref="Time"/> until the next row's time.</summary>
/// <param name="Time">When the row starts to hold.</param>
/// <param name="BtcPriceUsd">The bitcoin price, US dollars.</param>
/// <param name="Difficulty">The network difficulty.</param>
/// <param name="FeesBtcPerBlock">Transaction fees a block, bitcoin.</param>
/// <param name="ElectricityUsdPerKwh">The electricity price, US dollars a kilowatt-hour.</param>
/// <param name="SubsidyBtc">The block subsidy, bitcoin.</param>
/// <param name="Line">1-based line number in the file, for messages.</param>
public readonly record struct SeriesRow(
    DateTimeOffset Time,
    double BtcPriceUsd,
    double Difficulty,
    double FeesBtcPerBlock,
    double ElectricityUsdPerKwh,
    double SubsidyBtc,
    int Line);

/// <summary>A series file that cannot be used; the message names the file and, for a bad row, the line.</summary>
public sealed class SeriesFormatException(string message) : FormatException(message);

/// <summary>
/// Reads a backtest series: CSV with a header row naming the columns <c>time</c> (ISO 8601, UTC),
/// <c>btc_price_usd</c>, <c>difficulty</c>, <c>fees_btc_per_block</c>, <c>electricity_usd_per_kwh</c> and optionally
/// <c>subsidy_btc</c>, in any order. Times must increase strictly. Without a subsidy the consensus subsidy at the
/// height estimated from the row's time applies. Parsing only: the caller opens the file.
/// </summary>
public static class SeriesCsv
{
    private static readonly string[] Required = ["time", "btc_price_usd", "difficulty", "fees_btc_per_block", "electricity_usd_per_kwh"];
    private const string Subsidy = "subsidy_btc";

    /// <summary>Parses a series from text; <paramref name="origin"/> (a file name) prefixes every message.</summary>
    public static IReadOnlyList<SeriesRow> Read(TextReader reader, string origin)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var lineNumber = 0;
        string? header;
        do
        {
            header = reader.ReadLine();
            lineNumber++;
        }
        while (header is not null && header.Trim().Length == 0);

        if (header is null)
        {
            throw new SeriesFormatException($"{origin}: empty file (expected a header row: {string.Join(",", Required)}[,{Subsidy}])");
        }

        var names = header.TrimStart('\uFEFF').Split(',');
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            var name = names[i].Trim().ToLowerInvariant();
            if (Array.IndexOf(Required, name) < 0 && name != Subsidy)
            {
                throw new SeriesFormatException($"{origin}:{lineNumber}: unknown column '{names[i].Trim()}' (columns: {string.Join(", ", Required)}, optional {Subsidy})");
            }

            if (!index.TryAdd(name, i))
            {
                throw new SeriesFormatException($"{origin}:{lineNumber}: column '{name}' appears twice");
            }
        }

        foreach (var name in Required)
        {
            if (!index.ContainsKey(name))
            {
                throw new SeriesFormatException($"{origin}:{lineNumber}: missing column '{name}'");
            }
        }

        var subsidyColumn = index.GetValueOrDefault(Subsidy, -1);
        var rows = new List<SeriesRow>();
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var cells = line.Split(',');
            if (cells.Length != names.Length)
            {
                throw new SeriesFormatException($"{origin}:{lineNumber}: {cells.Length} fields, the header has {names.Length}");
            }

            var time = Time(cells[index["time"]], origin, lineNumber);
            if (rows.Count > 0 && time <= rows[^1].Time)
            {
                throw new SeriesFormatException($"{origin}:{lineNumber}: time {time:O} is not after the previous row's {rows[^1].Time:O}");
            }

            var subsidyText = subsidyColumn >= 0 ? cells[subsidyColumn].Trim() : "";
            var subsidy = subsidyText.Length == 0
                ? Coin.Bitcoin.SubsidyAt(HeightEstimate.BitcoinHeightAt(time)).Amount
                : Number(subsidyText, Subsidy, origin, lineNumber, positive: false);
            rows.Add(new SeriesRow(
                time,
                Number(cells[index["btc_price_usd"]], "btc_price_usd", origin, lineNumber, positive: false),
                Number(cells[index["difficulty"]], "difficulty", origin, lineNumber, positive: true),
                Number(cells[index["fees_btc_per_block"]], "fees_btc_per_block", origin, lineNumber, positive: false),
                Number(cells[index["electricity_usd_per_kwh"]], "electricity_usd_per_kwh", origin, lineNumber, positive: false, allowNegative: true),
                subsidy,
                lineNumber));
        }

        if (rows.Count < 2)
        {
            throw new SeriesFormatException($"{origin}: needs at least two rows (each row holds until the next; the last holds as long as the one before it)");
        }

        // The last row holds as long as the interval before it, so that end must be a time too: a last row years
        // ahead (a typo in its year) would put it past the calendar's end.
        var (last, gap) = (rows[^1], rows[^1].Time - rows[^2].Time);
        if (DateTimeOffset.MaxValue - last.Time < gap)
        {
            throw new SeriesFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{origin}:{last.Line}: time {last.Time:O} is {gap.TotalDays:0} days after the previous row, and the last row holds as long as that: past {DateTimeOffset.MaxValue:yyyy-MM-dd}"));
        }

        return rows;
    }

    private static DateTimeOffset Time(string text, string origin, int line)
    {
        var t = text.Trim();
        if (!DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ||
            time.Offset != TimeSpan.Zero || !(t.EndsWith('Z') || t.EndsWith("+00:00", StringComparison.Ordinal)))
        {
            throw new SeriesFormatException($"{origin}:{line}: time '{t}' is not ISO 8601 UTC (e.g. 2026-07-13T00:00:00Z)");
        }

        return time;
    }

    private static double Number(string text, string column, string origin, int line, bool positive, bool allowNegative = false)
    {
        var t = text.Trim();
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
        {
            throw new SeriesFormatException($"{origin}:{line}: {column} '{t}' is not a number");
        }

        // Wholesale energy prices do go negative (ERCOT, CAISO); nothing else in the series may.
        if (!allowNegative && (positive ? !(v > 0) : !(v >= 0)))
        {
            throw new SeriesFormatException($"{origin}:{line}: {column} must be {(positive ? "> 0" : "≥ 0")} (got {t})");
        }

        return v;
    }
}
