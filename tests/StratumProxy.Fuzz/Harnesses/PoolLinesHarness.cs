using System.Globalization;
using StratumProxy.Economics.Market;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Fuzz.Harnesses;

/// <summary>
/// What a pool sends: the line framer, the envelope, notify (and the share template and market estimate built from
/// it), set_difficulty, set_target, set_extranonce, set_version_mask, reconnect, show_message, and the replies to
/// subscribe, configure and submit. The parsers allow no exception; the market estimate from a notify's coinbase may
/// refuse with FormatException, ArgumentException, InvalidOperationException or OverflowException, which the pool
/// connection catches (UpstreamConnection.OnNotify).
/// </summary>
internal sealed class PoolLinesHarness : Harness
{
    /// <summary>extranonce1 (4) + extranonce2 (8): the coinbase suffix and the estimator's extranonce length.</summary>
    private const int ExtranonceLength = 12;

    /// <summary>A pool's lines may be long (a notify with many branches); the miner limit is the smaller one.</summary>
    private const int MaxLineLength = 64 * 1024;

    public override string Name => "pool-lines";

    public override string Summary => "pool -> proxy bytes: framer, envelope, notify (+ share template, coinbase market estimate), set_difficulty/target/extranonce/version_mask, reconnect, show_message, replies";

    public override void Run(byte[] input) => Lines.Feed(input, MaxLineLength, Handle);

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
        sources.TranscriptSeeds("server->client").Append(new Seed(
            "regress-notify-nbits-no-target", // nbits with the sign bit set: threw out of the read loop before the fix
            System.Text.Encoding.UTF8.GetBytes("{\"params\":[\"bf\",\"4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000\",\"01000000\",\"00000000\",[],\"00000002\",\"1d80ffff\",\"504e86b9\",false],\"id\":null,\"method\":\"mining.notify\"}\n")));

    private static void Handle(ReadOnlySpan<byte> line)
    {
        if (!StratumEnvelope.TryParse(line, out var envelope, out _))
        {
            return;
        }

        if (envelope.Kind == StratumMessageKind.Response)
        {
            _ = StratumResponse.ReadVerdict(line, envelope);
            _ = StratumResponse.IsResultTrue(line, envelope);
            _ = ConfigureResult.TryParse(line, envelope, out _);
            _ = SubscribeResult.TryParse(line, envelope, out _, out _);
            return;
        }

        switch (envelope.Method)
        {
            case StratumMethod.Notify:
                if (NotifyMessage.TryParse(line, envelope, out var notify, out _))
                {
                    OnNotify(notify!);
                }

                break;
            case StratumMethod.SetDifficulty:
                if (PoolParams.TryParseDifficulty(line, envelope, out var difficulty, out _) && difficulty > 0)
                {
                    _ = Difficulty.ToTarget(difficulty);
                }

                break;
            case StratumMethod.SetTarget:
                Span<byte> target = stackalloc byte[32];
                if (TargetParam.TryParse(line, envelope, target, out _))
                {
                    var value = UInt256.FromBigEndian(target);
                    if (!value.IsZero)
                    {
                        _ = Difficulty.FromTarget(value);
                    }
                }

                break;
            case StratumMethod.SetExtranonce:
                _ = SetExtranonceMessage.TryParse(line, envelope, out _, out _);
                break;
            case StratumMethod.SetVersionMask:
                _ = PoolParams.TryParseVersionMask(line, envelope, out _, out _);
                break;
            case StratumMethod.Reconnect:
                _ = ReconnectMessage.TryParse(line, envelope, out _, out _);
                break;
            case StratumMethod.ShowMessage:
                _ = PoolParams.ReadMessageText(line, envelope);
                break;
        }
    }

    private static void OnNotify(NotifyMessage notify)
    {
        // As UpstreamJob.Create: coinbase1 + the proxy's extranonce suffix, branches flattened.
        var coinbase1 = new byte[notify.Coinbase1.Length + 4];
        notify.Coinbase1.CopyTo(coinbase1, 0);
        var branches = new byte[notify.MerkleBranches.Length * 32];
        for (var i = 0; i < notify.MerkleBranches.Length; i++)
        {
            notify.MerkleBranches[i].CopyTo(branches, i * 32);
        }

        _ = ShareJobTemplate.Create(notify.PrevHash, coinbase1, notify.Coinbase2, branches, notify.Version, notify.NBits, notify.NTime);

        // As FarmEconomics.OnJob, behind UpstreamConnection's catch.
        try
        {
            new NotifyMarketEstimator(Coin.Bitcoin).Observe(
                Convert.ToHexStringLower(notify.PrevHash),
                Convert.ToHexStringLower(notify.Coinbase1),
                Convert.ToHexStringLower(notify.Coinbase2),
                notify.NBits.ToString("x8", CultureInfo.InvariantCulture),
                ExtranonceLength,
                DateTimeOffset.UnixEpoch);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or OverflowException)
        {
        }
    }
}
