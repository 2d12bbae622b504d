using System.Text;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Stratum.Tests.Protocol;

public sealed class EnvelopeTests
{
    private static StratumEnvelope Parse(string line)
    {
        Assert.True(StratumEnvelope.TryParse(Encoding.UTF8.GetBytes(line), out var envelope, out var error), error.Reason);
        return envelope;
    }

    [Theory]
    [InlineData("{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"cpuminer/2.5.1\"]}", "1", JsonRpcIdKind.Number)]
    [InlineData("{\"params\": [\"1a1\"], \"id\": \"txlist1a1\", \"method\": \"mining.get_transactions\"}", "\"txlist1a1\"", JsonRpcIdKind.String)]
    [InlineData("{\"id\":0,\"method\":\"mining.subscribe\",\"params\":[]}", "0", JsonRpcIdKind.Number)]
    [InlineData("{\"id\":\"a\\\"b\",\"method\":\"mining.ping\"}", "\"a\\\"b\"", JsonRpcIdKind.String)]
    [InlineData("{\"id\":1.5e3,\"method\":\"mining.ping\"}", "1.5e3", JsonRpcIdKind.Number)]
    public void Keeps_the_id_as_its_raw_token(string line, string rawId, JsonRpcIdKind kind)
    {
        var envelope = Parse(line);
        Assert.Equal(kind, envelope.Id.Kind);
        Assert.Equal(rawId, Encoding.UTF8.GetString(envelope.Id.RawJson));
        Assert.Equal(StratumMessageKind.Request, envelope.Kind);
    }

    [Fact]
    public void Finds_members_by_key_in_any_order_and_classifies_the_line()
    {
        var paramsFirst = Parse("{\"params\":[0.001],\"id\":null,\"method\":\"mining.set_difficulty\"}");
        Assert.Equal(StratumMessageKind.Notification, paramsFirst.Kind);
        Assert.Equal(StratumMethod.SetDifficulty, paramsFirst.Method);

        var resultFirst = Parse("{\"result\":true,\"error\":null,\"id\":3}");
        Assert.Equal(StratumMessageKind.Response, resultFirst.Kind);
        Assert.Equal("3", resultFirst.Id.ToString());

        var noId = Parse("{\"method\":\"mining.notify\",\"params\":[]}");
        Assert.Equal(StratumMessageKind.Notification, noId.Kind);
        Assert.Equal(JsonRpcIdKind.Missing, noId.Id.Kind);

        var unknown = Parse("{\"id\":9,\"method\":\"mining.something_new\",\"params\":[1,{\"a\":[2]}],\"extra\":{\"x\":1}}");
        Assert.Equal(StratumMethod.Unknown, unknown.Method);
        var line = Encoding.UTF8.GetBytes("{\"id\":9,\"method\":\"mining.something_new\",\"params\":[1,{\"a\":[2]}],\"extra\":{\"x\":1}}");
        Assert.Equal("\"mining.something_new\"", Encoding.UTF8.GetString(unknown.MethodName.Of(line)));

        var escapedMethod = Parse("{\"id\":1,\"method\":\"mining\\u002esubmit\",\"params\":[]}");
        Assert.Equal(StratumMethod.Submit, escapedMethod.Method);
    }

    [Fact]
    public void Every_known_method_name_maps_both_ways()
    {
        foreach (var method in Enum.GetValues<StratumMethod>().Where(m => m != StratumMethod.Unknown))
        {
            Assert.Equal(method, StratumMethodNames.Parse(StratumMethodNames.Utf8(method)));
            Assert.StartsWith(StratumMethodNames.Label(method).Split('.')[0], Encoding.UTF8.GetString(StratumMethodNames.Utf8(method)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_missing_or_null_params_reads_as_an_empty_list()
    {
        var line = Encoding.UTF8.GetBytes("{\"id\":9,\"method\":\"mining.extranonce.subscribe\"}");
        Assert.True(StratumEnvelope.TryParse(line, out var envelope, out _));
        var reader = new ParamsReader(line, envelope.Params);
        Assert.False(reader.MoveNext());

        line = Encoding.UTF8.GetBytes("{\"id\":9,\"method\":\"mining.subscribe\",\"params\":null}");
        Assert.True(StratumEnvelope.TryParse(line, out envelope, out _));
        Assert.True(SubscribeRequest.TryParse(line, envelope, out var subscribe, out _));
        Assert.Null(subscribe.UserAgent);
    }
}
