using System.Text;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Proxy.Tests.Takeover;

/// <summary>The handover state: read back as written; another format, or something that is not one, is refused whole.</summary>
public sealed class TakeoverStateTests
{
    [Fact]
    public void ToUtf8_ThenRead_GivesBackEverySessionAndPoolField()
    {
        var notify = new NotifyMessage("j7", new byte[32], [1, 2, 3], [4, 5], [new byte[32]], 0x20000000, 0x1d00ffff, 1_700_000_000, CleanJobs: true);
        var state = new TakeoverState
        {
            ProcessId = 42,
            NextJobId = 1234,
            Listeners = [new ListenerState("default", "0.0.0.0:3333", 0)],
            Pools =
            [
                new PoolConnectionState
                {
                    Pool = "primary", Url = "stratum+tcp://pool:3333", Handle = 1, UnreadInput = [9, 10], Extranonce1 = [0xaa, 0xbb],
                    Extranonce2Size = 8, MinerPrefixSize = 2, MinerExtranonce2Size = 4, Difficulty = 1e-5, PendingDifficulty = 2e-5,
                    VersionMask = 0x1fffe000, Jobs = [new JobState(1233, notify, 1_700_000_030, 1e-5)], LastRequestId = 77,
                    AuthorizedWorkers = ["acct", "acct.rig1"], PendingRequests = [new PendingRequestState(78, "Authorize", "acct.rig2")],
                },
            ],
            Sessions =
            [
                new SessionState
                {
                    Handle = 2, UnreadInput = Encoding.UTF8.GetBytes("{\"id\":5,"), Listener = "default", Remote = "10.0.0.7:4028",
                    ProxyHeaderDone = true, SawFirstByte = true, Subscribed = true, UserAgent = "cgminer/4.12", Worker = "acct.rig1",
                    VersionRolling = true, RequestedVersionMask = 0x1fffe000, VersionMask = 0x1fffe000, HasIdentity = true,
                    PrefixSize = 2, Extranonce2Size = 4, Prefix = 0x0102, PrefixOwned = true, Difficulty = 1024, VarDiff = 2048,
                    DifficultyPending = true, SentJobs = [new SentJobState(1233, 1024)], LastJob = 1233, Pool = 0, SubmitTokens = 12.5,
                },
            ],
        };

        var read = TakeoverState.Read(state.ToUtf8(), out var error);

        Assert.Null(error);
        Assert.NotNull(read);
        Assert.Equal((42, 1234UL, TakeoverState.CurrentFormat), (read.ProcessId, read.NextJobId, read.Format));
        Assert.Equal(state.Listeners, read.Listeners);
        var pool = Assert.Single(read.Pools);
        Assert.Equal(state.Pools[0].Extranonce1, pool.Extranonce1);
        Assert.Equal(state.Pools[0].UnreadInput, pool.UnreadInput);
        Assert.Equal((8, 2, 4, 1e-5, 2e-5, 0x1fffe000u, 77L), (pool.Extranonce2Size, pool.MinerPrefixSize, pool.MinerExtranonce2Size, pool.Difficulty, pool.PendingDifficulty, pool.VersionMask, pool.LastRequestId));
        Assert.Equal(state.Pools[0].AuthorizedWorkers, pool.AuthorizedWorkers);
        Assert.Equal(state.Pools[0].PendingRequests, pool.PendingRequests);
        var job = Assert.Single(pool.Jobs);
        Assert.Equal((1233UL, 1_700_000_030u, "j7", 0x1d00ffffu), (job.Id, job.NTime, job.Notify.JobId, job.Notify.NBits));
        Assert.Equal(notify.Coinbase1, job.Notify.Coinbase1);
        Assert.Equal(notify.MerkleBranches[0], job.Notify.MerkleBranches[0]);
        var session = Assert.Single(read.Sessions);
        Assert.Equal(state.Sessions[0] with { UnreadInput = [], SentJobs = [] }, session with { UnreadInput = [], SentJobs = [] });
        Assert.Equal(state.Sessions[0].UnreadInput, session.UnreadInput);
        Assert.Equal(state.Sessions[0].SentJobs, session.SentJobs);
    }

    [Theory]
    [InlineData(TakeoverState.CurrentFormat + 1)]
    [InlineData(0)]
    public void Read_AnotherFormat_IsRefusedAndSaysWhich(int format)
    {
        var text = Encoding.UTF8.GetBytes($"{{\"format\":{format},\"sessions\":[{{\"listener\":\"default\",\"shape\":\"unknown to this build\"}}]}}");

        var read = TakeoverState.Read(text, out var error);

        Assert.Null(read);
        Assert.Equal($"state format {format}, this build reads format {TakeoverState.CurrentFormat}", error);
    }

    [Fact]
    public void Read_NotJson_IsRefused()
    {
        Assert.Null(TakeoverState.Read("{\"format\":1,"u8, out var error));
        Assert.StartsWith("the state is not valid", error, StringComparison.Ordinal);
    }
    [Theory]
    [InlineData("null", "the state is empty")]
    [InlineData("", "the state is empty")]
    [InlineData("  ", "the state is empty")]
    [InlineData("{\"format\":1}", "the state is not valid")]
    [InlineData("{\"format\":1,\"listeners\":[],\"pools\":[],\"sessions\":[{\"listener\":\"l\"}]}", "the state is not valid")]
    [InlineData("{\"format\":1,\"sessions\":null}", "the state is not valid")]
    [InlineData("{\"format\":1,\"listeners\":null}", "the state is not valid")]
    [InlineData("{\"format\":1,\"pools\":null}", "the state is not valid")]
    [InlineData("{\"format\":1,\"sessions\":[null]}", "the state is not valid")]
    [InlineData("{\"format\":1,\"listeners\":[null]}", "the state is not valid")]
    [InlineData("{\"format\":1,\"pools\":[{\"pool\":\"p\",\"url\":\"u\",\"extranonce1\":null}]}", "the state is not valid")]
    [InlineData("{\"format\":1,\"sessions\":[{\"listener\":null}]}", "the state is not valid")]
    [InlineData("{\"format\":1,\"sessions\":[{\"listener\":\"l\",\"sentJobs\":[null]}]}", "the state is not valid")]
    public void Read_AnEmptyOrNullBodyOrNullMembers_IsRefusedWithAReason(string text, string reason)
    {
        var read = TakeoverState.Read(Encoding.UTF8.GetBytes(text), out var error);

        Assert.Null(read);
        Assert.StartsWith(reason, error, StringComparison.Ordinal);
    }
}
