using System.Text;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Stratum.Tests.Protocol;

/// <summary>Hostile and broken lines: each gets a clear error, none an exception.</summary>
public sealed class MalformedCorpusTests
{
    public static TheoryData<string, byte[], StratumParseErrorKind> Corpus()
    {
        var data = new TheoryData<string, byte[], StratumParseErrorKind>
        {
            { "truncated", "{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"cpu"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "truncated-object", "{\"command\":\"version\""u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "plain text", "this is not json"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "tls client hello", [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03], StratumParseErrorKind.InvalidJson },
            { "array", "[1,2,3]"u8.ToArray(), StratumParseErrorKind.NotAnObject },
            { "string", "\"mining.subscribe\""u8.ToArray(), StratumParseErrorKind.NotAnObject },
            { "number", "42"u8.ToArray(), StratumParseErrorKind.NotAnObject },
            { "empty object", "{}"u8.ToArray(), StratumParseErrorKind.NotJsonRpc },
            { "only id", "{\"id\":1}"u8.ToArray(), StratumParseErrorKind.NotJsonRpc },
            { "method is a number", "{\"id\":1,\"method\":7,\"params\":[]}"u8.ToArray(), StratumParseErrorKind.WrongType },
            { "method is an object", "{\"id\":1,\"method\":{\"a\":1},\"params\":[]}"u8.ToArray(), StratumParseErrorKind.WrongType },
            { "id is an object", "{\"id\":{\"a\":1},\"method\":\"mining.ping\"}"u8.ToArray(), StratumParseErrorKind.WrongType },
            { "id is true", "{\"id\":true,\"method\":\"mining.ping\"}"u8.ToArray(), StratumParseErrorKind.WrongType },
            { "two objects", "{\"id\":1,\"method\":\"mining.ping\"}{\"id\":2}"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "trailing comma", "{\"id\":1,\"method\":\"mining.ping\",}"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "comment", "{\"id\":1,/*x*/\"method\":\"mining.ping\"}"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "single quotes", "{'id':1,'method':'mining.ping'}"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "deep nesting", Encoding.UTF8.GetBytes("{\"id\":1,\"method\":\"mining.ping\",\"params\":" + new string('[', 500) + new string(']', 500) + "}"), StratumParseErrorKind.InvalidJson },
            { "nul bytes", "\0\0\0\0"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "empty", [], StratumParseErrorKind.InvalidJson },
            { "white space", "   "u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "invalid utf8 in method", [.. "{\"id\":1,\"method\":\"mining."u8, 0xff, 0xfe, .. "\",\"params\":[]}"u8], StratumParseErrorKind.InvalidJson },
            { "lone surrogate escape in method", "{\"id\":1,\"method\":\"\\ud800\",\"params\":[]}"u8.ToArray(), StratumParseErrorKind.InvalidJson },
            { "unknown method", "{\"id\":1,\"method\":\"mining.\\u00e9\",\"params\":[]}"u8.ToArray(), StratumParseErrorKind.None },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Each_bad_line_gets_a_clear_error(string name, byte[] line, StratumParseErrorKind expected)
    {
        var ok = StratumEnvelope.TryParse(line, out var envelope, out var error);
        if (expected == StratumParseErrorKind.None)
        {
            // Well-formed JSON with an unknown method: parsed, and the method is simply unknown.
            Assert.True(ok, name);
            Assert.Equal(StratumMethod.Unknown, envelope.Method);
            return;
        }

        Assert.False(ok, name);
        Assert.Equal(expected, error.Kind);
        Assert.False(string.IsNullOrWhiteSpace(error.Reason));
        Assert.NotEqual("none", error.Label);
    }

    public static TheoryData<string> BadParams() =>
    [
        "[\"w\",\"j\",\"00\",\"6b072c1e\",\"fd532a00\",\"1\",\"extra\",{\"deep\":[[[[1]]]]}]",
        "[1e400,\"j\",\"00\",\"6b072c1e\",\"fd532a00\"]",
        "[\"w\",\"j\",\"" + new string('0', 66) + "\",\"6b072c1e\",\"fd532a00\"]",
        "[\"w\",\"j\",\"00\",\"ffffffffff\",\"fd532a00\"]",
        "[[],[],[],[],[]]",
        "[null,null,null,null,null]",
        "[{},{},{},{},{}]",
        "\"not a list\"",
        "123456789012345678901234567890",
        "[]",
        "[\"w\\u0000\",\"j\",\"00\",\"6b072c1e\",\"fd532a00\"]",
    ];

    [Theory]
    [MemberData(nameof(BadParams))]
    public void Every_method_reader_survives_bad_params(string @params)
    {
        foreach (var method in Enum.GetValues<StratumMethod>().Where(m => m != StratumMethod.Unknown))
        {
            var text = "{\"id\":1,\"method\":\"" + Encoding.UTF8.GetString(StratumMethodNames.Utf8(method)) + "\",\"params\":" + @params + ",\"result\":" + @params + "}";
            var line = Encoding.UTF8.GetBytes(text);
            if (!StratumEnvelope.TryParse(line, out var envelope, out _))
            {
                continue;
            }

            // None of these may throw, whatever they decide.
            _ = SubmitRequest.TryParse(line, envelope, out _, out _);
            _ = SubscribeRequest.TryParse(line, envelope, out _, out _);
            _ = AuthorizeRequest.TryParse(line, envelope, out _, out _);
            _ = ConfigureRequest.TryParse(line, envelope, out _, out _);
            _ = SuggestDifficultyRequest.TryParse(line, envelope, out _, out _);
            _ = TargetParam.TryParse(line, envelope, new byte[32], out _);
            _ = NotifyMessage.TryParse(line, envelope, out _, out _);
            _ = SubscribeResult.TryParse(line, envelope, out _, out _);
            _ = SetExtranonceMessage.TryParse(line, envelope, out _, out _);
            _ = ReconnectMessage.TryParse(line, envelope, out _, out _);
            _ = PoolParams.TryParseDifficulty(line, envelope, out _, out _);
            _ = PoolParams.TryParseVersionMask(line, envelope, out _, out _);
            _ = PoolParams.ReadMessageText(line, envelope);
            _ = StratumResponse.ReadVerdict(line, envelope);
            _ = ConfigureResult.TryParse(line, envelope, out _);
        }
    }

    [Fact]
    public void Random_bytes_and_mutated_lines_never_throw()
    {
        var random = new Random(1234);
        var seed = "{\"id\":6,\"method\":\"mining.submit\",\"params\":[\"w.vr\",\"6b0730830000000a\",\"0000000000000000\",\"6b073194\",\"1deb7e89\",\"0e596000\"]}"u8.ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            var line = i % 2 == 0 ? Mutate(seed, random) : RandomBytes(random);
            if (StratumEnvelope.TryParse(line, out var envelope, out _))
            {
                _ = SubmitRequest.TryParse(line, envelope, out _, out _);
                _ = NotifyMessage.TryParse(line, envelope, out _, out _);
                _ = ConfigureRequest.TryParse(line, envelope, out _, out _);
                _ = StratumResponse.ReadVerdict(line, envelope);
            }
        }
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var copy = (byte[])seed.Clone();
        for (var k = random.Next(1, 4); k > 0; k--)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return random.Next(4) == 0 ? copy[..random.Next(copy.Length)] : copy;
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(64)];
        random.NextBytes(bytes);
        return bytes;
    }
}
