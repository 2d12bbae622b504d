using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Economics.Rigs;
using StratumProxy.Farm;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Control;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// Issue 5's "done when", in-process and over real sockets: the real host with two real pools, real miners, rigs whose
/// management API is a cgminer RPC server, a static price changed between evaluations and a flat tariff. The test
/// drives the curtailment loop's evaluations itself and checks that what happened (pools, shares, rig devices,
/// metrics) is what the audit log says, and that the ledger books exactly the energy the decisions imply.
/// </summary>
public sealed class FarmLoopTests : IDisposable
{
    private const double UsdPerKwh = 0.08;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-e2e-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Rigs_switch_to_the_better_pool_the_worse_rig_sleeps_and_wakes_and_the_ledger_matches_the_audit_log()
    {
        // Network difficulty 65536 (nbits 1b00ffff) puts a CPU miner's shutdown price in the dollars-to-thousands range.
        var poolOptions = new TestPoolOptions { Difficulty = 1e-5, NBits = 0x1b00ffff };
        await using var expensive = await TestPool.StartAsync(poolOptions);
        await using var cheap = await TestPool.StartAsync(poolOptions);

        // The S19j Pro has three hash boards (ASC 0-2), the S21 XP three as well; only their own API can sleep them.
        await using var s19Api = new FakeCgminer(devices: 3, megahashesPerSecond: 100e6);
        await using var s21Api = new FakeCgminer(devices: 3, megahashesPerSecond: 270e6);

        var cli = CommandLine.Parse([
            "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
            "--pool", expensive.Url, "--pool", cheap.Url, "--user", "acct",
            "--start-difficulty", "0.00001", "--min-difficulty", "0.0000001",
            "--Economics:Interval=1.00:00:00",
            "--Economics:PriceUsd=60000",
            "--Economics:ElectricityUsdPerKwh=" + UsdPerKwh.ToString(CultureInfo.InvariantCulture),
            "--Economics:Pools:primary:FeePercent=20",
            "--Economics:Pools:pool2:FeePercent=0",
            "--Economics:Rigs:0:Worker=farm.s19", "--Economics:Rigs:0:Model=Antminer S19j Pro",
            "--Economics:Rigs:0:Api=cgminer", "--Economics:Rigs:0:Address=" + s19Api.Address,
            "--Economics:Rigs:1:Worker=farm.s21xp", "--Economics:Rigs:1:Model=Antminer S21 XP",
            "--Economics:Rigs:1:Api=cgminer", "--Economics:Rigs:1:Address=" + s21Api.Address,
            "--Curtailment:DryRun=false",

            // The background service would evaluate on its own (every interval, and at once on a price move, which
            // this test makes): it stays off so that every evaluation is one the test drives and checks.
            "--Curtailment:Enabled=false",
            "--Curtailment:Interval=7.00:00:00",
            "--Curtailment:MinOffDwell=00:00:01",
            "--Curtailment:MinOnDwell=00:00:01",
            "--Curtailment:PowerCycleCostUsd=0",
            "--Curtailment:AuditLog=data/decisions.jsonl",
            "--Curtailment:Ledger=data/energy.db",
        ]);
        await using var app = ProxyHost.Build(cli, _directory, logging: l => l.ClearProviders());
        await app.StartAsync();
        var port = app.Services.GetRequiredService<ProxyService>().Endpoints[0].Port;
        var proxy = app.Services.GetRequiredService<IProxyControl>();
        var farm = app.Services.GetRequiredService<FarmEconomics>();
        var loop = app.Services.GetRequiredService<CurtailmentLoop>();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        // The proxy only sees hash rate, and these miners all hash at about one CPU's pace. The S21 XP rig therefore
        // runs three connections (one per hash board, as some firmware does) so that per observed hash it is clearly
        // the more efficient rig (about 2.4 times), as its catalog J/TH says it is; the S19j Pro is one connection.
        await using var s19 = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = port, Worker = "farm.s19" });
        await using var s21a = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = port, Worker = "farm.s21xp" });
        await using var s21b = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = port, Worker = "farm.s21xp" });
        await using var s21c = new TestMiner(new TestMinerOptions { Host = "127.0.0.1", Port = port, Worker = "farm.s21xp" });
        TestMiner[] miners = [s19, s21a, s21b, s21c];

        // A rig whose boards are all disabled stops hashing: its miner stops submitting.
        Task? s19Stopped = null;
        s19Api.PowerChanged += running =>
        {
            if (!running)
            {
                s19Stopped = s19.StopHashingAsync();
            }
        };

        // Both pools up before the miners come, so that every miner starts on the first (priority) pool.
        await Eventually(() => proxy.Snapshot().Pools is { Count: 2 } pools && pools.All(p => p.IsReady));
        foreach (var miner in miners)
        {
            await miner.StartAsync();
        }

        foreach (var miner in miners)
        {
            await miner.WaitForAcceptedAsync(30, Patience);
        }

        Assert.True(proxy.Snapshot().Sessions.All(s => s.Pool == "primary"), Describe(proxy, miners));
        Assert.True(cheap.Accepted == 0, Describe(proxy, miners));

        // 1. At a high price both rigs earn; the 0 % pool pays 25 % more than the 20 % one: both move, inside the proxy.
        var jobsBeforeSwitch = miners.ToDictionary(m => m, m => m.Submits.Select(x => x.JobId).Append(m.CurrentJobId).ToHashSet(StringComparer.Ordinal));
        var high = 20 * ShutdownPrices(farm).Max();
        farm.Options = farm.Options with { PriceUsd = high };
        await loop.EvaluateAsync(CancellationToken.None);
        var first = Audit(loop);
        Assert.Equal(2, first.Count);
        foreach (var worker in new[] { "farm.s19", "farm.s21xp" })
        {
            var entry = Assert.Single(first, e => e.Rig == worker);
            Assert.Equal(("pool_switch", "most_profitable", "confirmed", "primary/0", "pool2/0", false), (entry.Kind, entry.Reason, entry.Outcome, entry.From, entry.To, entry.DryRun));
            Assert.True(entry.GainUsdPerDay > 0);
        }

        Assert.All(proxy.Snapshot().Sessions, s => Assert.Equal("pool2", s.Pool));
        await cheap.WaitForAcceptedAsync(5, Patience, "acct.s19");
        await cheap.WaitForAcceptedAsync(10, Patience, "acct.s21xp");

        // Once every miner hashes a job of the cheap pool, the expensive one gets nothing more.
        await Eventually(() => miners.All(m => m.CurrentJobId is { } job && !jobsBeforeSwitch[m].Contains(job)));
        foreach (var miner in miners)
        {
            await miner.WaitForSubmittedAsync(miner.Submitted + 1, Patience);
        }

        await Eventually(() => miners.All(m => m.Submits.All(x => x.Outcome != SubmitOutcome.Pending || !jobsBeforeSwitch[m].Contains(x.JobId))));
        var expensiveSettled = expensive.Accepted;
        Assert.All(miners, m => Assert.Equal(1, m.Connections));

        // Every evaluation starts by reading every rig (the rig is the truth); nothing else was sent to either.
        Assert.Equal(ReadBack, s19Api.Requests);
        Assert.Equal(ReadBack, s21Api.Requests);

        // 2. The price drops between the two rigs' shutdown prices (as the proxy prices them from their observed hash
        // rate, on the pool they are on): exactly the worse rig, the S19j Pro, loses money and is put to sleep.
        var prices = ShutdownPrices(farm);
        Assert.True(prices[0] > 1.3 * prices[1], $"the S19j Pro should be the worse rig per observed hash: shutdown prices {prices[0]} vs {prices[1]}");
        var low = Math.Sqrt(prices[0] * prices[1]);
        farm.Options = farm.Options with { PriceUsd = low };
        await loop.EvaluateAsync(CancellationToken.None);
        var second = Audit(loop).Skip(first.Count).ToList();
        var sleep = Assert.Single(second, e => e.Kind != "none");
        Assert.Equal(("farm.s19", "sleep", "every_option_loses_money", "confirmed", "off", low), (sleep.Rig, sleep.Kind, sleep.Reason, sleep.Outcome, sleep.To, sleep.PriceUsd));
        Assert.True(sleep.CurrentProfitUsdPerDay < 0);
        Assert.All(sleep.Options.Where(o => o.Option != "off" && double.IsFinite(o.ProfitUsdPerDay)), o => Assert.True(o.ProfitUsdPerDay <= 0, o.ToString()));
        Assert.Equal(
            [.. ReadBack, .. ReadBack, Request("devs"), Request("ascdisable", "0"), Request("ascdisable", "1"), Request("ascdisable", "2"), Request("summary+pools+config"), Request("devs")],
            s19Api.Requests);
        Assert.Equal([false, false, false], s19Api.Enabled);
        Assert.Equal([.. ReadBack, .. ReadBack], s21Api.Requests);
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Value(metrics, "stratumproxy_rig_state{worker=\"farm.s19\",state=\"sleeping\"}"));
        Assert.Equal(0, Value(metrics, "stratumproxy_rig_state{worker=\"farm.s19\",state=\"running\"}"));
        Assert.Equal(1, Value(metrics, "stratumproxy_rig_state{worker=\"farm.s21xp\",state=\"running\"}"));
        Assert.Equal(1, Value(metrics, "stratumproxy_decisions_total{kind=\"sleep\",reason=\"every_option_loses_money\",mode=\"live\",outcome=\"confirmed\"}"));
        Assert.NotNull(s19Stopped);
        await s19Stopped;

        // 3. The price recovers (the off dwell of 1 s passed during the 3 s read-back): the S19j Pro is woken.
        farm.Options = farm.Options with { PriceUsd = high };
        await loop.EvaluateAsync(CancellationToken.None);
        var third = Audit(loop).Skip(first.Count + second.Count).ToList();
        var wake = Assert.Single(third, e => e.Kind != "none");
        Assert.Equal(("farm.s19", "wake", "confirmed", "off", "pool2/0"), (wake.Rig, wake.Kind, wake.Outcome, wake.From, wake.To));
        Assert.Equal(
            [.. ReadBack, Request("devs"), Request("ascenable", "0"), Request("ascenable", "1"), Request("ascenable", "2"), Request("summary+pools+config"), Request("devs")],
            s19Api.Requests.Skip(10));
        Assert.Equal([true, true, true], s19Api.Enabled);
        metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(1, Value(metrics, "stratumproxy_rig_state{worker=\"farm.s19\",state=\"running\"}"));
        Assert.Equal(1, Value(metrics, "stratumproxy_decisions_total{kind=\"wake\",reason=\"most_profitable\",mode=\"live\",outcome=\"confirmed\"}"));
        Assert.Equal("pool2", Assert.Single(proxy.Snapshot().Sessions, s => s.Worker == "farm.s19").Pool);

        // 4. One more evaluation closes the last interval; nothing changes.
        var beforeLast = DateTimeOffset.UtcNow;
        await loop.EvaluateAsync(CancellationToken.None);
        var afterLast = DateTimeOffset.UtcNow;
        Assert.DoesNotContain(Audit(loop).Skip(first.Count + second.Count + third.Count), e => e.Kind != "none");
        Assert.Equal([.. ReadBack, .. ReadBack, .. ReadBack, .. ReadBack], s21Api.Requests);
        Assert.Equal(ReadBack, s19Api.Requests.Skip(18));

        // The ledger: each interval between evaluations is booked in the state the previous evaluation left the rig
        // in. The audit log gives the instants of the first three evaluations; the last is bracketed by the clock
        // (its width is the tolerance).
        var t1 = first[0].At;
        var t2 = sleep.At;
        var t3 = wake.At;
        var catalog = RigCatalog.LoadEmbedded();
        var kw19 = catalog.Find("Antminer S19j Pro")!.Nominal.Power.Watts / 1000;
        var kw21 = catalog.Find("Antminer S21 XP")!.Nominal.Power.Watts / 1000;
        var rows19 = loop.Ledger.Query(t1.AddHours(-1), afterLast.AddHours(1), "farm.s19");
        var rows21 = loop.Ledger.Query(t1.AddHours(-1), afterLast.AddHours(1), "farm.s21xp");
        var slack = (afterLast - beforeLast).TotalHours;
        AssertWithin(kw19 * ((t2 - t1) + (beforeLast - t3)).TotalHours, kw19 * slack, rows19.Sum(r => r.KwhUsed), "S19j Pro kWh used");
        Assert.Equal(kw19 * (t3 - t2).TotalHours, rows19.Sum(r => r.KwhAvoided), 9);
        AssertWithin(kw21 * (beforeLast - t1).TotalHours, kw21 * slack, rows21.Sum(r => r.KwhUsed), "S21 XP kWh used");
        Assert.Equal(0, rows21.Sum(r => r.KwhAvoided));

        // Money: a flat tariff costs kWh × price; what the sleep saved is the loss the sleep decision avoided, at the
        // price that held while the rig slept.
        Assert.Equal(UsdPerKwh * rows19.Sum(r => r.KwhUsed), rows19.Sum(r => r.CostUsd), 9);
        Assert.Equal(UsdPerKwh * rows21.Sum(r => r.KwhUsed), rows21.Sum(r => r.CostUsd), 9);
        var saved = -sleep.CurrentProfitUsdPerDay * (t3 - t2).TotalDays;
        AssertWithin(saved, 1e-9 * saved, rows19.Sum(r => r.SavingsUsd), "S19j Pro savings");
        Assert.Equal(0, rows21.Sum(r => r.SavingsUsd));

        // 5. Every submit of every miner got exactly one answer, on the one connection it ever opened; the expensive
        // pool received nothing once the miners had the cheap pool's work.
        foreach (var miner in miners)
        {
            await miner.StopHashingAsync();
        }

        foreach (var miner in miners)
        {
            await miner.WaitForAnswersAsync(Patience);
            Assert.True(miner.EverySubmitAnsweredOnce, miner.ToString());
            // A share of the old pool's job still in flight at the switch may be refused as stale; nothing mined on a
            // job issued after it may be, and none is judged at a difficulty it was not sent with (no 23).
            var rejected = miner.Submits.Where(x => x.Outcome == SubmitOutcome.Rejected).ToList();
            Assert.True(rejected.All(x => jobsBeforeSwitch[miner].Contains(x.JobId)), "rejected after the switch: " + string.Join("; ", rejected));
            Assert.DoesNotContain(rejected, x => x.ErrorCode == 23);
            Assert.Equal(1, miner.Connections);
        }

        Assert.Equal(expensiveSettled, expensive.Accepted);
        await app.StopAsync();
    }

    private static string Describe(IProxyControl proxy, TestMiner[] miners) =>
        string.Join("; ", proxy.Snapshot().Sessions.Select(s => $"{s.Worker} on {s.Pool} from {s.Remote}"))
        + " | " + string.Join("; ", miners.Select(m => m.ToString()));

    /// <summary>The shutdown prices the proxy publishes for the S19j Pro and the S21 XP, evaluated now.</summary>
    private static double[] ShutdownPrices(FarmEconomics farm)
    {
        farm.Evaluate();
        return [farm.LastRigs.Single(r => r.Worker == "farm.s19").ShutdownPriceUsd, farm.LastRigs.Single(r => r.Worker == "farm.s21xp").ShutdownPriceUsd];
    }

    private static List<CurtailmentEntry> Audit(CurtailmentLoop loop) =>
        [.. loop.Audit.ReadCurrent().Select(l => JsonSerializer.Deserialize(l, CurtailmentJsonContext.Default.CurtailmentEntry)!)];

    /// <summary>One status read of a cgminer rig with devices: the joined summary+pools+config, then devs.</summary>
    private static readonly string[] ReadBack = [Request("summary+pools+config"), Request("devs")];

    private static string Request(string command, string? parameter = null) =>
        parameter is null ? $"{{\"command\":\"{command}\"}}" : $"{{\"command\":\"{command}\",\"parameter\":\"{parameter}\"}}";

    private static void AssertWithin(double expected, double tolerance, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance + 1e-12, $"{what}: expected {expected} ± {tolerance}, got {actual}");

    private static async Task Eventually(Func<bool> condition)
    {
        using var guard = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(20, guard.Token).ConfigureAwait(false);
        }
    }

    private static double Value(string metrics, string series)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no series {series} in /metrics");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
