using System.Buffers;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.Fuzz.Harnesses;

/// <summary>
/// What a miner sends: the line framer, the JSON-RPC envelope, and the params of every request the miner session
/// reads (subscribe, authorize, configure, submit, suggest_difficulty, suggest_target), then the reply that echoes the
/// raw id. The parsers' contract is a typed result: no exception is documented, so any exception is a finding.
/// </summary>
internal sealed class MinerLinesHarness : Harness
{
    [ThreadStatic]
    private static StratumWriter? t_writer;

    public override string Name => "miner-lines";

    public override string Summary => "miner -> proxy bytes: framer, envelope, submit/subscribe/authorize/configure/suggest params, reply with the raw id (no exception allowed)";

    public override void Run(byte[] input) => Lines.Feed(input, LineFramer.DefaultMaxLineLength, Handle);

    public override IEnumerable<Seed> Seeds(SeedSources sources) => sources.TranscriptSeeds("client->server");

    private static void Handle(ReadOnlySpan<byte> line)
    {
        var writer = t_writer ??= new StratumWriter();
        var output = new ArrayBufferWriter<byte>(256);
        if (!StratumEnvelope.TryParse(line, out var envelope, out var error))
        {
            _ = error.Label;
            return;
        }

        if (envelope.Kind == StratumMessageKind.Response)
        {
            return;
        }

        var ok = true;
        switch (envelope.Method)
        {
            case StratumMethod.Submit:
                if (SubmitRequest.TryParse(line, envelope, out var submit, out error))
                {
                    _ = line.Slice(submit.Worker.Start, submit.Worker.Length).Length + line.Slice(submit.JobId.Start, submit.JobId.Length).Length;
                }
                else
                {
                    ok = false;
                }

                break;
            case StratumMethod.Subscribe:
                ok = SubscribeRequest.TryParse(line, envelope, out _, out error);
                break;
            case StratumMethod.Authorize:
                ok = AuthorizeRequest.TryParse(line, envelope, out _, out error);
                break;
            case StratumMethod.Configure:
                if (ConfigureRequest.TryParse(line, envelope, out var configure, out error))
                {
                    writer.WriteConfigureResult(
                        output, envelope.Id, configure.WantsVersionRolling ? true : null, configure.VersionRollingMask ?? 0, configure.WantsMinimumDifficulty ? true : null);
                }
                else
                {
                    ok = false;
                }

                break;
            case StratumMethod.SuggestDifficulty:
                if (SuggestDifficultyRequest.TryParse(line, envelope, out var suggested, out error))
                {
                    writer.WriteSetDifficulty(output, suggested);
                }
                else
                {
                    ok = false;
                }

                break;
            case StratumMethod.SuggestTarget:
                Span<byte> target = stackalloc byte[32];
                if (TargetParam.TryParse(line, envelope, target, out error))
                {
                    var value = UInt256.FromBigEndian(target);
                    if (!value.IsZero)
                    {
                        _ = Difficulty.FromTarget(value);
                    }
                }
                else
                {
                    ok = false;
                }

                break;
        }

        // The session answers a request with its own id, echoed byte for byte.
        if (envelope.Kind == StratumMessageKind.Request)
        {
            if (ok)
            {
                writer.WriteResult(output, envelope.Id, true);
            }
            else
            {
                writer.WriteError(output, envelope.Id, StratumErrorCode.Other, error.Reason);
            }
        }
    }
}
