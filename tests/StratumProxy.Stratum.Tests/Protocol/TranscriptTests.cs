using System.Text;
using StratumProxy.Stratum.Protocol;
using StratumProxy.Stratum.Tests.Vectors;

namespace StratumProxy.Stratum.Tests.Protocol;

/// <summary>
/// Every line real peers sent (cpuminer, bfgminer, cgminer, ckpool, npm stratum) parses as what it is, in the
/// direction it travelled; the non-JSON bytes they sent are refused with an error, never an exception.
/// </summary>
public sealed class TranscriptTests
{
    public static TheoryData<string, int, string, bool> Lines()
    {
        var data = new TheoryData<string, int, string, bool>();
        using var document = SharedVectors.ReadJson("stratum-v1-transcripts.json");
        foreach (var session in document.RootElement.GetProperty("sessions").EnumerateArray())
        {
            var name = session.GetProperty("name").GetString()!;
            var entries = session.TryGetProperty("lines", out var lines) ? lines : session.GetProperty("hops");
            var index = 0;
            foreach (var entry in entries.EnumerateArray())
            {
                index++;
                if (!entry.TryGetProperty("line", out var line))
                {
                    continue;
                }

                var direction = entry.TryGetProperty("dir", out var dir) ? dir.GetString()! : entry.GetProperty("hop").GetString()!;
                var fromMiner = direction is "client->server" or "miner->relay" or "relay->pool";
                data.Add(name, index, line.GetString()!, fromMiner);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void Every_captured_line_parses_as_what_it_is(string session, int index, string text, bool fromMiner)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ok = StratumEnvelope.TryParse(bytes, out var envelope, out var error);
        if (text.StartsWith('<') || !text.StartsWith('{'))
        {
            // "<13 non-JSON bytes: TLS ClientHello ...>", "<EOF>", "this is not json": refused, not thrown.
            Assert.False(ok, $"{session} #{index}");
            Assert.True(error.IsError);
            return;
        }

        Assert.True(ok, $"{session} #{index}: {error.Reason}");
        if (envelope.Kind == StratumMessageKind.Response)
        {
            Assert.False(fromMiner && envelope.Result.IsEmpty && envelope.Error.IsEmpty, $"{session} #{index}");
            _ = StratumResponse.ReadVerdict(bytes, envelope);
            return;
        }

        Assert.NotEqual(StratumMethod.Unknown, envelope.Method);
        switch (envelope.Method)
        {
            case StratumMethod.Submit:
                Assert.True(fromMiner);
                Assert.True(SubmitRequest.TryParse(bytes, envelope, out var submit, out error), $"{session} #{index}: {error.Reason}");
                Assert.InRange(submit.Extranonce2.Length, 1, 8);
                break;
            case StratumMethod.Subscribe:
                Assert.True(SubscribeRequest.TryParse(bytes, envelope, out _, out error), error.Reason);
                break;
            case StratumMethod.Authorize:
                Assert.True(AuthorizeRequest.TryParse(bytes, envelope, out var authorize, out error), error.Reason);
                Assert.False(string.IsNullOrEmpty(authorize.Username));
                break;
            case StratumMethod.Configure:
                Assert.True(ConfigureRequest.TryParse(bytes, envelope, out var configure, out error), error.Reason);
                Assert.True(configure.WantsVersionRolling);
                break;
            case StratumMethod.SuggestDifficulty:
                Assert.True(SuggestDifficultyRequest.TryParse(bytes, envelope, out _, out error), error.Reason);
                break;
            case StratumMethod.SuggestTarget:
                Assert.Equal(StratumMessageKind.Notification, envelope.Kind);
                Assert.True(TargetParam.TryParse(bytes, envelope, new byte[32], out error), error.Reason);
                break;
            case StratumMethod.Notify:
                Assert.False(fromMiner);
                Assert.True(NotifyMessage.TryParse(bytes, envelope, out var notify, out error), $"{session} #{index}: {error.Reason}");
                Assert.Equal(32, notify!.PrevHash.Length);
                break;
            case StratumMethod.SetDifficulty:
                Assert.False(fromMiner);
                Assert.True(PoolParams.TryParseDifficulty(bytes, envelope, out var difficulty, out error), error.Reason);
                Assert.True(difficulty > 0);
                break;
            case StratumMethod.ShowMessage:
                Assert.NotNull(PoolParams.ReadMessageText(bytes, envelope));
                break;
            case StratumMethod.GetTransactions or StratumMethod.ExtranonceSubscribe or StratumMethod.Ping:
                Assert.True(fromMiner);
                break;
            default:
                Assert.Fail($"{session} #{index}: no assertion for {envelope.Method}");
                break;
        }
    }

    [Fact]
    public void The_transcripts_cover_every_peer_the_proxy_must_serve()
    {
        using var document = SharedVectors.ReadJson("stratum-v1-transcripts.json");
        var clients = document.RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("client").GetString()!).ToList();
        foreach (var peer in new[] { "cpuminer", "bfgminer", "cgminer", "stratum-client" })
        {
            Assert.Contains(clients, c => c.Contains(peer, StringComparison.Ordinal));
        }

        Assert.True(Lines().Count > 150);
    }
}
