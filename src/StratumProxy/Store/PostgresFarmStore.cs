using System.Data.Common;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using StratumProxy.Curtailment;

namespace StratumProxy.Store;

/// <summary>
/// The farm store on PostgreSQL, shared by every instance of one farm. Leadership is a lease row with an epoch (the
/// fencing token): a leader renews it every evaluation, an instance takes it over only once it has expired (by the
/// database's clock, so the instances' clocks need not agree), and every taking-over raises the epoch. Every rig
/// command is claimed in <c>rig_command</c> under its decision id and the leader's epoch before it is sent, and every
/// commit of the loop's memory, ledger and assignments checks the epoch in the same transaction: a deposed leader's
/// late command or commit is refused. Followers learn of new assignments by LISTEN/NOTIFY on
/// <see cref="AssignmentChannel"/> and poll as the fallback. Any call may throw <see cref="NpgsqlException"/> (or
/// <see cref="TimeoutException"/>) when the database cannot be reached: callers treat that as the store being down.
/// </summary>
public sealed class PostgresFarmStore : IFarmStore
{
    /// <summary>The NOTIFY channel of assignment changes.</summary>
    public const string AssignmentChannel = "stratumproxy_assignment";

    private readonly NpgsqlDataSource _source;
    private readonly string _instance;
    private readonly TimeSpan _lease;
    private readonly Lock _schemaLock = new();
    private volatile bool _migrated;

    /// <summary>Creates the store (nothing is opened until the first call).</summary>
    public PostgresFarmStore(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            Timeout = Math.Max(1, (int)options.CommandTimeout.TotalSeconds),
            CommandTimeout = Math.Max(1, (int)options.CommandTimeout.TotalSeconds),
            ApplicationName = "stratum-proxy",
        };
        _source = NpgsqlDataSource.Create(builder.ConnectionString);
        _instance = options.Instance;
        _lease = options.LeaderLease;
    }

    /// <inheritdoc/>
    public bool Shared => true;

    /// <summary>This instance's name.</summary>
    public string Instance => _instance;

    /// <summary>Applies the migrations not yet applied (once per process; every call does it first).</summary>
    public int Migrate()
    {
        lock (_schemaLock)
        {
            using var connection = _source.OpenConnection();
            using var transaction = connection.BeginTransaction();
            Execute(connection, transaction, "SELECT pg_advisory_xact_lock(@key);", ("key", PostgresSchema.MigrationLock));
            Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());");
            using var read = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_version;", connection, transaction);
            var current = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
            foreach (var (version, description, sql) in PostgresSchema.Migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
            {
                Execute(connection, transaction, sql);
                Execute(connection, transaction, "INSERT INTO schema_version (version, description) VALUES (@v, @d);", ("v", version), ("d", description));
                current = version;
            }

            transaction.Commit();
            _migrated = true;
            return current;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, RigMemory> LoadMemory()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand($"SELECT {RigMemory.Columns} FROM rig;", connection);
        using var reader = command.ExecuteReader();
        return RigMemory.ReadAll(reader, Instant);
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string?> LoadValues()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("SELECT key, value FROM loop_value;", connection);
        using var reader = command.ExecuteReader();
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        while (reader.Read())
        {
            values[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return values;
    }

    /// <inheritdoc/>
    public void Commit(FarmCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var epoch = commit.Epoch ?? throw new StaleEpochException("a commit to the shared store needs the leader's epoch");
        using var connection = Open();
        using var transaction = connection.BeginTransaction();

        // The lease row is locked for the transaction: an instance taking over waits for this commit, then reads it.
        using (var fence = new NpgsqlCommand("SELECT epoch FROM leader_lease WHERE id = 1 FOR UPDATE;", connection, transaction))
        {
            if (fence.ExecuteScalar() is not long current || current != epoch)
            {
                throw new StaleEpochException();
            }
        }

        // Each table in one statement, whatever the number of rigs (arrays unnested server-side).
        var rows = commit.Rows;
        using (var add = new NpgsqlCommand("""
            INSERT INTO rig_hour (rig, hour_utc, hours, kwh_used, kwh_avoided, revenue_usd, cost_usd, savings_usd)
            SELECT r, h, sum(n), sum(u), sum(a), sum(v), sum(c), sum(s)
            FROM unnest(@rigs, @hours_utc, @hours, @used, @avoided, @revenue, @cost, @savings) AS x(r, h, n, u, a, v, c, s)
            GROUP BY r, h
            ON CONFLICT (rig, hour_utc) DO UPDATE SET
                hours = rig_hour.hours + excluded.hours,
                kwh_used = rig_hour.kwh_used + excluded.kwh_used,
                kwh_avoided = rig_hour.kwh_avoided + excluded.kwh_avoided,
                revenue_usd = rig_hour.revenue_usd + excluded.revenue_usd,
                cost_usd = rig_hour.cost_usd + excluded.cost_usd,
                savings_usd = rig_hour.savings_usd + excluded.savings_usd;
            """, connection, transaction))
        {
            add.Parameters.AddWithValue("rigs", rows.Select(r => r.Rig).ToArray());
            add.Parameters.AddWithValue("hours_utc", rows.Select(r => HourStart(r.Hour)).ToArray());
            add.Parameters.AddWithValue("hours", rows.Select(r => r.Hours).ToArray());
            add.Parameters.AddWithValue("used", rows.Select(r => r.KwhUsed).ToArray());
            add.Parameters.AddWithValue("avoided", rows.Select(r => r.KwhAvoided).ToArray());
            add.Parameters.AddWithValue("revenue", rows.Select(r => r.RevenueUsd).ToArray());
            add.Parameters.AddWithValue("cost", rows.Select(r => r.CostUsd).ToArray());
            add.Parameters.AddWithValue("savings", rows.Select(r => r.SavingsUsd).ToArray());
            add.ExecuteNonQuery();
        }

        var memory = commit.Memory;
        using (var save = new NpgsqlCommand("""
            INSERT INTO rig (rig, state, pool, mode, since_utc, last_command, last_outcome, last_command_utc, last_read_utc,
                last_agreed_utc, last_disagreement, last_disagreement_utc, epoch)
            SELECT *, @epoch FROM unnest(@rigs, @states, @pools, @modes, @since, @commands, @outcomes, @commandAt, @readAt,
                @agreedAt, @disagreements, @disagreementAt)
            ON CONFLICT (rig) DO UPDATE SET state = excluded.state, pool = excluded.pool, mode = excluded.mode,
                since_utc = excluded.since_utc, last_command = excluded.last_command, last_outcome = excluded.last_outcome,
                last_command_utc = excluded.last_command_utc, last_read_utc = excluded.last_read_utc,
                last_agreed_utc = excluded.last_agreed_utc, last_disagreement = excluded.last_disagreement,
                last_disagreement_utc = excluded.last_disagreement_utc, epoch = excluded.epoch;
            """, connection, transaction))
        {
            var p = save.Parameters;
            p.AddWithValue("epoch", epoch);
            p.AddWithValue("rigs", memory.Select(m => m.Rig).ToArray());
            p.AddWithValue("states", memory.Select(m => m.State).ToArray());
            p.AddWithValue("pools", NpgsqlDbType.Array | NpgsqlDbType.Text, memory.Select(m => (object?)m.Pool ?? DBNull.Value).ToArray());
            p.AddWithValue("modes", memory.Select(m => m.Mode).ToArray());
            p.AddWithValue("since", memory.Select(m => m.Since.ToUniversalTime()).ToArray());
            p.AddWithValue("commands", NpgsqlDbType.Array | NpgsqlDbType.Text, memory.Select(m => (object?)m.Trail.LastCommand ?? DBNull.Value).ToArray());
            p.AddWithValue("outcomes", NpgsqlDbType.Array | NpgsqlDbType.Text, memory.Select(m => (object?)m.Trail.LastOutcome ?? DBNull.Value).ToArray());
            p.AddWithValue("commandAt", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, memory.Select(m => Db(m.Trail.LastCommandAt)).ToArray());
            p.AddWithValue("readAt", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, memory.Select(m => Db(m.Trail.LastReadAt)).ToArray());
            p.AddWithValue("agreedAt", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, memory.Select(m => Db(m.Trail.LastAgreedAt)).ToArray());
            p.AddWithValue("disagreements", NpgsqlDbType.Array | NpgsqlDbType.Text, memory.Select(m => (object?)m.Trail.LastDisagreement ?? DBNull.Value).ToArray());
            p.AddWithValue("disagreementAt", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, memory.Select(m => Db(m.Trail.LastDisagreementAt)).ToArray());
            save.ExecuteNonQuery();
        }

        // Only assignments that changed are written (and then NOTIFYd): followers re-read when told.
        using (var assign = new NpgsqlCommand("""
            INSERT INTO assignment (rig, pool, power, mode, epoch, updated_at)
            SELECT r, p, s, m, @epoch, now() FROM unnest(@rigs, @pools, @states, @modes) AS x(r, p, s, m)
            ON CONFLICT (rig) DO UPDATE SET pool = excluded.pool, power = excluded.power, mode = excluded.mode,
                epoch = excluded.epoch, updated_at = excluded.updated_at
            WHERE (assignment.pool, assignment.power, assignment.mode) IS DISTINCT FROM (excluded.pool, excluded.power, excluded.mode);
            """, connection, transaction))
        {
            assign.Parameters.AddWithValue("epoch", epoch);
            assign.Parameters.AddWithValue("rigs", memory.Select(m => m.Rig).ToArray());
            assign.Parameters.AddWithValue("pools", NpgsqlDbType.Array | NpgsqlDbType.Text, memory.Select(m => (object?)m.Pool ?? DBNull.Value).ToArray());
            assign.Parameters.AddWithValue("states", memory.Select(m => m.State).ToArray());
            assign.Parameters.AddWithValue("modes", memory.Select(m => m.Mode).ToArray());
            if (assign.ExecuteNonQuery() > 0)
            {
                Execute(connection, transaction, "SELECT pg_notify(@channel, @epoch);", ("channel", AssignmentChannel), ("epoch", epoch.ToString(CultureInfo.InvariantCulture)));
            }
        }

        foreach (var rig in commit.Forget)
        {
            Execute(connection, transaction, "DELETE FROM rig WHERE rig = @rig; DELETE FROM assignment WHERE rig = @rig;", ("rig", rig));
        }

        foreach (var (key, value) in commit.Values)
        {
            Execute(connection, transaction, "INSERT INTO loop_value (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;", ("key", key), ("value", (object?)value ?? DBNull.Value));
        }

        foreach (var line in commit.Audit)
        {
            Execute(connection, transaction, "INSERT INTO audit (at_utc, rig, epoch, instance, entry) VALUES (@at, @rig, @epoch, @instance, @entry::jsonb);", ("at", line.At.ToUniversalTime()), ("rig", line.Rig), ("epoch", epoch), ("instance", _instance), ("entry", line.Json));
        }

        if (commit.EvaluatedAt is { } at)
        {
            Execute(connection, transaction, "INSERT INTO evaluation (epoch, at_utc, instance) VALUES (@epoch, @at, @instance);", ("epoch", epoch), ("at", at.ToUniversalTime()), ("instance", _instance));
        }

        transaction.Commit();
    }

    /// <inheritdoc/>
    public IReadOnlyList<RigHour> Query(DateTimeOffset from, DateTimeOffset to, string? rig = null)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("""
            SELECT rig, hour_utc, kwh_used, kwh_avoided, revenue_usd, cost_usd, savings_usd, hours FROM rig_hour
            WHERE hour_utc >= @from AND hour_utc < @to AND (@rig::text IS NULL OR rig = @rig)
            ORDER BY hour_utc, rig;
            """, connection);
        command.Parameters.AddWithValue("from", HourStart(from));
        command.Parameters.AddWithValue("to", HourStart(to));
        command.Parameters.AddWithValue("rig", NpgsqlDbType.Text, (object?)rig ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        var rows = new List<RigHour>();
        while (reader.Read())
        {
            rows.Add(new RigHour(reader.GetString(0), Instant(reader, 1)!.Value, reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetDouble(6)) { Hours = reader.GetDouble(7) });
        }

        return rows;
    }

    /// <summary>
    /// Takes or renews the leader lease: the epoch when this instance leads (a new one each time it takes the lease
    /// over), null when another instance holds an unexpired lease.
    /// </summary>
    public async Task<long?> TryLeadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            INSERT INTO leader_lease (id, holder, epoch, acquired_at, expires_at) VALUES (1, @me, 1, now(), now() + @lease)
            ON CONFLICT (id) DO UPDATE SET
                epoch = CASE WHEN leader_lease.holder = excluded.holder AND leader_lease.expires_at > now() THEN leader_lease.epoch ELSE leader_lease.epoch + 1 END,
                acquired_at = CASE WHEN leader_lease.holder = excluded.holder AND leader_lease.expires_at > now() THEN leader_lease.acquired_at ELSE now() END,
                holder = excluded.holder,
                expires_at = excluded.expires_at
            WHERE leader_lease.holder = excluded.holder OR leader_lease.expires_at <= now()
            RETURNING epoch;
            """, connection);
        command.Parameters.AddWithValue("me", _instance);
        command.Parameters.AddWithValue("lease", _lease);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long epoch ? epoch : null;
    }

    /// <summary>Gives the lease up (a clean stop), so another instance leads at once.</summary>
    public async Task ResignAsync(long epoch, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("UPDATE leader_lease SET expires_at = now() WHERE id = 1 AND holder = @me AND epoch = @epoch;", connection);
        command.Parameters.AddWithValue("me", _instance);
        command.Parameters.AddWithValue("epoch", epoch);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Claims the right to send one command: true when <paramref name="epoch"/> is the leader's, this instance holds an
    /// unexpired lease and the decision was not claimed before (a decision is commanded at most once).
    /// </summary>
    public async Task<bool> ClaimCommandAsync(long epoch, string decisionId, string rig, string kind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            INSERT INTO rig_command (decision_id, rig, kind, epoch, instance, issued_at)
            SELECT @id, @rig, @kind, @epoch, @me, now()
            WHERE EXISTS (SELECT 1 FROM leader_lease WHERE id = 1 AND epoch = @epoch AND holder = @me AND expires_at > now())
            ON CONFLICT (decision_id) DO NOTHING;
            """, connection);
        command.Parameters.AddWithValue("id", decisionId);
        command.Parameters.AddWithValue("rig", rig);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("epoch", epoch);
        command.Parameters.AddWithValue("me", _instance);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>The history tables the leader prunes, with their time columns. Never the ledger, the assignments, the rigs' state, the lease or the heartbeats.</summary>
    public static readonly IReadOnlyList<(string Table, string Column)> PrunedTables =
    [
        ("evaluation", "at_utc"),
        ("rig_command", "issued_at"),
        ("audit", "at_utc"),
    ];

    /// <summary>
    /// Deletes the rows of <see cref="PrunedTables"/> older than <paramref name="retention"/> (by the database's clock),
    /// at most <paramref name="batch"/> rows a statement, each statement in its own transaction fenced like a commit:
    /// the lease row is locked and must hold <paramref name="epoch"/>, this instance and an unexpired lease, else
    /// <see cref="StaleEpochException"/> is thrown and nothing more is deleted. Returns the rows deleted per table.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> PruneAsync(long epoch, TimeSpan retention, int batch, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var deleted = PrunedTables.ToDictionary(t => t.Table, _ => 0L, StringComparer.Ordinal);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (table, column) in PrunedTables)
        {
            while (true)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var fence = new NpgsqlCommand("SELECT 1 FROM leader_lease WHERE id = 1 AND epoch = @epoch AND holder = @me AND expires_at > now() FOR SHARE;", connection, transaction))
                {
                    fence.Parameters.AddWithValue("epoch", epoch);
                    fence.Parameters.AddWithValue("me", _instance);
                    if (await fence.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                    {
                        throw new StaleEpochException();
                    }
                }

                // The table and column names are the constants above, never input.
                await using var delete = new NpgsqlCommand(
                    $"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {column} < now() - @keep LIMIT @batch));",
                    connection,
                    transaction);
                delete.Parameters.AddWithValue("keep", retention);
                delete.Parameters.AddWithValue("batch", batch);
                var rows = await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                deleted[table] += rows;
                if (rows < batch)
                {
                    break;
                }
            }
        }

        return deleted;
    }

    /// <summary>Records what came of a claimed command.</summary>
    public async Task CompleteCommandAsync(string decisionId, string outcome, string detail, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("UPDATE rig_command SET outcome = @outcome, detail = @detail WHERE decision_id = @id;", connection);
        command.Parameters.AddWithValue("id", decisionId);
        command.Parameters.AddWithValue("outcome", outcome);
        command.Parameters.AddWithValue("detail", detail);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The desired assignment of every rig, as the leader last committed it.</summary>
    public async Task<IReadOnlyList<RigAssignment>> AssignmentsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT rig, pool, power, mode, epoch FROM assignment;", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<RigAssignment>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new RigAssignment(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4)));
        }

        return list;
    }

    /// <summary>
    /// This instance's report, in one transaction: its heartbeat, the sessions it holds now (replacing the last
    /// report's) and one hashrate roll-up row per worker it carries (<see cref="InstanceReport.Workers"/>; empty
    /// between roll-ups).
    /// </summary>
    public async Task ReportAsync(InstanceReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var beat = new NpgsqlCommand("""
            INSERT INTO instance (instance, started_at, last_seen, leads) VALUES (@me, @started, now(), @leads)
            ON CONFLICT (instance) DO UPDATE SET last_seen = now(), leads = excluded.leads, started_at = excluded.started_at;
            DELETE FROM instance_session WHERE instance = @me;
            """, connection, transaction))
        {
            beat.Parameters.AddWithValue("me", _instance);
            beat.Parameters.AddWithValue("started", report.StartedAt.ToUniversalTime());
            beat.Parameters.AddWithValue("leads", report.Leads);
            await beat.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // One statement per table, whatever the number of sessions (arrays unnested server-side).
        await using (var sessions = new NpgsqlCommand("""
            INSERT INTO instance_session (instance, session_id, worker, pool, remote, connected_at)
            SELECT @me, * FROM unnest(@ids, @workers, @pools, @remotes, @ats);
            """, connection, transaction))
        {
            sessions.Parameters.AddWithValue("me", _instance);
            sessions.Parameters.AddWithValue("ids", report.Sessions.Select(x => x.Id).ToArray());
            sessions.Parameters.AddWithValue("workers", NpgsqlDbType.Array | NpgsqlDbType.Text, report.Sessions.Select(x => (object?)x.Worker ?? DBNull.Value).ToArray());
            sessions.Parameters.AddWithValue("pools", NpgsqlDbType.Array | NpgsqlDbType.Text, report.Sessions.Select(x => (object?)x.Pool ?? DBNull.Value).ToArray());
            sessions.Parameters.AddWithValue("remotes", NpgsqlDbType.Array | NpgsqlDbType.Text, report.Sessions.Select(x => (object?)x.Remote ?? DBNull.Value).ToArray());
            sessions.Parameters.AddWithValue("ats", report.Sessions.Select(x => x.ConnectedAt.ToUniversalTime()).ToArray());
            await sessions.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (report.Workers.Count > 0)
        {
            // The roll-ups of this report; roll-ups older than a week are dropped (the ledger keeps the money).
            await using var rollup = new NpgsqlCommand("""
                INSERT INTO rig_hashrate (rig, instance, at_utc, hashrate_5m, accepted, accepted_difficulty, last_share_unix_ms)
                SELECT r, @me, @at, h, a, d, l FROM unnest(@rigs, @rates, @accepted, @difficulty, @last) AS u(r, h, a, d, l)
                ON CONFLICT DO NOTHING;
                DELETE FROM rig_hashrate WHERE instance = @me AND at_utc < now() - interval '7 days';
                """, connection, transaction);
            rollup.Parameters.AddWithValue("me", _instance);
            rollup.Parameters.AddWithValue("at", report.At.ToUniversalTime());
            rollup.Parameters.AddWithValue("rigs", report.Workers.Select(w => w.Worker).ToArray());
            rollup.Parameters.AddWithValue("rates", report.Workers.Select(w => w.Hashrate5m).ToArray());
            rollup.Parameters.AddWithValue("accepted", report.Workers.Select(w => w.Accepted).ToArray());
            rollup.Parameters.AddWithValue("difficulty", report.Workers.Select(w => w.AcceptedDifficulty).ToArray());
            rollup.Parameters.AddWithValue("last", report.Workers.Select(w => w.LastShareUnixMs).ToArray());
            await rollup.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// What the other live instances (heartbeat within <paramref name="fresh"/>) hold: their sessions, and each of
    /// their workers' latest hashrate roll-up (if within <paramref name="rollupFresh"/>).
    /// </summary>
    public async Task<RemoteFleet> OthersAsync(TimeSpan fresh, TimeSpan rollupFresh, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var sessions = new List<RemoteSession>();
        await using (var command = new NpgsqlCommand("""
            SELECT s.instance, s.session_id, s.worker, s.pool, s.remote, s.connected_at FROM instance_session s
            JOIN instance i ON i.instance = s.instance
            WHERE s.instance <> @me AND i.last_seen > now() - @fresh;
            """, connection))
        {
            command.Parameters.AddWithValue("me", _instance);
            command.Parameters.AddWithValue("fresh", fresh);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sessions.Add(new RemoteSession(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), Instant(reader, 5)!.Value));
            }
        }

        var workers = new List<RemoteWorker>();
        await using (var command = new NpgsqlCommand("""
            SELECT DISTINCT ON (h.rig) h.rig, h.instance, h.hashrate_5m, h.accepted, h.accepted_difficulty, h.last_share_unix_ms
            FROM rig_hashrate h JOIN instance i ON i.instance = h.instance
            WHERE h.instance <> @me AND i.last_seen > now() - @fresh AND h.at_utc > now() - @rollup
            ORDER BY h.rig, h.at_utc DESC;
            """, connection))
        {
            command.Parameters.AddWithValue("me", _instance);
            command.Parameters.AddWithValue("fresh", fresh);
            command.Parameters.AddWithValue("rollup", rollupFresh);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                workers.Add(new RemoteWorker(reader.GetString(0), reader.GetString(1), reader.GetDouble(2), reader.GetInt64(3), reader.GetDouble(4), reader.GetInt64(5)));
            }
        }

        return new RemoteFleet(sessions, workers);
    }

    /// <summary>
    /// Listens on <see cref="AssignmentChannel"/> until cancelled, calling <paramref name="notified"/> for each
    /// notification. Throws when the connection is lost (the caller polls meanwhile and listens again) and when cancelled.
    /// </summary>
    public async Task ListenAsync(Action notified, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notified);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        connection.Notification += (_, _) => notified();
        await using (var listen = new NpgsqlCommand("LISTEN " + AssignmentChannel + ";", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Listening started after a possible change: whoever listens looks once now.
        notified();

        // Ends only by cancellation (an OperationCanceledException) or a lost connection, never by returning.
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _source.Dispose();

    private NpgsqlConnection Open()
    {
        if (!_migrated)
        {
            Migrate();
        }

        return _source.OpenConnection();
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!_migrated)
        {
            Migrate();
        }

        return await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    private static object Db(DateTimeOffset? instant) => instant is { } i ? i.ToUniversalTime() : DBNull.Value;

    private static DateTimeOffset? Instant(DbDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(column), DateTimeKind.Utc));

    private static DateTimeOffset HourStart(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }
}

/// <summary>A rig's desired assignment, as the leader committed it.</summary>
/// <param name="Rig">The worker name.</param>
/// <param name="Pool">The pool it should mine on (null while asleep).</param>
/// <param name="Power">running or sleeping.</param>
/// <param name="Mode">The power mode index.</param>
/// <param name="Epoch">The epoch of the leader that wrote it.</param>
public sealed record RigAssignment(string Rig, string? Pool, string Power, int Mode, long Epoch);

/// <summary>One instance's report.</summary>
/// <param name="At">When it was taken.</param>
/// <param name="StartedAt">When the instance started.</param>
/// <param name="Leads">Whether it leads now.</param>
/// <param name="Sessions">The miner sessions it holds.</param>
/// <param name="Workers">Its workers' hashrates.</param>
public sealed record InstanceReport(DateTimeOffset At, DateTimeOffset StartedAt, bool Leads, IReadOnlyList<RemoteSession> Sessions, IReadOnlyList<RemoteWorker> Workers);

/// <summary>A miner session held by an instance.</summary>
/// <param name="Instance">The instance.</param>
/// <param name="Id">The session's id on that instance.</param>
/// <param name="Worker">Its worker (null before authorize).</param>
/// <param name="Pool">The pool it is on.</param>
/// <param name="Remote">The miner's address.</param>
/// <param name="ConnectedAt">When it connected.</param>
public sealed record RemoteSession(string Instance, long Id, string? Worker, string? Pool, string? Remote, DateTimeOffset ConnectedAt);

/// <summary>A worker's hashrate roll-up on one instance.</summary>
/// <param name="Worker">The worker.</param>
/// <param name="Instance">The instance carrying it.</param>
/// <param name="Hashrate5m">5-minute hashrate, H/s.</param>
/// <param name="Accepted">Shares accepted.</param>
/// <param name="AcceptedDifficulty">Sum of accepted difficulty.</param>
/// <param name="LastShareUnixMs">Last share (Unix ms).</param>
public sealed record RemoteWorker(string Worker, string Instance, double Hashrate5m, long Accepted, double AcceptedDifficulty, long LastShareUnixMs);

/// <summary>What the other instances hold.</summary>
/// <param name="Sessions">Their sessions.</param>
/// <param name="Workers">Their workers' latest roll-ups.</param>
public sealed record RemoteFleet(IReadOnlyList<RemoteSession> Sessions, IReadOnlyList<RemoteWorker> Workers)
{
    /// <summary>Nothing known of other instances.</summary>
    public static RemoteFleet Empty { get; } = new([], []);
}
