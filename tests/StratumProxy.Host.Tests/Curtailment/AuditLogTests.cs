using System.Text.Json;
using System.Text.Json.Serialization;
using StratumProxy.Curtailment;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed class AuditLogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-audit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Batches_are_json_lines_that_survive_reopening_and_rotate_by_size()
    {
        var path = Path.Combine(_directory, "audit", "decisions.jsonl");
        using (var log = new AuditLog(path, maxBytes: 1024, maxFiles: 3))
        {
            log.AppendBatch([new Entry("rig1", "sleep", 1.5), new Entry("rig2", "run", -0.25)], TestJson.Default.Entry);
            Assert.Equal(2, log.ReadCurrent().Count);
        }

        using var reopened = new AuditLog(path, maxBytes: 1024, maxFiles: 3);
        var lines = reopened.ReadCurrent();
        Assert.Equal(2, lines.Count);
        var first = JsonSerializer.Deserialize(lines[0], TestJson.Default.Entry)!;
        Assert.Equal(new Entry("rig1", "sleep", 1.5), first);

        for (var i = 0; i < 100; i++)
        {
            reopened.AppendBatch([new Entry($"rig{i}", "run", i)], TestJson.Default.Entry);
        }

        Assert.True(File.Exists(Path.Combine(_directory, "audit", "decisions.1.jsonl")));
        Assert.True(File.Exists(Path.Combine(_directory, "audit", "decisions.2.jsonl")));
        Assert.False(File.Exists(Path.Combine(_directory, "audit", "decisions.3.jsonl")));
        Assert.All(Directory.GetFiles(Path.Combine(_directory, "audit")), f => Assert.True(new FileInfo(f).Length < 2048));
        var last = JsonSerializer.Deserialize(reopened.ReadCurrent()[^1], TestJson.Default.Entry)!;
        Assert.Equal("rig99", last.Rig);
    }

    [Fact]
    public void A_torn_last_line_from_a_killed_process_is_skipped_and_the_next_entry_starts_on_its_own_line()
    {
        var path = Path.Combine(_directory, "audit", "decisions.jsonl");
        using (var log = new AuditLog(path))
        {
            log.AppendBatch([new Entry("rig1", "sleep", 1.5), new Entry("rig2", "run", -0.25)], TestJson.Default.Entry);
        }

        // The process died in the middle of the third line.
        File.AppendAllText(path, "{\"rig\":\"rig3\",\"act");

        using var reopened = new AuditLog(path);
        Assert.Equal(["rig1", "rig2"], reopened.ReadCurrent().Select(l => JsonSerializer.Deserialize(l, TestJson.Default.Entry)!.Rig));
        reopened.AppendBatch([new Entry("rig4", "wake", 2)], TestJson.Default.Entry);
        Assert.Equal(["rig1", "rig2", "rig4"], reopened.ReadCurrent().Select(l => JsonSerializer.Deserialize(l, TestJson.Default.Entry)!.Rig));
        var raw = File.ReadAllLines(path);
        Assert.Equal(4, raw.Length);
        Assert.Equal("{\"rig\":\"rig3\",\"act", raw[2]);
        Assert.False(AuditLog.IsWholeJson(raw[2]));
        Assert.True(AuditLog.IsWholeJson(raw[3]));
    }
}

public sealed record Entry(string Rig, string Action, double ProfitUsdPerDay);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Entry))]
public sealed partial class TestJson : JsonSerializerContext;
