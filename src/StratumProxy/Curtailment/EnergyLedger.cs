using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using StratumProxy.Store;

namespace StratumProxy.Curtailment;

/// <summary>One rig's hour in the energy and money ledger.</summary>
public sealed record RigHour(
    string Rig,
    DateTimeOffset Hour,
    double KwhUsed,
    double KwhAvoided,
    double RevenueUsd,
    double CostUsd,
    double SavingsUsd)
{
    /// <summary>The hours of the rig's time this row books (kept by the shared store, which checks that none is booked twice).</summary>
    public double Hours { get; init; }
}

/// <summary>
/// What the curtailment loop last did to a rig and last heard from it: kept in its memory, in the ledger and the store,
/// and shown on every view of the rig.
/// </summary>
/// <param name="LastCommand">The last command sent (sleep, wake, mode_change, pool_switch).</param>
/// <param name="LastOutcome">Its outcome (confirmed, unconfirmed, failed, unreachable, unsupported, dry_run).</param>
/// <param name="LastCommandAt">When it was sent.</param>
/// <param name="LastReadAt">When the rig last answered a status read.</param>
/// <param name="LastAgreedAt">The last read that agreed with memory (a disagreement happened after it).</param>
/// <param name="LastDisagreement">found_awake, found_asleep or unreachable.</param>
/// <param name="LastDisagreementAt">When.</param>
public sealed record RigTrail(
    string? LastCommand = null,
    string? LastOutcome = null,
    DateTimeOffset? LastCommandAt = null,
    DateTimeOffset? LastReadAt = null,
    DateTimeOffset? LastAgreedAt = null,
    string? LastDisagreement = null,
    DateTimeOffset? LastDisagreementAt = null)
{
    /// <summary>Nothing done or heard yet.</summary>
    public static RigTrail None { get; } = new();
}

/// <summary>
/// What the curtailment loop remembers of one rig between evaluations and across restarts: the state it left the rig
/// in (or found it in), since when (the dwell clock), the last command and its outcome, the last read-back and the
/// last disagreement between memory and rig.
/// </summary>
/// <param name="Rig">The worker name.</param>
/// <param name="State">running, sleeping or unknown.</param>
/// <param name="Pool">The pool it runs on (by name), when running.</param>
/// <param name="Mode">The power mode index, when running.</param>
/// <param name="Since">The last off↔on change: the dwell clock.</param>
/// <param name="Trail">The last command, read-back and disagreement.</param>
public sealed record RigMemory(string Rig, string State, string? Pool, int Mode, DateTimeOffset Since, RigTrail Trail)
{
    /// <summary>The columns a store selects a rig's memory by, in the order <see cref="ReadAll"/> reads them.</summary>
    public const string Columns = """
        rig, state, pool, mode, since_utc, last_command, last_outcome, last_command_utc, last_read_utc,
        last_agreed_utc, last_disagreement, last_disagreement_utc
        """;

    /// <summary>
    /// Reads every row of a query that selected <see cref="Columns"/>, by rig; <paramref name="instant"/> reads a
    /// stored instant the way the store keeps it (null for NULL).
    /// </summary>
    public static Dictionary<string, RigMemory> ReadAll(DbDataReader reader, Func<DbDataReader, int, DateTimeOffset?> instant)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(instant);
        var memory = new Dictionary<string, RigMemory>(StringComparer.Ordinal);
        while (reader.Read())
        {
            var row = new RigMemory(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt32(3),
                instant(reader, 4)!.Value,
                new RigTrail(
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    instant(reader, 7),
                    instant(reader, 8),
                    instant(reader, 9),
                    reader.IsDBNull(10) ? null : reader.GetString(10),
                    instant(reader, 11)));
            memory[row.Rig] = row;
        }

        return memory;
    }
}

/// <summary>
/// The energy and money ledger per rig per hour (kWh used, kWh avoided, revenue, cost, savings from curtailment),
/// kept across restarts in SQLite so an operator can answer "what did curtailment save us last month".
/// Amounts are added to the hour they belong to (an upsert), so the writer can record in any slices it likes.
/// It also keeps the curtailment loop's memory (<see cref="RigMemory"/> per rig and a few loop-wide values such as the
/// strike-price timers). The database runs in WAL mode and each <see cref="Commit(FarmCommit)"/> is one transaction, so a process
/// killed at any moment leaves the last committed evaluation whole and nothing of the next one.
/// </summary>
public sealed class EnergyLedger : IFarmStore
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
            PRAGMA synchronous = FULL;
            CREATE TABLE IF NOT EXISTS rig_hour (
                rig TEXT NOT NULL,
                hour_utc TEXT NOT NULL,
                kwh_used REAL NOT NULL DEFAULT 0,
                kwh_avoided REAL NOT NULL DEFAULT 0,
                revenue_usd REAL NOT NULL DEFAULT 0,
                cost_usd REAL NOT NULL DEFAULT 0,
                savings_usd REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (rig, hour_utc));
            CREATE TABLE IF NOT EXISTS rig_memory (
                rig TEXT NOT NULL PRIMARY KEY,
                state TEXT NOT NULL,
                pool TEXT NULL,
                mode INTEGER NOT NULL DEFAULT 0,
                since_utc TEXT NOT NULL,
                last_command TEXT NULL,
                last_outcome TEXT NULL,
                last_command_utc TEXT NULL,
                last_read_utc TEXT NULL,
                last_agreed_utc TEXT NULL,
                last_disagreement TEXT NULL,
                last_disagreement_utc TEXT NULL);
            CREATE TABLE IF NOT EXISTS loop_memory (
                key TEXT NOT NULL PRIMARY KEY,
                value TEXT NULL);
            """;
        create.ExecuteNonQuery();
    }

    /// <inheritdoc/>
    public bool Shared => false;

    /// <inheritdoc/>
    /// <remarks>One instance owns this file: there is no epoch to check, and the audit trail is the log file.</remarks>
    public void Commit(FarmCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        Commit(commit.Rows, commit.Memory, commit.Forget, commit.Values);
    }

    /// <summary>Adds amounts to the rigs' hours, in one transaction.</summary>
    public void Add(IEnumerable<RigHour> rows) => Commit(rows, [], [], new Dictionary<string, string?>());

    /// <summary>
    /// One evaluation's booking, in one transaction: amounts added to the rigs' hours, the memory of every rig
    /// written (replaced), the memory of rigs no longer managed deleted, and loop-wide values set.
    /// </summary>
    public void Commit(IEnumerable<RigHour> rows, IEnumerable<RigMemory> memory, IEnumerable<string> forget, IReadOnlyDictionary<string, string?> values)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(forget);
        ArgumentNullException.ThrowIfNull(values);
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            AddRows(transaction, rows);
            SaveMemory(transaction, memory);
            using (var delete = _connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM rig_memory WHERE rig = $rig;";
                var rig = delete.Parameters.Add("$rig", SqliteType.Text);
                foreach (var name in forget)
                {
                    rig.Value = name;
                    delete.ExecuteNonQuery();
                }
            }

            using (var set = _connection.CreateCommand())
            {
                set.Transaction = transaction;
                set.CommandText = "INSERT INTO loop_memory (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;";
                var key = set.Parameters.Add("$key", SqliteType.Text);
                var value = set.Parameters.Add("$value", SqliteType.Text);
                foreach (var pair in values)
                {
                    key.Value = pair.Key;
                    value.Value = (object?)pair.Value ?? DBNull.Value;
                    set.ExecuteNonQuery();
                }
            }

            transaction.Commit();
        }
    }

    /// <summary>The memory of every rig, as last committed.</summary>
    public IReadOnlyDictionary<string, RigMemory> LoadMemory()
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"SELECT {RigMemory.Columns} FROM rig_memory;";
            using var reader = command.ExecuteReader();
            return RigMemory.ReadAll(reader, static (r, column) => r.IsDBNull(column) ? null : Instant(r.GetString(column)));
        }
    }

    /// <summary>The loop-wide values, as last committed.</summary>
    public IReadOnlyDictionary<string, string?> LoadValues()
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT key, value FROM loop_memory;";
            using var reader = command.ExecuteReader();
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            while (reader.Read())
            {
                values[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
            }

            return values;
        }
    }

    /// <summary>An instant as stored (UTC, round-trip ISO 8601).</summary>
    public static string InstantKey(DateTimeOffset instant) => instant.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Reads an instant stored by <see cref="InstantKey"/>.</summary>
    public static DateTimeOffset Instant(string stored) =>
        DateTimeOffset.Parse(stored, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private void AddRows(SqliteTransaction transaction, IEnumerable<RigHour> rows) => ExecuteForEach(
        transaction,
        """
        INSERT INTO rig_hour (rig, hour_utc, kwh_used, kwh_avoided, revenue_usd, cost_usd, savings_usd)
        VALUES ($rig, $hour, $used, $avoided, $revenue, $cost, $savings)
        ON CONFLICT (rig, hour_utc) DO UPDATE SET
            kwh_used = kwh_used + excluded.kwh_used,
            kwh_avoided = kwh_avoided + excluded.kwh_avoided,
            revenue_usd = revenue_usd + excluded.revenue_usd,
            cost_usd = cost_usd + excluded.cost_usd,
            savings_usd = savings_usd + excluded.savings_usd;
        """,
        rows,
        ("$rig", SqliteType.Text, row => row.Rig),
        ("$hour", SqliteType.Text, row => HourKey(row.Hour)),
        ("$used", SqliteType.Real, row => row.KwhUsed),
        ("$avoided", SqliteType.Real, row => row.KwhAvoided),
        ("$revenue", SqliteType.Real, row => row.RevenueUsd),
        ("$cost", SqliteType.Real, row => row.CostUsd),
        ("$savings", SqliteType.Real, row => row.SavingsUsd));

    private void SaveMemory(SqliteTransaction transaction, IEnumerable<RigMemory> memory) => ExecuteForEach(
        transaction,
        """
        INSERT OR REPLACE INTO rig_memory (rig, state, pool, mode, since_utc, last_command, last_outcome, last_command_utc,
            last_read_utc, last_agreed_utc, last_disagreement, last_disagreement_utc)
        VALUES ($rig, $state, $pool, $mode, $since, $command, $outcome, $commandAt, $readAt, $agreedAt, $disagreement, $disagreementAt);
        """,
        memory,
        ("$rig", SqliteType.Text, row => row.Rig),
        ("$state", SqliteType.Text, row => row.State),
        ("$pool", SqliteType.Text, row => OrNull(row.Pool)),
        ("$mode", SqliteType.Integer, row => row.Mode),
        ("$since", SqliteType.Text, row => InstantKey(row.Since)),
        ("$command", SqliteType.Text, row => OrNull(row.Trail.LastCommand)),
        ("$outcome", SqliteType.Text, row => OrNull(row.Trail.LastOutcome)),
        ("$commandAt", SqliteType.Text, row => OptionalInstantKey(row.Trail.LastCommandAt)),
        ("$readAt", SqliteType.Text, row => OptionalInstantKey(row.Trail.LastReadAt)),
        ("$agreedAt", SqliteType.Text, row => OptionalInstantKey(row.Trail.LastAgreedAt)),
        ("$disagreement", SqliteType.Text, row => OrNull(row.Trail.LastDisagreement)),
        ("$disagreementAt", SqliteType.Text, row => OptionalInstantKey(row.Trail.LastDisagreementAt)));

    /// <summary>A value of a nullable column: null is stored as NULL (a null for a NOT NULL column is refused).</summary>
    private static object OrNull(object? value) => value ?? DBNull.Value;

    private static object OptionalInstantKey(DateTimeOffset? instant) => instant is { } value ? InstantKey(value) : DBNull.Value;

    /// <summary>
    /// Runs one prepared statement per row inside <paramref name="transaction"/>: each parameter is named once, beside
    /// how a row fills it.
    /// </summary>
    private void ExecuteForEach<T>(SqliteTransaction transaction, string sql, IEnumerable<T> rows, params (string Name, SqliteType Type, Func<T, object?> Value)[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        var bound = parameters.Select(p => command.Parameters.Add(p.Name, p.Type)).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                bound[i].Value = parameters[i].Value(row);
            }

            command.ExecuteNonQuery();
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
