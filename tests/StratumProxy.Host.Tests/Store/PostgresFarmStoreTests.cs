using Npgsql;
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
