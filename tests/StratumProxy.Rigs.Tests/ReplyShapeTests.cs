using System.Text;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Antminer;
using StratumProxy.Rigs.BraiinsOs;
using StratumProxy.Rigs.Tests.Infrastructure;
using StratumProxy.Rigs.Whatsminer;

namespace StratumProxy.Rigs.Tests;

/// <summary>
/// A rig that answers a number, a string or an array where its recorded reply has an object (or an object where it has
/// a value) gets a result from the client, never an exception. Each recorded reply is replayed with one member at a time
/// reshaped, every member in turn. (Found by the rig-api fuzz target: a Whatsminer v3 summary whose <c>msg</c> was not
/// an object threw InvalidOperationException out of the read, and so did Braiins OS and stock Antminer replies.)
/// </summary>
public sealed class ReplyShapeTests
{
    /// <summary>The families on the 4028-style RPC, each with the recorded replies of one status read, in order.</summary>
    public static TheoryData<string> RpcFamilies => ["cgminer", "luxos", "whatsminer_v2", "whatsminer_v3", "avalon"];

    [Theory]
    [MemberData(nameof(RpcFamilies))]
    public async Task A_status_read_of_every_rpc_family_takes_every_reshaped_member_to_a_result(string family)
    {
        var (replies, create) = StatusRead(family);
        var framed = family == "whatsminer_v3";
        var recorded = replies.Select(RigVectors.ReplyText).ToArray();
        var escaped = new List<string>();
        var runs = 0;

        for (var reply = 0; reply < recorded.Length; reply++)
        {
            foreach (var (where, json) in Reshaped(recorded[reply]))
            {
                // As the rig sends it: a v3 frame (length, then the JSON), otherwise the JSON and cgminer's NUL.
                var steps = recorded.Select((text, i) => Encoding.UTF8.GetBytes(i == reply ? json : text))
                    .Select(bytes => ReplayStep.Reply(framed ? WhatsminerV3RigClient.Frame(bytes) : [.. bytes, 0]));
                await using var server = new ReplayServer(framed, [.. steps]);
                var client = create(server.Endpoint);
                runs++;
                await Expect(escaped, $"{replies[reply]} {where}", () => client.ReadStatusAsync(CancellationToken.None));
            }
        }

        AssertNoneEscaped(escaped, runs);
    }

    private static (string[] Replies, Func<RigEndpoint, IRigClient> Create) StatusRead(string family) => family switch
    {
        "cgminer" => (["cgminer.joined.summary_pools_config"], endpoint => new Cgminer.CgminerRigClient(endpoint, new ObservableTime())),
        "luxos" => (["luxos.summary", "luxos.pools", "luxos.config", "luxos.power"], endpoint => new LuxOs.LuxOsRigClient(endpoint, new ObservableTime())),
        "whatsminer_v2" => (["wm2.summary.m30s", "wm2.pools", "wm2.status.new"], endpoint => new WhatsminerV2RigClient(endpoint with { Password = "admin" }, new ObservableTime())),
        "whatsminer_v3" => (["wm3.device_info.m50", "wm3.status.summary", "wm3.status.pools", "wm3.miner_setting"], endpoint => new WhatsminerV3RigClient(endpoint, new ObservableTime())),
        "avalon" => (["avalon.summary.q", "avalon.pools.q", "avalon.stats_mm.a1566"], endpoint => new Avalon.AvalonRigClient(endpoint, new ObservableTime())),
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    [Fact]
    public async Task Braiins_os_reads_every_reshaped_member_to_a_result()
    {
        var answers = new Dictionary<string, string>
        {
            ["/api/v1/miner/details"] = Recorded("bos.rest.miner_details"),
            ["/api/v1/miner/stats"] = Recorded("bos.rest.miner_stats"),
            ["/api/v1/pools/"] = Recorded("bos.rest.pools"),
            ["/api/v1/performance/tuner-state"] = Recorded("bos.rest.tuner_state"),
        };
        await using var server = new MiniHttpServer(request => request.Path == "/api/v1/auth/login"
            ? HttpResponseSpec.Json("{\"token\":\"eUInGZBQ4yGyKiDe\",\"timeout_s\":3600}")
            : answers.TryGetValue(request.Path, out var body) ? HttpResponseSpec.Json(body) : new HttpResponseSpec(404, ""));
        using var client = new BraiinsOsRigClient(new RigEndpoint("127.0.0.1", server.Port), new ObservableTime());
        await EachAnswerReshapedAsync(answers, () => client.ReadStatusAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Antminer_sleep_takes_every_reshaped_answer_to_a_result()
    {
        var config = Recorded("antminer.get_miner_conf");
        var written = Recorded("antminer.set_miner_conf.sleep");
        var answers = new Dictionary<string, string>
        {
            ["/cgi-bin/get_miner_conf.cgi"] = config,
            ["/cgi-bin/set_miner_conf.cgi"] = written,
        };
        await using var server = new MiniHttpServer(request =>
            answers.TryGetValue(request.Path, out var body) ? HttpResponseSpec.Json(body) : new HttpResponseSpec(404, ""));
        using var client = new AntminerStockRigClient(new RigEndpoint("127.0.0.1", server.Port), new ObservableTime());
        await EachAnswerReshapedAsync(answers, () => client.SleepAsync(CancellationToken.None));
    }

    [Fact]
    public void Reshaping_replaces_one_member_at_a_time_with_each_other_shape()
    {
        var variants = Reshaped("{\"a\":{\"b\":1},\"c\":[2]}").ToDictionary(v => v.Where, v => v.Json);

        Assert.Equal("1", variants["$ → 1"]);
        Assert.Equal("{\"a\":[],\"c\":[2]}", variants["$.a → []"]);
        Assert.Equal("{\"a\":{\"b\":{}},\"c\":[2]}", variants["$.a.b → {}"]);
        Assert.Equal("{\"a\":{\"b\":1},\"c\":\"x\"}", variants["$.c → \"x\""]);
        Assert.Equal("{\"a\":{\"b\":1},\"c\":[[]]}", variants["$.c[0] → []"]);
        Assert.DoesNotContain("$.a → {}", variants.Keys);
        Assert.DoesNotContain("$.a.b → 1", variants.Keys);
    }

    /// <summary>Every node of the reply (the root too), one at a time, replaced by each shape of another kind.</summary>
    internal static IEnumerable<(string Where, string Json)> Reshaped(string json)
    {
        var paths = new List<(string Where, object[] Steps, JsonNode? Node)>();
        Walk(JsonNode.Parse(json), "$", [], paths);
        foreach (var (where, steps, node) in paths)
        {
            foreach (var shape in (string[])["1", "\"x\"", "[]", "{}"])
            {
                var replacement = JsonNode.Parse(shape)!;
                if (node is not null && node.GetValueKind() == replacement.GetValueKind())
                {
                    continue;
                }

                if (steps.Length == 0)
                {
                    yield return ($"{where} → {shape}", shape);
                    continue;
                }

                var copy = JsonNode.Parse(json)!;
                var parent = steps[..^1].Aggregate(copy, (current, step) => step is int index ? current[index]! : current[(string)step]!);
                if (steps[^1] is int item)
                {
                    parent[item] = replacement;
                }
                else
                {
                    parent[(string)steps[^1]] = replacement;
                }

                yield return ($"{where} → {shape}", copy.ToJsonString());
            }
        }
    }

    private static void Walk(JsonNode? node, string where, object[] steps, List<(string, object[], JsonNode?)> paths)
    {
        paths.Add((where, steps, node));
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, member) in obj)
                {
                    Walk(member, $"{where}.{name}", [.. steps, name], paths);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], $"{where}[{i}]", [.. steps, i], paths);
                }

                break;
        }
    }

    /// <summary>Each recorded answer of an HTTP rig reshaped in turn (the others as recorded), <paramref name="call"/> each time.</summary>
    private static async Task EachAnswerReshapedAsync<T>(Dictionary<string, string> answers, Func<Task<T>> call)
    {
        var escaped = new List<string>();
        var runs = 0;
        foreach (var (path, json) in answers.ToList())
        {
            foreach (var (where, reshaped) in Reshaped(json))
            {
                answers[path] = reshaped;
                runs++;
                await Expect(escaped, $"{path} {where}", call);
            }

            answers[path] = json;
        }

        AssertNoneEscaped(escaped, runs);
    }

    private static string Recorded(string id) => RigVectors.Example(id)["response"]!["json"]!.ToJsonString();

    private static async Task Expect<T>(List<string> escaped, string what, Func<Task<T>> call)
    {
        try
        {
            Assert.NotNull(await call());
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            escaped.Add($"{what}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static void AssertNoneEscaped(List<string> escaped, int runs)
    {
        Assert.True(runs > 20, $"only {runs} reshaped replies");
        Assert.True(escaped.Count == 0, $"{escaped.Count} of {runs} reshaped replies escaped as exceptions:\n" + string.Join('\n', escaped.Take(10)));
    }
}
