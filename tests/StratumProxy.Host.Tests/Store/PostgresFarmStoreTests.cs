using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Prometheus;
using StratumProxy.Curtailment;
using StratumProxy.Host.Tests.EndToEnd;
using StratumProxy.Store;

namespace StratumProxy.Host.Tests.Store;

/// <summary>
/// The shared store against a real throwaway PostgreSQL server: migrations, the leader lease and its epoch, and the
/// fence that refuses a deposed leader's command and commit. A lease's expiry is made to happen by moving its
/// expiry into the past in the database (the store's clock decides), never by waiting.
/// </summary>
public sealed class PostgresFarmStoreTests : IAsyncLifetime
{
    private PostgresServer? _server;
    private string _connection = string.Empty;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartNewAsync(CancellationToken.None);
        _connection = await _server.CreateDatabaseAsync("farm", CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Migrations_are_applied_once_and_recorded()
    {
        using var a = Store("a");
        using var b = Store("b");
        Assert.Equal(PostgresSchema.Migrations.Max(m => m.Version), a.Migrate());
        Assert.Equal(PostgresSchema.Migrations.Max(m => m.Version), b.Migrate());
        Assert.Equal(PostgresSchema.Migrations.Count, Convert.ToInt32(await ScalarAsync("SELECT count(*) FROM schema_version;")));
    }

    [Fact]
    public async Task One_instance_leads_until_its_lease_expires_then_another_takes_over_with_a_higher_epoch_and_the_old_one_is_fenced_off()
    {
        using var a = Store("a");
        using var b = Store("b");
        var token = CancellationToken.None;

        Assert.Equal(1L, await a.TryLeadAsync(token));
        Assert.Null(await b.TryLeadAsync(token));
        Assert.Equal(1L, await a.TryLeadAsync(token));
        Assert.True(await a.ClaimCommandAsync(1, "1/t0/rig1", "rig1", "sleep", token));
        Assert.False(await a.ClaimCommandAsync(1, "1/t0/rig1", "rig1", "sleep", token));
        a.Commit(Commit(1, "rig1", "sleeping"));

        // A's lease runs out (it stopped renewing: killed, or cut off); B takes over under epoch 2.
        await ScalarAsync("UPDATE leader_lease SET expires_at = now() - interval '1 second';");
        Assert.Equal(2L, await b.TryLeadAsync(token));
        Assert.Null(await a.TryLeadAsync(token));

        // A's late command and commit are refused; nothing of them is written.
        Assert.False(await a.ClaimCommandAsync(1, "1/t1/rig1", "rig1", "wake", token));
        Assert.Throws<StaleEpochException>(() => a.Commit(Commit(1, "rig1", "running")));
        Assert.Equal("sleeping", b.LoadMemory()["rig1"].State);
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM rig_command;"));

        // B carries on from A's last commit.
        Assert.True(await b.ClaimCommandAsync(2, "2/t1/rig1", "rig1", "wake", token));
        b.Commit(Commit(2, "rig1", "running"));
        Assert.Equal("running", a.LoadMemory()["rig1"].State);
        var assignments = await a.AssignmentsAsync(token);
        Assert.Equal(("rig1", "pool-b", "running", 2L), (assignments[0].Rig, assignments[0].Pool, assignments[0].Power, assignments[0].Epoch));
        Assert.Equal(2, Convert.ToInt32(await ScalarAsync("SELECT count(*) FROM evaluation;")));
        Assert.Equal(2.0 / 60, b.Query(At.AddHours(-1), At.AddHours(1), "rig1").Sum(r => r.Hours), 9);

        // B stops cleanly and gives the lease up: A takes over at once, under a new epoch.
        await b.ResignAsync(2, token);
        Assert.Equal(3L, await a.TryLeadAsync(token));
    }

    [Fact]
    public async Task A_committed_assignment_is_notified_to_listeners()
    {
        using var leader = Store("a");
        using var follower = Store("b");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var notified = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var listen = follower.ListenAsync(
            () =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    listening.TrySetResult();
                }
                else
                {
                    notified.TrySetResult();
                }
            },
            stop.Token);
        await listening.Task.WaitAsync(stop.Token);
        Assert.Equal(1L, await leader.TryLeadAsync(stop.Token));
        leader.Commit(Commit(1, "rig1", "running"));
        await notified.Task.WaitAsync(stop.Token);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listen);
    }

    [Fact]
    public async Task Prune_deletes_history_older_than_the_retention_in_batches_and_keeps_newer_rows_and_the_ledger()
    {
        using var leader = Store("a");
        Assert.Equal(1L, await leader.TryLeadAsync(CancellationToken.None));
        await SeedHistoryAsync(old: 5, young: 2);

        // Batches of 2 rows: 5 old rows per table take three statements each.
        var deleted = await leader.PruneAsync(1, TimeSpan.FromDays(90), batch: 2, CancellationToken.None);

        Assert.Equal(new Dictionary<string, long> { ["evaluation"] = 5, ["rig_command"] = 5, ["audit"] = 5 }, deleted);
        Assert.Equal((2L, 2L, 2L), await HistoryAsync());
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM evaluation WHERE at_utc < now() - interval '90 days';"));

        // The ledger, the assignments and the rigs' state are not history: all of them are kept, however old.
        Assert.Equal(7L, await ScalarAsync("SELECT count(*) FROM rig_hour;"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM assignment;"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM rig;"));
    }

    [Fact]
    public async Task Prune_under_a_stale_epoch_is_refused_and_deletes_nothing()
    {
        using var a = Store("a");
        using var b = Store("b");
        Assert.Equal(1L, await a.TryLeadAsync(CancellationToken.None));
        await SeedHistoryAsync(old: 3, young: 1);
        await ScalarAsync("UPDATE leader_lease SET expires_at = now() - interval '1 second';");
        Assert.Equal(2L, await b.TryLeadAsync(CancellationToken.None));

        await Assert.ThrowsAsync<StaleEpochException>(() => a.PruneAsync(1, TimeSpan.FromDays(90), 10_000, CancellationToken.None));
        await Assert.ThrowsAsync<StaleEpochException>(() => b.PruneAsync(1, TimeSpan.FromDays(90), 10_000, CancellationToken.None));
        Assert.Equal((4L, 4L, 4L), await HistoryAsync());
    }

    [Fact]
    public async Task Only_the_leading_coordinator_prunes_and_at_most_once_an_hour()
    {
        using var a = Store("a");
        using var b = Store("b");
        var registry = Metrics.NewCustomRegistry();
        var leader = new FarmCoordinator(a, new StoreOptions { Retention = TimeSpan.FromDays(30) }, Metrics.WithCustomRegistry(registry), NullLogger.Instance);
        var follower = new FarmCoordinator(b, new StoreOptions { Retention = TimeSpan.FromDays(30) }, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), NullLogger.Instance);
        Assert.Equal(1L, await leader.LeadAsync(CancellationToken.None));
        Assert.Null(await follower.LeadAsync(CancellationToken.None));
        await SeedHistoryAsync(old: 3, young: 1);

        Assert.Contains("stratumproxy_store_rows_pruned_total{table=\"rig_command\"} 0", await ExportAsync(registry), StringComparison.Ordinal);

        // A follower never prunes.
        Assert.Null(await follower.PruneAsync(At, CancellationToken.None));
        Assert.Equal((4L, 4L, 4L), await HistoryAsync());

        // The leader prunes (history older than its 30 days), then not again within the hour.
        var deleted = await leader.PruneAsync(At, CancellationToken.None);
        Assert.Equal(3L, deleted!["audit"]);
        Assert.Equal((1L, 1L, 1L), await HistoryAsync());
        await SeedHistoryAsync(old: 1, young: 0);
        Assert.Null(await leader.PruneAsync(At.AddMinutes(59), CancellationToken.None));
        Assert.Equal((2L, 2L, 2L), await HistoryAsync());
        Assert.Equal(1L, (await leader.PruneAsync(At.AddHours(1), CancellationToken.None))!["evaluation"]);
        Assert.Equal((1L, 1L, 1L), await HistoryAsync());

        var text = await ExportAsync(registry);
        Assert.Contains("stratumproxy_store_rows_pruned_total{table=\"evaluation\"} 4", text, StringComparison.Ordinal);
        Assert.Contains("stratumproxy_store_rows_pruned_total{table=\"audit\"} 4", text, StringComparison.Ordinal);

        // Deposed (another instance took the expired lease): the old leader's prune is fenced off and it follows.
        await SeedHistoryAsync(old: 1, young: 0);
        await ScalarAsync("UPDATE leader_lease SET expires_at = now() - interval '1 second';");
        Assert.Equal(2L, await follower.LeadAsync(CancellationToken.None));
        Assert.Null(await leader.PruneAsync(At.AddHours(2), CancellationToken.None));
        Assert.Null(leader.Epoch);
        Assert.Equal((2L, 2L, 2L), await HistoryAsync());
    }

    /// <summary>
    /// Writes a rig, its assignment and, per table, <paramref name="old"/> history rows 100 days old and
    /// <paramref name="young"/> rows a day old (ledger rows of both ages too), by the database's clock.
    /// </summary>
    private async Task SeedHistoryAsync(int old, int young)
    {
        await ScalarAsync("""
            INSERT INTO rig (rig, state, since_utc, epoch) VALUES ('rig1', 'running', now(), 1) ON CONFLICT DO NOTHING;
            INSERT INTO assignment (rig, pool, power, mode, epoch, updated_at) VALUES ('rig1', 'pool-a', 'running', 0, 1, now() - interval '200 days') ON CONFLICT DO NOTHING;
            """);
        foreach (var (count, age) in new[] { (old, "100 days"), (young, "1 day") })
        {
            await ScalarAsync($$"""
                INSERT INTO evaluation (epoch, at_utc, instance) SELECT 1, now() - interval '{{age}}' - g * interval '1 second', 'a' FROM generate_series(1, {{count}}) g;
                INSERT INTO rig_command (decision_id, rig, kind, epoch, instance, issued_at) SELECT gen_random_uuid()::text, 'rig1', 'sleep', 1, 'a', now() - interval '{{age}}' FROM generate_series(1, {{count}}) g;
                INSERT INTO audit (at_utc, rig, epoch, instance, entry) SELECT now() - interval '{{age}}', 'rig1', 1, 'a', '{}'::jsonb FROM generate_series(1, {{count}}) g;
                INSERT INTO rig_hour (rig, hour_utc, hours) SELECT 'rig1', date_trunc('hour', now() - interval '{{age}}') - g * interval '1 hour', 1 FROM generate_series(1, {{count}}) g ON CONFLICT DO NOTHING;
                """);
        }
    }

    private static async Task<string> ExportAsync(CollectorRegistry registry)
    {
        using var export = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(export);
        return System.Text.Encoding.UTF8.GetString(export.ToArray());
    }

    private async Task<(long Evaluations, long Commands, long Audit)> HistoryAsync() => (
        (long)(await ScalarAsync("SELECT count(*) FROM evaluation;"))!,
        (long)(await ScalarAsync("SELECT count(*) FROM rig_command;"))!,
        (long)(await ScalarAsync("SELECT count(*) FROM audit;"))!);

    private static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static FarmCommit Commit(long epoch, string rig, string state) => new(
        [new RigHour(rig, At, 0.1, 0, 1, 0.5, 0) { Hours = 1.0 / 60 }],
        [new RigMemory(rig, state, state == "running" ? "pool-b" : null, 0, At, new RigTrail(state == "running" ? "wake" : "sleep", "confirmed", At, At, At, null, null))],
        [],
        new Dictionary<string, string?> { ["strike_above_since"] = null })
    {
        Epoch = epoch,
        EvaluatedAt = At.AddMinutes(epoch),
    };

    private PostgresFarmStore Store(string instance) => new(new StoreOptions
    {
        Provider = StoreProvider.Postgres,
        ConnectionString = _connection,
        InstanceName = instance,
        LeaderLease = TimeSpan.FromMinutes(5),
    });

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
