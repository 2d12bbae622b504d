using System.Globalization;
using Microsoft.Data.Sqlite;

namespace StratumProxy.Curtailment;

/// <summary>One rig's hour in the energy and money ledger.</summary>
public sealed record RigHour(
    string Rig,
    DateTimeOffset Hour,
    double KwhUsed,
    double KwhAvoided,
    double RevenueUsd,
    double CostUsd,
    double SavingsUsd);

/// <summary>
/// The energy and money ledger per rig per hour (kWh used, kWh avoided, revenue, cost, savings from curtailment),
/// kept across restarts in SQLite so an operator can answer "what did curtailment save us last month".
/// Amounts are added to the hour they belong to (an upsert), so the writer can record in any slices it likes.
/// </summary>
public sealed class EnergyLedger : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();

    /// <summary>Opens (or creates) the ledger database.</summary>
    public EnergyLedger(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path != ":memory:")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }

        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS rig_hour (
                rig TEXT NOT NULL,
                hour_utc TEXT NOT NULL,
                kwh_used REAL NOT NULL DEFAULT 0,
                kwh_avoided REAL NOT NULL DEFAULT 0,
                revenue_usd REAL NOT NULL DEFAULT 0,
                cost_usd REAL NOT NULL DEFAULT 0,
                savings_usd REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (rig, hour_utc));
            """;
        create.ExecuteNonQuery();
    }

    /// <summary>Adds amounts to the rigs' hours, in one transaction.</summary>
    public void Add(IEnumerable<RigHour> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO rig_hour (rig, hour_utc, kwh_used, kwh_avoided, revenue_usd, cost_usd, savings_usd)
                VALUES ($rig, $hour, $used, $avoided, $revenue, $cost, $savings)
                ON CONFLICT (rig, hour_utc) DO UPDATE SET
                    kwh_used = kwh_used + excluded.kwh_used,
                    kwh_avoided = kwh_avoided + excluded.kwh_avoided,
                    revenue_usd = revenue_usd + excluded.revenue_usd,
                    cost_usd = cost_usd + excluded.cost_usd,
                    savings_usd = savings_usd + excluded.savings_usd;
                """;
            var rig = command.Parameters.Add("$rig", SqliteType.Text);
            var hour = command.Parameters.Add("$hour", SqliteType.Text);
            var used = command.Parameters.Add("$used", SqliteType.Real);
            var avoided = command.Parameters.Add("$avoided", SqliteType.Real);
            var revenue = command.Parameters.Add("$revenue", SqliteType.Real);
            var cost = command.Parameters.Add("$cost", SqliteType.Real);
            var savings = command.Parameters.Add("$savings", SqliteType.Real);
            foreach (var row in rows)
            {
                rig.Value = row.Rig;
                hour.Value = HourKey(row.Hour);
                used.Value = row.KwhUsed;
                avoided.Value = row.KwhAvoided;
                revenue.Value = row.RevenueUsd;
                cost.Value = row.CostUsd;
                savings.Value = row.SavingsUsd;
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    /// <summary>The rows of the hours in [from, to), optionally of one rig, in time order.</summary>
    public IReadOnlyList<RigHour> Query(DateTimeOffset from, DateTimeOffset to, string? rig = null)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = """
                SELECT rig, hour_utc, kwh_used, kwh_avoided, revenue_usd, cost_usd, savings_usd FROM rig_hour
                WHERE hour_utc >= $from AND hour_utc < $to AND ($rig IS NULL OR rig = $rig)
                ORDER BY hour_utc, rig;
                """;
            command.Parameters.AddWithValue("$from", HourKey(from));
            command.Parameters.AddWithValue("$to", HourKey(to));
            command.Parameters.AddWithValue("$rig", (object?)rig ?? DBNull.Value);
            using var reader = command.ExecuteReader();
            var rows = new List<RigHour>();
            while (reader.Read())
            {
                rows.Add(new RigHour(
                    reader.GetString(0),
                    DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                    reader.GetDouble(2),
                    reader.GetDouble(3),
                    reader.GetDouble(4),
                    reader.GetDouble(5),
                    reader.GetDouble(6)));
            }

            return rows;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _connection.Dispose();
        }
    }

    /// <summary>The hour an instant belongs to, as stored (UTC, ISO 8601, sortable).</summary>
    public static string HourKey(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero).ToString("yyyy-MM-ddTHH:00:00Z", CultureInfo.InvariantCulture);
    }
}
