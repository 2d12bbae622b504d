using System.Buffers;
using System.Text;
using StratumProxy.Stratum.Protocol;
using StratumProxy.TestKit;

namespace StratumProxy.Stratum.Tests.Protocol;

public sealed class MessageTests
{
    private static (byte[] Line, StratumEnvelope Envelope) Envelope(string text)
    {
        var line = Encoding.UTF8.GetBytes(text);
        Assert.True(StratumEnvelope.TryParse(line, out var envelope, out var error), error.Reason);
        return (line, envelope);
    }

    private static string Written(Action<StratumWriter, ArrayBufferWriter<byte>> write)
    {
        using var writer = new StratumWriter();
        var buffer = new ArrayBufferWriter<byte>();
        write(writer, buffer);
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return text.TrimEnd('\n');
    }

    [Fact]
    public void Submit_with_five_and_six_params_in_every_segmentation()
    {
        const string five = "{\"method\": \"mining.submit\", \"params\": [\"testworker\", \"1a1\", \"00000000\", \"6b072c1e\", \"fd532a00\"], \"id\":4}";
        const string six = "{\"id\":6,\"method\":\"mining.submit\",\"params\":[\"w.vr\",\"6b0730830000000a\",\"0000000000000000\",\"6B073194\",\"1DEB7E89\",\"0e596000\"]}";
        var scratch = new byte[LineFramer.DefaultMaxLineLength];
        foreach (var (text, hasBits) in new[] { (five, false), (six, true) })
        {
            var bytes = Encoding.UTF8.GetBytes(text + "\n");
            foreach (var (name, payload) in Segmentations.All(bytes))
            {
                var buffer = payload;
                Assert.Equal(FrameStatus.Line, LineFramer.TryReadLine(ref buffer, LineFramer.DefaultMaxLineLength, out var framed));
                var line = LineFramer.AsContiguous(framed, scratch);
                Assert.True(StratumEnvelope.TryParse(line, out var envelope, out _), name);
                Assert.Equal(StratumMethod.Submit, envelope.Method);
                Assert.True(SubmitRequest.TryParse(line, envelope, out var submit, out var error), error.Reason);
                Assert.Equal(hasBits, submit.HasVersionBits);
                if (hasBits)
                {
                    Assert.Equal("w.vr", Encoding.UTF8.GetString(submit.Worker.Of(line)));
                    Assert.Equal("6b0730830000000a", Encoding.UTF8.GetString(submit.JobId.Of(line)));
                    Assert.Equal(8, submit.Extranonce2.Length);
                    Assert.Equal(0x6b073194u, submit.NTime);
                    Assert.Equal(0x1deb7e89u, submit.Nonce);
                    Assert.Equal(0x0e596000u, submit.VersionBits);
                }
                else
                {
                    Assert.Equal("testworker", Encoding.UTF8.GetString(submit.Worker.Of(line)));
                    Assert.Equal("1a1", Encoding.UTF8.GetString(submit.JobId.Of(line)));
                    Assert.Equal("00000000", submit.Extranonce2.ToString());
                    Assert.Equal(0xfd532a00u, submit.Nonce);
                }
            }
        }
    }

    [Theory]
    [InlineData("[\"w\",\"j\",\"0\",\"6b072c1e\",\"fd532a00\"]", "extranonce2")]
    [InlineData("[\"w\",\"j\",\"zz\",\"6b072c1e\",\"fd532a00\"]", "extranonce2")]
    [InlineData("[\"w\",\"j\",\"00\",\"6b072c1e0\",\"fd532a00\"]", "ntime")]
    [InlineData("[\"w\",\"j\",\"00\",\"6b072c1e\"]", "nonce")]
    [InlineData("[\"w\",\"j\",\"00\",\"6b072c1e\",12]", "nonce")]
    [InlineData("[\"w\",\"j\",\"00\",\"6b072c1e\",\"fd532a00\",\"xyz\"]", "version bits")]
    [InlineData("[1,\"j\",\"00\",\"6b072c1e\",\"fd532a00\"]", "worker")]
    [InlineData("[\"w\",null,\"00\",\"6b072c1e\",\"fd532a00\"]", "job id")]
    [InlineData("{\"worker\":\"w\"}", "worker")]
    public void Submit_with_bad_params_names_the_param(string @params, string expectedInReason)
    {
        var (line, envelope) = Envelope("{\"id\":1,\"method\":\"mining.submit\",\"params\":" + @params + "}");
        Assert.False(SubmitRequest.TryParse(line, envelope, out _, out var error));
        Assert.Equal(StratumParseErrorKind.InvalidParams, error.Kind);
        Assert.Contains(expectedInReason, error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Result_and_error_round_trip_with_the_exact_id()
    {
        foreach (var raw in new[] { "4", "\"auth\"", "0", "\"mining.submit\"", "18446744073709551615" })
        {
            var (_, request) = Envelope("{\"id\":" + raw + ",\"method\":\"mining.authorize\",\"params\":[\"w\",\"x\"]}");
            var ok = Written((w, b) => w.WriteResult(b, request.Id, true));
            Assert.Equal("{\"id\":" + raw + ",\"result\":true,\"error\":null}", ok);

            var rejected = Written((w, b) => w.WriteError(b, request.Id, StratumErrorCode.DuplicateShare, "Duplicate share"));
            Assert.Equal("{\"id\":" + raw + ",\"result\":null,\"error\":[22,\"Duplicate share\",null]}", rejected);
            var (line, response) = Envelope(rejected);
            var verdict = StratumResponse.ReadVerdict(line, response);
            Assert.False(verdict.Accepted);
            Assert.Equal(22, verdict.ErrorCode);
            Assert.Equal("Duplicate share", verdict.Reason);
            Assert.Equal(request.Id, response.Id);
        }
    }

    [Theory]
    [InlineData("{\"reject-reason\":\"Above target\",\"result\":false,\"error\":null,\"id\":5}", false, 20, "Above target")]
    [InlineData("{\"id\":5,\"result\":null,\"error\":[23,\"Low difficulty share\",null]}", false, 23, "Low difficulty share")]
    [InlineData("{\"id\":5,\"result\":false,\"error\":{\"code\":21,\"message\":\"Stale\"}}", false, 21, "Stale")]
    [InlineData("{\"id\":5,\"result\":false,\"error\":\"bad\"}", false, 20, "bad")]
    [InlineData("{\"id\":5,\"result\":false}", false, 20, "rejected")]
    [InlineData("{\"id\":5,\"result\":true,\"error\":null}", true, 0, null)]
    [InlineData("{\"error\":null,\"id\":5,\"result\":true}", true, 0, null)]
    public void Reads_every_reject_shape_real_pools_send(string text, bool accepted, int code, string? reason)
    {
        var (line, envelope) = Envelope(text);
        var verdict = StratumResponse.ReadVerdict(line, envelope);
        Assert.Equal(accepted, verdict.Accepted);
        Assert.Equal(code, verdict.ErrorCode);
        Assert.Equal(reason, verdict.Reason);
    }

    // Found by the pool-lines fuzz target: a notify whose nbits encode no target (sign bit set, or an exponent that
    // overflows 256 bits) was accepted here and then threw ArgumentException out of the pool connection's read loop
    // when the share template was built. It is a malformed notify: refused as invalid params, like bad hex.
    [Theory]
    [InlineData("1d80ffff")] // sign bit
    [InlineData("2d00ffff")] // exponent 45: far above 256 bits
    [InlineData("fd00ffff")]
    public void Notify_with_nbits_that_encode_no_target_is_refused(string nbits)
    {
        var text = "{\"params\":[\"bf\",\"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\",\"01000000\",\"00000000\",[],\"00000002\",\"" + nbits + "\",\"504e86b9\",false],\"id\":null,\"method\":\"mining.notify\"}";
        var (line, envelope) = Envelope(text);
        Assert.False(NotifyMessage.TryParse(line, envelope, out var notify, out var error));
        Assert.Null(notify);
        Assert.Equal(StratumParseErrorKind.InvalidParams, error.Kind);
    }

    // One reason per field, word for word (operators see it in the pool's bad-line log).
    [Theory]
    [InlineData(0, "\"\"", "mining.notify params[0] (job id) must be a non-empty string")]
    [InlineData(1, "\"4d16\"", "mining.notify params[1] (prevhash) must be 64 hex digits")]
    [InlineData(2, "\"0z\"", "mining.notify params[2] (coinb1) must be hex")]
    [InlineData(3, "7", "mining.notify params[3] (coinb2) must be hex")]
    [InlineData(4, "[\"00\"]", "mining.notify params[4] (merkle branches) must be a list of 64-digit hex strings")]
    [InlineData(5, "\"000000020\"", "mining.notify params[5] (version) must be hex of at most 8 digits")]
    [InlineData(6, "\"x\"", "mining.notify params[6] (nbits) must be hex of at most 8 digits")]
    [InlineData(6, "\"1d80ffff\"", "mining.notify params[6] (nbits) is not a valid compact target")]
    [InlineData(7, "true", "mining.notify params[7] (ntime) must be hex of at most 8 digits")]
    [InlineData(8, "\"yes\"", "mining.notify params[8] (clean_jobs) must be a boolean")]
    public void Notify_with_a_bad_field_is_refused_with_that_fields_reason(int field, string value, string reason)
    {
        string[] fields = ["\"bf\"", "\"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\"", "\"01000000\"", "\"00000000\"", "[]", "\"00000002\"", "\"1c2ac4af\"", "\"504e86b9\"", "false"];
        fields[field] = value;
        var text = "{\"params\":[" + string.Join(",", fields) + "],\"id\":null,\"method\":\"mining.notify\"}";
        var (line, envelope) = Envelope(text);
        Assert.False(NotifyMessage.TryParse(line, envelope, out var notify, out var error));
        Assert.Null(notify);
        Assert.Equal(StratumParseErrorKind.InvalidParams, error.Kind);
        Assert.Equal(reason, error.Reason);
    }

    [Theory]
    [InlineData(32, true)]
    [InlineData(33, false)]
    [InlineData(10_000, false)]
    public void Notify_with_more_merkle_branches_than_a_block_can_have_is_refused(int branches, bool accepted)
    {
        var list = string.Join(",", Enumerable.Repeat("\"2a6a41aeb1abf285919a8dd916b4d4799966a855d6bd9b5d9f2c2d6131647687\"", branches));
        var text = "{\"params\":[\"bf\",\"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\",\"01000000\",\"00000000\",[" + list + "],\"00000002\",\"1c2ac4af\",\"504e86b9\",false],\"id\":null,\"method\":\"mining.notify\"}";
        var (line, envelope) = Envelope(text);
        Assert.Equal(accepted, NotifyMessage.TryParse(line, envelope, out var notify, out var error));
        Assert.Equal(accepted ? StratumParseErrorKind.None : StratumParseErrorKind.TooManyMerkleBranches, error.Kind);
        Assert.Equal(accepted ? branches : -1, notify?.MerkleBranches.Length ?? -1);
        if (!accepted)
        {
            Assert.Equal("too_many_merkle_branches", error.Label);
        }
    }

    [Fact]
    public void Notify_round_trips_through_the_writer()
    {
        const string original = "{\"params\": [\"bf\", \"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\", \"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008\", \"072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000\", [\"2a6a41aeb1abf285919a8dd916b4d4799966a855d6bd9b5d9f2c2d6131647687\"], \"00000002\", \"1c2ac4af\", \"504e86b9\", false], \"id\": null, \"method\": \"mining.notify\"}";
        var (line, envelope) = Envelope(original);
        Assert.True(NotifyMessage.TryParse(line, envelope, out var notify, out var error), error.Reason);
        Assert.Equal("bf", notify!.JobId);
        Assert.Equal(2u, notify.Version);
        Assert.Equal(0x1c2ac4afu, notify.NBits);
        Assert.Equal(0x504e86b9u, notify.NTime);
        Assert.False(notify.CleanJobs);
        Assert.Single(notify.MerkleBranches);

        var written = Written((w, b) => w.WriteNotify(b, Encoding.UTF8.GetBytes(notify.JobId), notify.PrevHash, notify.Coinbase1, notify.Coinbase2, notify.MerkleBranches, notify.Version, notify.NBits, notify.NTime, notify.CleanJobs));
        var compact = "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"bf\",\"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\",\"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008\",\"072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000\",[\"2a6a41aeb1abf285919a8dd916b4d4799966a855d6bd9b5d9f2c2d6131647687\"],\"00000002\",\"1c2ac4af\",\"504e86b9\",false]}";
        Assert.Equal(compact, written);
        var (line2, envelope2) = Envelope(written);
        Assert.True(NotifyMessage.TryParse(line2, envelope2, out var again, out _));
        Assert.Equal(notify.JobId, again!.JobId);
        Assert.Equal(notify.Coinbase1, again.Coinbase1);
        Assert.Equal(notify.MerkleBranches[0], again.MerkleBranches[0]);
    }

    [Theory]
    [InlineData(1d, "1")]
    [InlineData(0.001, "0.001")]
    [InlineData(0.0010000000388821206, "0.0010000000388821206")]
    [InlineData(65536d, "65536")]
    [InlineData(9.5367431640625E-07, "0.00000095367431640625")]
    [InlineData(1e-5, "0.00001")]
    [InlineData(1.5e-12, "0.0000000000015")]
    [InlineData(1e21, "1000000000000000000000")]
    [InlineData(1.25e17, "125000000000000000")]
    public void Set_difficulty_round_trips_every_number_format(double difficulty, string expected)
    {
        var written = Written((w, b) => w.WriteSetDifficulty(b, difficulty));
        Assert.Equal("{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[" + expected + "]}", written);
        var (line, envelope) = Envelope(written);
        Assert.True(PoolParams.TryParseDifficulty(line, envelope, out var parsed, out _));
        Assert.Equal(difficulty, parsed);

        var (asString, stringEnvelope) = Envelope("{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[\"" + expected + "\"]}");
        Assert.True(PoolParams.TryParseDifficulty(asString, stringEnvelope, out parsed, out _));
        Assert.Equal(difficulty, parsed);
    }

    [Fact]
    public void Subscribe_result_round_trips()
    {
        var (_, request) = Envelope("{\"id\":\"mining.subscribe\",\"method\":\"mining.subscribe\",\"params\":[]}");
        var written = Written((w, b) => w.WriteSubscribeResult(b, request.Id, [0xde, 0xad], [0x08, 0x00, 0x00, 0x02], 4));
        Assert.Equal("{\"id\":\"mining.subscribe\",\"result\":[[[\"mining.set_difficulty\",\"dead\"],[\"mining.notify\",\"dead\"]],\"08000002\",4],\"error\":null}", written);
        var (line, envelope) = Envelope(written);
        Assert.True(SubscribeResult.TryParse(line, envelope, out var result, out _));
        Assert.Equal(new byte[] { 8, 0, 0, 2 }, result!.Extranonce1);
        Assert.Equal(4, result.Extranonce2Size);

        var (ck, ckEnvelope) = Envelope("{\"result\":[[[\"mining.notify\",\"6b072d9f\"]],\"9f2d076b\",8],\"id\":2,\"error\":null}");
        Assert.True(SubscribeResult.TryParse(ck, ckEnvelope, out result, out _));
        Assert.Equal(8, result!.Extranonce2Size);
    }

    [Theory]
    [InlineData("\"08000002\",0", true)]
    [InlineData("\"08000002\",32", true)]
    [InlineData("\"08000002\",\"8\"", true)]
    [InlineData("\"08000002\",33", false)]
    [InlineData("\"08000002\",-1", false)]
    [InlineData("\"0800000\",4", false)]
    [InlineData("\"08000002\"", false)]
    public void Extranonce_SubscribeResultAndSetExtranonce_ReadTheSameRule(string extranonce, bool valid)
    {
        var (subscribe, subscribeEnvelope) = Envelope("{\"id\":1,\"result\":[[[\"mining.notify\",\"1\"]]," + extranonce + "],\"error\":null}");
        var (set, setEnvelope) = Envelope("{\"id\":null,\"method\":\"mining.set_extranonce\",\"params\":[" + extranonce + "]}");

        Assert.Equal(valid, SubscribeResult.TryParse(subscribe, subscribeEnvelope, out var result, out var subscribeError));
        Assert.Equal(valid, SetExtranonceMessage.TryParse(set, setEnvelope, out var message, out var setError));
        Assert.Equal(!valid, subscribeError.IsError);
        Assert.Equal(!valid, setError.IsError);
        if (valid)
        {
            Assert.Equal(result!.Extranonce1, message!.Extranonce1);
            Assert.Equal(result.Extranonce2Size, message.Extranonce2Size);
        }
    }

    /// <summary>Values each single-value pool message does not accept: its method and the params (the result, for subscribe).</summary>
    public static TheoryData<string, string> NotAccepted => new()
    {
        { "mining.set_difficulty", "[-1]" },
        { "mining.set_difficulty", "[\"x\"]" },
        { "mining.set_difficulty", "[]" },
        { "mining.set_version_mask", "[\"1fffe000z\"]" },
        { "mining.set_version_mask", "[536862720]" },
        { "mining.set_extranonce", "[\"08000002\"]" },
        { "mining.subscribe", "[[],\"0800000\",4]" },
    };

    [Theory]
    [MemberData(nameof(NotAccepted))]
    public void PoolMessage_ValueNotAccepted_RefusedAsInvalidParamsWithItsReason(string method, string values)
    {
        var (line, envelope) = method == "mining.subscribe"
            ? Envelope("{\"id\":1,\"result\":" + values + ",\"error\":null}")
            : Envelope("{\"id\":null,\"method\":\"" + method + "\",\"params\":" + values + "}");
        StratumParseError error;
        var (accepted, reason) = method switch
        {
            "mining.set_difficulty" => (PoolParams.TryParseDifficulty(line, envelope, out _, out error),
                "mining.set_difficulty params[0] must be a positive number"),
            "mining.set_version_mask" => (PoolParams.TryParseVersionMask(line, envelope, out _, out error),
                "mining.set_version_mask params[0] must be hex of at most 8 digits"),
            "mining.set_extranonce" => (SetExtranonceMessage.TryParse(line, envelope, out _, out error),
                "mining.set_extranonce params must be [extranonce1 hex, extranonce2 size 0..32]"),
            _ => (SubscribeResult.TryParse(line, envelope, out _, out error),
                "the mining.subscribe result must be [subscriptions, extranonce1 hex, extranonce2 size 0..32]"),
        };

        Assert.False(accepted);
        Assert.Equal(StratumParseErrorKind.InvalidParams, error.Kind);
        Assert.Equal(reason, error.Reason);
    }

    [Fact]
    public void Configure_request_and_result_round_trip()
    {
        var (line, envelope) = Envelope("{\"method\": \"mining.configure\", \"id\": 1, \"params\": [[\"minimum-difficulty\", \"version-rolling\"], {\"minimum-difficulty.value\": 2048, \"version-rolling.mask\": \"1fffe000\", \"version-rolling.min-bit-count\": 2}]}");
        Assert.True(ConfigureRequest.TryParse(line, envelope, out var request, out var error), error.Reason);
        Assert.True(request.WantsVersionRolling);
        Assert.True(request.WantsMinimumDifficulty);
        Assert.Equal(0x1fffe000u, request.VersionRollingMask);
        Assert.Equal(2, request.VersionRollingMinBitCount);
        Assert.Equal(2048d, request.MinimumDifficulty);

        var written = Written((w, b) => w.WriteConfigureResult(b, envelope.Id, true, 0x18000000, true));
        Assert.Equal("{\"id\":1,\"result\":{\"version-rolling\":true,\"version-rolling.mask\":\"18000000\",\"minimum-difficulty\":true},\"error\":null}", written);
        var (resultLine, resultEnvelope) = Envelope(written);
        Assert.True(ConfigureResult.TryParse(resultLine, resultEnvelope, out var result));
        Assert.Equal(new ConfigureResult(true, 0x18000000, true), result);

        var sent = Written((w, b) => w.WriteConfigureVersionRolling(b, JsonRpcId.FromNumber(1), 0x1fffe000, 2));
        Assert.Equal("{\"id\":1,\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"1fffe000\",\"version-rolling.min-bit-count\":2}]}", sent);
    }

    [Theory]
    [InlineData("{\"version-rolling.mask\": \"ffffffff\", \"version-rolling.mask\": \"1fffe000\"}", 0x1fffe000u, null, null)]
    [InlineData("{\"version-rolling.mask\": \"1fffe000\", \"version-rolling.mask\": 7}", null, null, null)]
    [InlineData("{\"x\": {\"version-rolling.mask\": \"ffffffff\"}, \"y\": [1, {\"a\": []}], \"version-rolling.min-bit-count\": 16}", null, 16, null)]
    [InlineData("{\"version-rolling.mask\": \"\\u0031fffe000\", \"minimum-difficulty.value\": 0.5}", 0x1fffe000u, null, 0.5)]
    [InlineData("{\"version-rolling.m\\u0061sk\": \"1FFFE000\", \"version-rolling.min-bit-count\": 2.5, \"minimum-difficulty.value\": \"64\"}", 0x1fffe000u, null, null)]
    [InlineData("{}", null, null, null)]
    public void Configure_options_are_read_by_key_whatever_else_the_map_holds(string options, uint? mask, int? minBits, double? minDifficulty)
    {
        var (line, envelope) = Envelope("{\"id\": 1, \"method\": \"mining.configure\", \"params\": [[\"version-rolling\"], " + options + "]}");
        Assert.True(ConfigureRequest.TryParse(line, envelope, out var request, out var error), error.Reason);
        Assert.Equal(mask, request.VersionRollingMask);
        Assert.Equal(minBits, request.VersionRollingMinBitCount);
        Assert.Equal(minDifficulty, request.MinimumDifficulty);
    }

    [Fact]
    public void Configure_option_map_is_read_without_allocating()
    {
        // What every connecting miner that rolls versions sends (cgminer's and bfgminer's shape): the options cost
        // nothing beyond the extension list and the request, which a configure without options allocates as well.
        var (withOptions, withEnvelope) = Envelope("{\"id\": 1, \"method\": \"mining.configure\", \"params\": [[\"version-rolling\"], {\"version-rolling.mask\": \"1fffe000\", \"version-rolling.min-bit-count\": 2, \"x-vendor.opaque\": {\"a\": [1, 2]}}]}");
        var (bare, bareEnvelope) = Envelope("{\"id\": 1, \"method\": \"mining.configure\", \"params\": [[\"version-rolling\"]]}");

        static long Fewest(byte[] line, StratumEnvelope envelope)
        {
            // Best of several rounds: tiering allocates on this thread once while a method is promoted.
            var fewest = long.MaxValue;
            for (var round = 0; round < 20; round++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                Assert.True(ConfigureRequest.TryParse(line, envelope, out _, out _));
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            return fewest;
        }

        Assert.True(ConfigureRequest.TryParse(withOptions, withEnvelope, out var request, out _));
        Assert.Equal(0x1fffe000u, request.VersionRollingMask);
        Assert.Equal(Fewest(bare, bareEnvelope), Fewest(withOptions, withEnvelope));
    }

    [Fact]
    public void Submit_written_upstream_parses_back()
    {
        var written = Written((w, b) => w.WriteSubmit(b, JsonRpcId.FromNumber(77), "acct.rig1", "6b0730830000000a"u8, [0x00, 0x01], [0xaa, 0xbb, 0xcc, 0xdd], 0x6b073194, 0x1deb7e89, 0x0e596000u));
        Assert.Equal("{\"id\":77,\"method\":\"mining.submit\",\"params\":[\"acct.rig1\",\"6b0730830000000a\",\"0001aabbccdd\",\"6b073194\",\"1deb7e89\",\"0e596000\"]}", written);
        var (line, envelope) = Envelope(written);
        Assert.True(SubmitRequest.TryParse(line, envelope, out var submit, out _));
        Assert.Equal("0001aabbccdd", submit.Extranonce2.ToString());
        Assert.True(envelope.Id.TryGetNumber(out var id));
        Assert.Equal(77, id);
    }

    [Fact]
    public void Pool_side_messages_round_trip()
    {
        var (line, envelope) = Envelope(Written((w, b) => w.WriteSetExtranonce(b, [1, 2, 3, 4], 6)));
        Assert.True(SetExtranonceMessage.TryParse(line, envelope, out var setExtranonce, out _));
        Assert.Equal(6, setExtranonce!.Extranonce2Size);

        (line, envelope) = Envelope(Written((w, b) => w.WriteSetVersionMask(b, 0x00003000)));
        Assert.True(PoolParams.TryParseVersionMask(line, envelope, out var mask, out _));
        Assert.Equal(0x00003000u, mask);

        (line, envelope) = Envelope(Written((w, b) => w.WriteReconnect(b, "pool.example", 3334, 5)));
        Assert.True(ReconnectMessage.TryParse(line, envelope, out var reconnect, out _));
        Assert.Equal(new ReconnectMessage("pool.example", 3334, 5), reconnect);

        (line, envelope) = Envelope(Written((w, b) => w.WriteShowMessage(b, "Authorised, welcome to ckpool")));
        Assert.Equal("Authorised, welcome to ckpool", PoolParams.ReadMessageText(line, envelope));

        var target = new byte[32];
        target[3] = 0xff;
        (line, envelope) = Envelope(Written((w, b) => w.WriteSetTarget(b, target)));
        var parsedTarget = new byte[32];
        Assert.True(TargetParam.TryParse(line, envelope, parsedTarget, out _));
        Assert.Equal(target, parsedTarget);

        (line, envelope) = Envelope(Written((w, b) => w.WriteRequest(b, JsonRpcId.FromNumber(3), StratumMethod.GetVersion)));
        Assert.Equal(StratumMethod.GetVersion, envelope.Method);

        (line, envelope) = Envelope(Written((w, b) => w.WriteAuthorize(b, JsonRpcId.FromNumber(2), "acct.w1", "x")));
        Assert.True(AuthorizeRequest.TryParse(line, envelope, out var authorize, out _));
        Assert.Equal(new AuthorizeRequest("acct.w1", "x"), authorize);

        (line, envelope) = Envelope(Written((w, b) => w.WriteSubscribe(b, JsonRpcId.FromNumber(1), "stratum-proxy/1.0")));
        Assert.True(SubscribeRequest.TryParse(line, envelope, out var subscribe, out _));
        Assert.Equal("stratum-proxy/1.0", subscribe.UserAgent);

        (line, envelope) = Envelope(Written((w, b) => w.WriteSuggestDifficulty(b, JsonRpcId.FromNumber(4), 2)));
        Assert.True(SuggestDifficultyRequest.TryParse(line, envelope, out var suggested, out _));
        Assert.Equal(2d, suggested);

        (line, envelope) = Envelope(Written((w, b) => w.WriteExtranonceSubscribe(b, JsonRpcId.FromNumber(5))));
        Assert.Equal(StratumMethod.ExtranonceSubscribe, envelope.Method);

        (line, envelope) = Envelope(Written((w, b) => w.WriteStringResult(b, JsonRpcId.FromNumber(6), "stratum-proxy/1.0")));
        Assert.Equal(StratumMessageKind.Response, envelope.Kind);
    }
}
