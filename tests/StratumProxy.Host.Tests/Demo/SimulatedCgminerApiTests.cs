using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using StratumProxy.Rigs;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Simulators;

namespace StratumProxy.Host.Tests.Demo;

/// <summary>
/// The demo's rig API answers in the shape real cgminer 4.11.1 was recorded answering (tests/vectors, family
/// "cgminer"), and the product's own cgminer client sleeps and wakes a simulated rig through it.
/// </summary>
public sealed class SimulatedCgminerApiTests
{
    [Theory]
    [InlineData("summary", "cgminer.summary.json", "SUMMARY")]
    [InlineData("pools", "cgminer.pools.json", "POOLS")]
    [InlineData("config", "cgminer.config", "CONFIG")]
    [InlineData("version", "cgminer.version.json", "VERSION")]
    public async Task Replies_have_the_recorded_fields_in_the_recorded_order(string command, string recordedId, string section)
    {
        await using var api = new SimulatedCgminerApi(new SimulatedRig("rig1", 1e5, 3, TimeProvider.System), "stratum+tcp://127.0.0.1:3333", TimeProvider.System);
        var reply = await CallAsync(api.Address, $"{{\"command\":\"{command}\"}}");
        var recorded = JsonNode.Parse(Recorded(recordedId))!.AsObject();

        Assert.Equal(Keys(recorded), Keys(reply));
        Assert.Equal(Keys(recorded["STATUS"]![0]!.AsObject()), Keys(reply["STATUS"]![0]!.AsObject()));
        Assert.Equal(Keys(recorded[section]![0]!.AsObject()), Keys(reply[section]![0]!.AsObject()));
        Assert.Equal((string?)recorded["STATUS"]![0]!["Code"]!.ToString(), (string?)reply["STATUS"]![0]!["Code"]!.ToString());
    }

    [Fact]
    public async Task Joined_reply_has_the_recorded_sections()
    {
        await using var api = new SimulatedCgminerApi(new SimulatedRig("rig1", 1e5, 3, TimeProvider.System), "stratum+tcp://127.0.0.1:3333", TimeProvider.System);
        var reply = await CallAsync(api.Address, "{\"command\":\"summary+pools+config\"}");
        var recorded = JsonNode.Parse(Recorded("cgminer.joined.summary_pools_config"))!.AsObject();
        Assert.Equal(Keys(recorded), Keys(reply));
        Assert.Equal(Keys(recorded["summary"]![0]!["SUMMARY"]![0]!.AsObject()), Keys(reply["summary"]![0]!["SUMMARY"]![0]!.AsObject()));
    }

    [Fact]
    public async Task The_products_cgminer_client_sleeps_and_wakes_the_simulated_rig()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var rig = new SimulatedRig("rig1", 2e5, 3, TimeProvider.System);
        await using var api = new SimulatedCgminerApi(rig, "stratum+tcp://127.0.0.1:3333", TimeProvider.System);
        var parts = api.Address.Split(':');
        var client = new CgminerRigClient(new RigEndpoint(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)), TimeProvider.System);

        var running = await client.ReadStatusAsync(timeout.Token);
        Assert.Equal(RigMiningState.Mining, running.Status!.State);
        Assert.Equal(2e5 / 1e12, running.Status.HashrateThs!.Value, 9);

        var sleep = await client.SleepAsync(timeout.Token);
        Assert.True(sleep is RigUnconfirmed { Acknowledged: true }, sleep.ToString());
        Assert.Equal([false, false, false], rig.Boards);
        Assert.Equal(0, rig.CurrentHashesPerSecond);
        Assert.Equal(RigMiningState.Asleep, (await client.ReadStatusAsync(timeout.Token)).Status!.State);

        var wake = await client.WakeAsync(timeout.Token);
        Assert.True(wake is RigUnconfirmed { Acknowledged: true }, wake.ToString());
        Assert.Equal([true, true, true], rig.Boards);
        Assert.Equal(RigMiningState.Mining, (await client.ReadStatusAsync(timeout.Token)).Status!.State);
    }

    private static List<string> Keys(JsonObject node) => [.. node.Select(p => p.Key)];

    private static async Task<JsonObject> CallAsync(string address, string request)
    {
        var parts = address.Split(':');
        using var client = new TcpClient();
        await client.ConnectAsync(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        var text = Encoding.UTF8.GetString(buffer.ToArray());
        Assert.EndsWith("\0", text, StringComparison.Ordinal);
        return JsonNode.Parse(text.TrimEnd('\0'))!.AsObject();
    }

    private static string Recorded(string id)
    {
        var vectors = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "rig-api-examples.json")))!;
        foreach (var example in vectors["families"]!["cgminer"]!["examples"]!.AsArray())
        {
            if ((string?)example!["id"] == id)
            {
                return ((string)example["response"]!["payload"]!).TrimEnd('\0');
            }
        }

        throw new KeyNotFoundException(id);
    }
}
