using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// Issue 12's "done when": three real proxy executables as child processes on one throwaway PostgreSQL server, two
/// TestKit pools, and six simulated rigs that answer in the recorded cgminer shapes, each with a hashing miner that
/// follows its rig's devices. Two miners connect to each instance. The farm has a power cap that fits three of the
/// six rigs; power is free and the second pool has no fee, so the policy wants every rig running on it. Every wait is
/// on observable state (the rigs' devices, the store's rows, the pools' counts) with a generous deadline.
/// </summary>
public sealed partial class ManyInstancesProcessTests : IAsyncLifetime
{
    private const int Rigs = 6;
    private const int Devices = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-many-").FullName;
    private readonly List<FakeCgminer> _rigs = [];
    private readonly List<RigMiner> _miners = [];
    private readonly ProxyProcess?[] _proxies = new ProxyProcess?[3];
    private PostgresServer? _server;
    private TestPool? _expensive;
    private TestPool? _cheap;
    private string _connection = string.Empty;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartNewAsync(CancellationToken.None);
        _connection = await _server.CreateDatabaseAsync("farm", CancellationToken.None);

        // Network difficulty 65536 (nbits 1b00ffff): a CPU miner earns enough that the fee difference shows.
        var poolOptions = new TestPoolOptions { Difficulty = 1e-5, NBits = 0x1b00ffff };
        _expensive = await TestPool.StartAsync(poolOptions);
        _cheap = await TestPool.StartAsync(poolOptions);
        for (var i = 0; i < Rigs; i++)
        {
            var rig = new FakeCgminer(devices: Devices, megahashesPerSecond: 100e6);
            var miner = new RigMiner(Worker(i));
            rig.PowerChanged += running => miner.Follow(running);
            _rigs.Add(rig);
            _miners.Add(miner);
        }

        for (var i = 0; i < 3; i++)
        {
            var directory = Path.Combine(_directory, Name(i));
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "appsettings.json"), Config());
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }
        }

        foreach (var miner in _miners)
        {
            await miner.StopAsync();
            await miner.DisposeAsync();
        }

        foreach (var rig in _rigs)
        {
            await rig.DisposeAsync();
        }

        if (_expensive is not null)
        {
            await _expensive.DisposeAsync();
        }

        if (_cheap is not null)
        {
            await _cheap.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task One_leader_holds_the_farm_wide_power_cap_and_a_killed_leader_is_replaced_without_a_rig_commanded_twice_or_a_ledger_row_lost()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var token = guard.Token;
        var (leader, epoch) = await StartCappedFarmAsync(token);

        // SIGKILL the leader; its miners reconnect to the next instance. Another instance takes over with a higher epoch.
        await _proxies[leader]!.KillAsync();
        var next = (leader + 1) % 3;
        for (var i = 0; i < Rigs; i++)
        {
            if (i / 2 == leader)
            {
                await _miners[i].PointAtAsync(_proxies[next]!.MinerPort, hashing: _rigs[i].Running);
            }
        }

        var (newLeader, newEpoch) = await LeaderAsync(token, after: epoch);
        Assert.NotEqual(leader, newLeader);
        await Until(async () => await CountAsync($"SELECT count(*) FROM evaluation WHERE epoch >= {newEpoch}", token) >= 4, "a few evaluations by the new leader", token);

        // The cap still holds and every running rig still mines on the fee-free pool.
        Assert.Equal(3, _rigs.Count(r => r.Running));
        await RunningRigsMineOnAsync(_cheap!, 3, "the running rigs still mining on the fee-free pool", token);

        // No rig commanded twice for one decision, in the rigs' own command logs: each slept rig got one disable per
        // device, and no running rig got any.
        for (var i = 0; i < Rigs; i++)
        {
            var disables = _rigs[i].Requests.Count(r => r.Contains("\"ascdisable\"", StringComparison.Ordinal));
            var enables = _rigs[i].Requests.Count(r => r.Contains("\"ascenable\"", StringComparison.Ordinal));
            Assert.True(enables == 0 && disables == (_rigs[i].Running ? 0 : Devices), $"rig {i}: {disables} disables, {enables} enables" + Environment.NewLine + Outputs());
        }

        Assert.Equal(3, await CountAsync("SELECT count(*) FROM rig_command WHERE kind = 'sleep'", token));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM rig_command WHERE kind = 'wake'", token));

        // No ledger row lost or doubled: every rig's booked hours are exactly the intervals between the consecutive
        // committed evaluations of each epoch (the first of an epoch books nothing).
        await AssertLedgerMatchesEvaluationsAsync(token);
        Assert.Equal(Rigs, await CountAsync("SELECT count(*) FROM rig", token));
    }

    [Fact]
    public async Task With_the_store_stopped_every_instance_keeps_proxying_without_losing_a_share_the_policy_holds_still_and_says_so_and_it_resumes_when_the_store_returns()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var token = guard.Token;
        await StartCappedFarmAsync(token);
        var asleep = Enumerable.Range(0, Rigs).First(i => !_rigs[i].Running);
        var errorsBefore = await MetricsAsync("stratumproxy_store_errors_total", token);

        // The store goes away. Every instance says so (metric and log) and keeps carrying its miners' shares.
        await _server!.StopAsync(token);
        await Until(async () => (await MetricsAsync("stratumproxy_store_up", token)).All(v => v == 0), "every instance showing the store down", token);
        Assert.All(await MetricsAsync("stratumproxy_curtailment_holding", token), v => Assert.Equal(1, v));
        // The log line and the metric are written together; the child's output reaches the test a little later.
        await Until(() => _proxies.All(p => p!.Output.Contains("Store unreachable", StringComparison.Ordinal)), "every instance logging the store unreachable", token);

        // Still ready for miners (a store outage must not empty the balancer), and /readyz says the store is down.
        foreach (var (code, body) in await ReadinessAsync(token))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, code);
            Assert.Contains("{\"name\":\"store\",\"status\":\"degraded\"", body, StringComparison.Ordinal);
        }

        await RunningRigsMineOnAsync(_cheap!, 5, "the running rigs still mining through the proxy with the store down", token);

        // A sleeping rig woken by hand while the store is down stays awake: nobody commands it until the store is back
        // (the instances have tried the store many times meanwhile).
        var disablesBefore = Disables(asleep);
        _rigs[asleep].SetAll(enabled: true);
        var tries = await MetricsAsync("stratumproxy_store_errors_total", token);
        var now = tries;
        await Until(
            async () => (now = await MetricsAsync("stratumproxy_store_errors_total", token)).Zip(tries).All(p => p.First >= p.Second + 5),
            () => $"every instance trying the store five more times (failed calls then: {string.Join(", ", tries)}; last seen: {string.Join(", ", now)})",
            token);
        Assert.True(_rigs[asleep].Running);
        Assert.Equal(disablesBefore, Disables(asleep));
        Assert.True((await MetricsAsync("stratumproxy_store_errors_total", token)).Zip(errorsBefore).All(p => p.First > p.Second));

        // The store returns: the policy resumes and puts the hand-woken rig back to sleep under the cap.
        await _server.StartAsync(token);
        await Until(async () => (await MetricsAsync("stratumproxy_store_up", token)).All(v => v == 1), "every instance showing the store back", token);
        await Until(() => !_rigs[asleep].Running, "the hand-woken rig put back to sleep once the store returned", token);
        Assert.Equal(disablesBefore + Devices, Disables(asleep));
        Assert.Equal(3, _rigs.Count(r => r.Running));
        await Until(() => _proxies.All(p => p!.Output.Contains("Store reachable again", StringComparison.Ordinal)), "every instance logging the store reachable again", token);
        Assert.All(await ReadinessAsync(token), r => Assert.Contains("{\"name\":\"store\",\"status\":\"ready\"", r.Body, StringComparison.Ordinal));

        // No share lost: every share each running miner sent was answered once, and accepted. A rig put to sleep stops
        // its miner after its devices report off (the hand-woken one just now): once every miner follows its rig, the
        // miners left are those of the running rigs.
        await Until(() => Enumerable.Range(0, Rigs).All(i => (_miners[i].Miner is not null) == _rigs[i].Running), "every rig's miner following its rig", token);
        foreach (var miner in _miners.Where(m => m.Miner is not null).Select(m => m.Miner!))
        {
            await miner.WaitForAnswersAsync(Patience, token);
            Assert.True(miner.EverySubmitAnsweredOnce && miner.Rejected == 0 && miner.Accepted > 0, miner.ToString());
        }
    }

    /// <summary>
    /// Starts the three instances and the miners, and waits until one leader holds the power cap (3 of 6 rigs) across
    /// the three instances' rigs, every running rig mines on the fee-free pool (moved inside the proxy by whichever
    /// instance holds its miner, at least one of them a follower) and the leader has evaluated a few times since.
    /// </summary>
    private async Task<(int Leader, long Epoch)> StartCappedFarmAsync(CancellationToken token)
    {
        await StartFarmAsync(token);
        await Until(() => _rigs.Count(r => r.Running) == 3, "three rigs put to sleep under the power cap", token);
        await Until(async () => (await LeadersReportedAsync(token)).Count(l => l) == 1, "exactly one instance saying it leads", token);
        await RunningRigsMineOnAsync(_cheap!, 3, "every running rig mining on the fee-free pool", token);

        // A few evaluations under the lease in force (a machine slow enough to let a lease run out may have moved it).
        await Until(
            async () => await CountAsync("SELECT count(*) FROM evaluation WHERE epoch = (SELECT epoch FROM leader_lease)", token) >= 3,
            "a few evaluations by the leader",
            token);
        var (leader, epoch) = await LeaderAsync(token);
        Assert.Contains(Enumerable.Range(0, Rigs), i => _rigs[i].Running && InstanceOf(i) != leader);
        return (leader, epoch);
    }

    private int Disables(int rig) => _rigs[rig].Requests.Count(r => r.Contains("\"ascdisable\"", StringComparison.Ordinal));

    /// <summary>/readyz of each live instance.</summary>
    private async Task<List<(System.Net.HttpStatusCode Code, string Body)>> ReadinessAsync(CancellationToken token)
    {
        var answers = new List<(System.Net.HttpStatusCode, string)>();
        foreach (var proxy in _proxies.Where(p => p is { HasExited: false }))
        {
            using var http = new HttpClient { BaseAddress = proxy!.Admin };
            using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative), token);
            answers.Add((response.StatusCode, await response.Content.ReadAsStringAsync(token)));
        }

        return answers;
    }

    /// <summary>One unlabelled series' value on each live instance.</summary>
    private async Task<List<double>> MetricsAsync(string name, CancellationToken token)
    {
        var values = new List<double>();
        foreach (var proxy in _proxies.Where(p => p is { HasExited: false }))
        {
            using var http = new HttpClient { BaseAddress = proxy!.Admin };
            var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), token);
            var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
            values.Add(line is null ? double.NaN : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture));
        }

        return values;
    }

    private async Task StartFarmAsync(CancellationToken token)
    {
        var starts = Enumerable.Range(0, 3).Select(i => ProxyProcess.StartAsync(
            Path.Combine(_directory, Name(i)),
            ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", _expensive!.Url, "--pool", _cheap!.Url, "--user", "acct",
             "--start-difficulty", "0.00001", "--min-difficulty", "0.0000001"],
            token,
            new Dictionary<string, string>
            {
                ["STRATUMPROXY_Store__Provider"] = "Postgres",
                ["STRATUMPROXY_Store__ConnectionString"] = _connection,
                ["STRATUMPROXY_Store__InstanceName"] = Name(i),
                ["STRATUMPROXY_Store__LeaderLease"] = "00:00:05",
                ["STRATUMPROXY_Store__PollInterval"] = "00:00:01",
            })).ToList();
        for (var i = 0; i < 3; i++)
        {
            _proxies[i] = await starts[i];
        }

        for (var i = 0; i < Rigs; i++)
        {
            await _miners[i].PointAtAsync(_proxies[i / 2]!.MinerPort, hashing: _rigs[i].Running);
        }
    }

    /// <summary>The instance holding an unexpired lease (and its epoch), once there is one with an epoch above <paramref name="after"/>.</summary>
    private async Task<(int Instance, long Epoch)> LeaderAsync(CancellationToken token, long after = 0)
    {
        (int, long) found = default;
        await Until(
            async () =>
            {
                await using var connection = new NpgsqlConnection(_connection);
                await connection.OpenAsync(token);
                await using var command = new NpgsqlCommand("SELECT holder, epoch FROM leader_lease WHERE expires_at > now();", connection);
                await using var reader = await command.ExecuteReaderAsync(token);
                if (!await reader.ReadAsync(token) || reader.GetInt64(1) <= after)
                {
                    return false;
                }

                found = (Array.IndexOf(["a", "b", "c"], reader.GetString(0)), reader.GetInt64(1));
                return true;
            },
            "a leader with an epoch above " + after.ToString(CultureInfo.InvariantCulture),
            token);
        return found;
    }

    /// <summary>What each live instance's <c>stratumproxy_leader</c> says.</summary>
    private async Task<List<bool>> LeadersReportedAsync(CancellationToken token)
    {
        var said = new List<bool>();
        foreach (var proxy in _proxies.Where(p => p is { HasExited: false }))
        {
            using var http = new HttpClient { BaseAddress = proxy!.Admin };
            var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), token);
            said.Add(LeaderMetric().Match(metrics) is { Success: true } m && m.Groups[1].Value == "1");
        }

        return said;
    }

    /// <summary>Waits until every running rig has had <paramref name="more"/> more shares accepted by <paramref name="pool"/>: it mines there now.</summary>
    private async Task RunningRigsMineOnAsync(TestPool pool, int more, string what, CancellationToken token)
    {
        var running = Enumerable.Range(0, Rigs).Where(i => _rigs[i].Running).Select(PoolWorker).ToList();
        var before = running.ToDictionary(w => w, w => pool.Worker(w).Accepted);
        await Until(() => running.All(w => pool.Worker(w).Accepted >= before[w] + more), what, token);
    }

    /// <summary>The instance whose miner listener a rig's miner points at.</summary>
    private int InstanceOf(int rig) => Array.FindIndex(_proxies, p => p is { HasExited: false } && p.MinerPort == _miners[rig].Port);

    private async Task AssertLedgerMatchesEvaluationsAsync(CancellationToken token)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(token);
        var evaluations = new List<(long Epoch, DateTime At)>();
        await using (var command = new NpgsqlCommand("SELECT epoch, at_utc FROM evaluation ORDER BY epoch, at_utc;", connection))
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            while (await reader.ReadAsync(token))
            {
                evaluations.Add((reader.GetInt64(0), reader.GetDateTime(1)));
            }
        }

        var expected = evaluations.Zip(evaluations.Skip(1))
            .Where(p => p.First.Epoch == p.Second.Epoch)
            .Sum(p => Math.Min(1, (p.Second.At - p.First.At).TotalHours));
        await using (var command = new NpgsqlCommand("SELECT rig, sum(hours) FROM rig_hour GROUP BY rig ORDER BY rig;", connection))
        await using (var reader = await command.ExecuteReaderAsync(token))
        {
            var booked = new Dictionary<string, double>(StringComparer.Ordinal);
            while (await reader.ReadAsync(token))
            {
                booked[reader.GetString(0)] = reader.GetDouble(1);
            }

            Assert.Equal(Rigs, booked.Count);
            foreach (var (rig, hours) in booked)
            {
                Assert.True(Math.Abs(hours - expected) < 1e-6, $"{rig}: {hours * 3600:0.000} s booked, {expected * 3600:0.000} s between evaluations");
            }
        }
    }

    private async Task<long> CountAsync(string sql, CancellationToken token)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(token);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(token), CultureInfo.InvariantCulture);
    }

    private string Config()
    {
        var rigs = string.Join(",", Enumerable.Range(0, Rigs).Select(i =>
            $$"""{ "Worker": "{{Worker(i)}}", "Model": "Antminer S19j Pro", "Api": "cgminer", "Address": "{{_rigs[i].Address}}" }"""));
        return $$"""
            {
              "Logging": { "LogLevel": { "Default": "Information", "Microsoft": "Warning", "Microsoft.Hosting.Lifetime": "Warning" } },
              "Economics": {
                "Interval": "00:00:01",
                "PriceUsd": 60000,
                "ElectricityUsdPerKwh": 0,
                "Pools": { "primary": { "FeePercent": 20 }, "pool2": { "FeePercent": 0 } },
                "Rigs": [ {{rigs}} ]
              },
              "Curtailment": {
                "DryRun": false,
                "Interval": "00:00:01",
                "MinOnDwell": "00:10:00",
                "MinOffDwell": "00:10:00",
                "MarginUsdPerDay": 0,
                "MarginPercent": 0,
                "PowerCycleCostUsd": 0,
                "PowerCapKw": 9,
                "AuditLog": "data/decisions.jsonl"
              }
            }
            """;
    }

    private static string Name(int instance) => ((char)('a' + instance)).ToString();

    private static string Worker(int rig) => "farm.r" + rig.ToString(CultureInfo.InvariantCulture);

    /// <summary>The rig's worker as the pools see it (account plus worker).</summary>
    private static string PoolWorker(int rig) => "acct.r" + rig.ToString(CultureInfo.InvariantCulture);

    private string Outputs() => string.Join(
        Environment.NewLine,
        _proxies.Select((p, i) => $"---- instance {Name(i)} ----{Environment.NewLine}{p?.Output}"));

    private Task Until(Func<bool> condition, string what, CancellationToken token) =>
        Until(() => Task.FromResult(condition()), what, token);

    private Task Until(Func<Task<bool>> condition, string what, CancellationToken token) => Until(condition, () => what, token);

    private async Task Until(Func<Task<bool>> condition, Func<string> what, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(Patience);
        try
        {
            while (!await NotYetMigrated(condition))
            {
                await Task.Delay(100, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new Xunit.Sdk.XunitException($"waited {Patience.TotalSeconds} s for {what()}; the instances said:{Environment.NewLine}{Outputs()}");
        }
    }

    /// <summary>A table the instances have not created yet reads as "not yet".</summary>
    private static async Task<bool> NotYetMigrated(Func<Task<bool>> condition)
    {
        try
        {
            return await condition();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^stratumproxy_leader (\d)", RegexOptions.Multiline)]
    private static partial Regex LeaderMetric();
}
