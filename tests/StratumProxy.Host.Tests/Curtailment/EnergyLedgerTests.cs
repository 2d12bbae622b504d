using StratumProxy.Curtailment;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed class EnergyLedgerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-ledger-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Amounts_add_up_per_rig_and_hour_and_survive_a_restart()
    {
        var path = Path.Combine(_directory, "ledger.db");
        var t = new DateTimeOffset(2026, 11, 25, 14, 10, 0, TimeSpan.Zero);
        using (var ledger = new EnergyLedger(path))
        {
            ledger.Add([new RigHour("rig1", t, 0.5, 0, 0.3, 0.04, 0), new RigHour("rig2", t, 0, 0.6, 0, 0, 0.05)]);
            ledger.Add([new RigHour("rig1", t.AddMinutes(30), 0.5, 0, 0.3, 0.04, 0), new RigHour("rig1", t.AddHours(1), 1, 0, 0.6, 0.08, 0)]);
        }

        using var reopened = new EnergyLedger(path);
        var hour = reopened.Query(t.AddMinutes(-10), t.AddMinutes(50));
        Assert.Equal(2, hour.Count);
        var rig1 = hour.Single(r => r.Rig == "rig1");
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 14, 0, 0, TimeSpan.Zero), rig1.Hour);
        Assert.Equal(1.0, rig1.KwhUsed, 9);
        Assert.Equal(0.6, rig1.RevenueUsd, 9);
        Assert.Equal(0.08, rig1.CostUsd, 9);
        Assert.Equal(0.05, hour.Single(r => r.Rig == "rig2").SavingsUsd, 9);

        var day = reopened.Query(t.Date, t.Date.AddDays(1), "rig1");
        Assert.Equal(2, day.Count);
        Assert.Equal(2.0, day.Sum(r => r.KwhUsed), 9);
        Assert.Equal("2026-11-25T14:00:00Z", EnergyLedger.HourKey(new DateTimeOffset(2026, 11, 25, 15, 59, 0, TimeSpan.FromHours(1))));
    }

    [Fact]
    public void The_loops_memory_is_kept_in_wal_mode_and_a_booking_is_all_or_nothing()
    {
        var path = Path.Combine(_directory, "memory.db");
        var t = new DateTimeOffset(2026, 11, 25, 14, 10, 0, TimeSpan.Zero);
        var asleep = new RigMemory("rig1", "sleeping", null, 0, t, new RigTrail("sleep", "confirmed", t, t, t, "found_awake", t.AddMinutes(-5)));
        using (var ledger = new EnergyLedger(path))
        {
            ledger.Commit([new RigHour("rig1", t, 0, 1, 0, 0, 0.1)], [asleep, asleep with { Rig = "rig2", State = "running", Pool = "main", Mode = 1 }], [], new Dictionary<string, string?> { ["k"] = "v" });
            ledger.Commit([], [], ["rig2"], new Dictionary<string, string?>());

            // A booking that fails part-way (a memory row the schema refuses) leaves nothing of itself behind.
            Assert.Throws<InvalidOperationException>(() => ledger.Commit(
                [new RigHour("rig1", t, 0, 5, 0, 0, 5)],
                [asleep with { State = "running" }, asleep with { Rig = "rig3", State = null! }],
                [],
                new Dictionary<string, string?> { ["k"] = "changed" }));
        }

        using var reopened = new EnergyLedger(path);
        Assert.Equal(asleep, Assert.Single(reopened.LoadMemory()).Value);
        Assert.Equal("v", reopened.LoadValues()["k"]);
        Assert.Equal(1, Assert.Single(reopened.Query(t.AddHours(-1), t.AddHours(1))).KwhAvoided, 9);

        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        connection.Open();
        using var mode = connection.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", mode.ExecuteScalar() as string);
    }
}
