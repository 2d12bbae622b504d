using StratumProxy.Economics.Market;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Tests;

public sealed class HalvingScheduleTests
{
    [Theory]
    [InlineData(0, 5_000_000_000L)]
    [InlineData(209_999, 5_000_000_000L)]
    [InlineData(210_000, 2_500_000_000L)]
    [InlineData(630_000, 625_000_000L)]
    [InlineData(839_999, 625_000_000L)]
    [InlineData(840_000, 312_500_000L)]
    [InlineData(881_423, 312_500_000L)]
    [InlineData(1_050_000, 156_250_000L)]
    [InlineData(6_720_000, 1L)] // 32 halvings: 5,000,000,000 / 2^32 = 1.16, shifted right: 1 satoshi
    [InlineData(13_440_000, 0L)] // 64 halvings: consensus returns zero instead of shifting
    public void Subsidy_follows_the_consensus_schedule(long height, long expectedSatoshis)
    {
        Assert.Equal(expectedSatoshis, Coin.Bitcoin.SubsidySatoshisAt(height));
    }

    [Fact]
    public void Subsidy_reaches_zero_after_33_halvings_and_stays_there()
    {
        Assert.Equal(0L, Coin.Bitcoin.SubsidySatoshisAt(33 * 210_000));
        Assert.Equal(0L, Coin.Bitcoin.SubsidySatoshisAt(100 * 210_000));
    }

    [Fact]
    public void Next_halving_height()
    {
        Assert.Equal(1_050_000L, Coin.Bitcoin.NextHalvingHeight(881_423));
        Assert.Equal(1_050_000L, Coin.Bitcoin.NextHalvingHeight(840_000));
    }

    [Fact]
    public void Height_estimate_is_anchored_at_block_881423_and_adds_a_block_per_ten_minutes()
    {
        var anchor = new DateTimeOffset(2025, 1, 30, 0, 1, 45, TimeSpan.Zero);
        Assert.Equal(881_423L, HeightEstimate.BitcoinHeightAt(anchor));
        Assert.Equal(881_423L + 144, HeightEstimate.BitcoinHeightAt(anchor.AddDays(1)));
        Assert.Equal(881_423L, HeightEstimate.BitcoinHeightAt(anchor.AddYears(-1)));
    }
}

public sealed class CompactTargetTests
{
    [Fact]
    public void Difficulty_one_is_0x1d00ffff()
    {
        Assert.Equal(1.0, CompactTarget.ToDifficulty(0x1d00ffff).Value, 15);
    }

    [Fact]
    public void Mainnet_block_881423_nbits_gives_its_published_difficulty()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var job = Vectors.Vector(vectors, "mainnet-block-881423-version-rolled").GetProperty("job");
        var nbits = CompactTarget.ParseHex(job.GetProperty("nbits").GetString()!);
        // By hand: 0xFFFF / 0x029a8a × 2^(208 − 8·(0x17 − 3)) = 65535 / 170634 × 2^48 = 108,105,433,845,147.16
        Assert.Equal(108_105_433_845_147.16, CompactTarget.ToDifficulty(nbits).Value, 0.01);
    }

    [Fact]
    public void Regtest_minimum_difficulty()
    {
        // 0x207fffff: 65535 / 8388607 / 2^24
        Assert.Equal(4.6565423739069247e-10, CompactTarget.ToDifficulty(0x207fffff).Value, 1e-24);
    }

    [Fact]
    public void Difficulty_matches_the_exact_big_integer_ratio()
    {
        var target = CompactTarget.ToTarget(0x1705ae3a);
        var exact = (double)(CompactTarget.DifficultyOneTarget * 1_000_000 / target) / 1_000_000;
        Assert.Equal(exact, CompactTarget.ToDifficulty(0x1705ae3a).Value, 1e-3);
    }

    [Theory]
    [InlineData("1d00fff")]
    [InlineData("zz00ffff")]
    public void Malformed_hex_is_rejected(string hex) => Assert.Throws<FormatException>(() => CompactTarget.ParseHex(hex));

    [Fact]
    public void Negative_or_zero_targets_are_rejected()
    {
        Assert.Throws<FormatException>(() => CompactTarget.ToDifficulty(0x1d800000));
        Assert.Throws<FormatException>(() => CompactTarget.ToDifficulty(0x1d000000));
    }
}

public sealed class CoinbaseTransactionTests
{
    [Fact]
    public void Block_881423_coinbase2_holds_the_outputs_subsidy_plus_fees()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var v = Vectors.Vector(vectors, "mainnet-block-881423-version-rolled");
        var job = v.GetProperty("job");
        var extranonce = (v.GetProperty("extranonce1").GetString()!.Length / 2) + v.GetProperty("extranonce2_size").GetInt32();
        var summary = CoinbaseTransaction.Parse(job.GetProperty("coinb1").GetString()!, extranonce, job.GetProperty("coinb2").GetString()!);
        // coinb2 output 0: 75aac01200000000 LE = 0x12c0aa75 = 314,616,437 sat; output 1: the zero-value witness commitment.
        Assert.Equal(314_616_437L, summary.TotalOutputSatoshis);
        Assert.Equal(2, summary.OutputCount);
        Assert.Equal(881_423L, summary.Height); // push 030f730d: 0x0d730f
    }

    [Fact]
    public void Espminer_mainnet_share_coinbase_has_three_outputs_at_height_791433()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var v = Vectors.Vector(vectors, "espminer-mainnet-share-diff683");
        var job = v.GetProperty("job");
        var summary = CoinbaseTransaction.Parse(job.GetProperty("coinb1").GetString()!, 8, job.GetProperty("coinb2").GetString()!);
        Assert.Equal(705_473_913L, summary.TotalOutputSatoshis); // 0x2a0cad79 + two OP_RETURN outputs of 0
        Assert.Equal(3, summary.OutputCount);
        Assert.Equal(791_433L, summary.Height); // 0389130c
    }

    [Fact]
    public void Slush_documentation_notify_pays_50_btc()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var v = Vectors.Vector(vectors, "slush-doc-example-notify");
        using var notify = System.Text.Json.JsonDocument.Parse(v.GetProperty("notify_line").GetString()!);
        var p = notify.RootElement.GetProperty("params");
        var summary = CoinbaseTransaction.Parse(p[2].GetString()!, 8, p[3].GetString()!);
        Assert.Equal(5_000_000_000L, summary.TotalOutputSatoshis);
    }

    [Fact]
    public void Regtest_coinbase_with_op_14_height()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var v = Vectors.Vector(vectors, "miningcore-regtest-valid-share");
        var job = v.GetProperty("job");
        var summary = CoinbaseTransaction.Parse(job.GetProperty("coinb1").GetString()!, 8, job.GetProperty("coinb2").GetString()!);
        Assert.Equal(5_000_000_000L, summary.TotalOutputSatoshis); // 00f2052a01000000
        Assert.Equal(14L, summary.Height); // script starts with 0x5e = OP_14
    }

    [Theory]
    [InlineData(7)]
    [InlineData(13)]
    public void A_wrong_extranonce_length_is_detected(int wrongLength)
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var job = Vectors.Vector(vectors, "mainnet-block-881423-version-rolled").GetProperty("job");
        Assert.Throws<FormatException>(() =>
            CoinbaseTransaction.Parse(job.GetProperty("coinb1").GetString()!, wrongLength, job.GetProperty("coinb2").GetString()!));
    }

    [Fact]
    public void Non_coinbase_bytes_are_rejected()
    {
        Assert.Throws<FormatException>(() => CoinbaseTransaction.Parse("0100000001", 0, "00"));
        Assert.Throws<FormatException>(() => CoinbaseTransaction.Parse([]));
    }
}

public sealed class NotifyMarketEstimatorTests
{
    private static readonly DateTimeOffset Seen = new(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Reads_difficulty_height_and_fees_from_the_block_881423_job()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var v = Vectors.Vector(vectors, "mainnet-block-881423-version-rolled");
        var job = v.GetProperty("job");
        var seenAt = new DateTimeOffset(2025, 1, 30, 0, 2, 0, TimeSpan.Zero);
        var estimator = new NotifyMarketEstimator(Coin.Bitcoin);
        var obs = estimator.Observe(
            job.GetProperty("prevhash").GetString()!,
            job.GetProperty("coinb1").GetString()!,
            job.GetProperty("coinb2").GetString()!,
            job.GetProperty("nbits").GetString()!,
            NotifyMarketEstimator.ExtranonceLength(v.GetProperty("extranonce1").GetString()!, v.GetProperty("extranonce2_size").GetInt32()),
            seenAt);

        Assert.Equal(881_423L, obs.Height);
        Assert.Equal(3.14616437, obs.CoinbaseValue.Amount, 1e-12);
        Assert.Equal(0.02116437, obs.Fees!.Value.Amount, 1e-12); // 314,616,437 − 312,500,000 sat
        var current = estimator.Current!;
        Assert.Equal(3.125, current.Subsidy.Amount);
        Assert.Equal(108_105_433_845_147.16, current.Difficulty.Value, 0.01);
        Assert.Equal(seenAt, current.ObservedAt);

        var snapshot = estimator.ToSnapshot(new CoinPrice(100_000))!;
        Assert.Equal(3.14616437, snapshot.BlockReward.Amount, 1e-12);
    }

    [Fact]
    public void Follows_every_notify_of_the_ckpool_capture_across_a_block_change()
    {
        using var transcripts = Vectors.Load("stratum-v1-transcripts.json");
        var session = transcripts.RootElement.GetProperty("sessions").EnumerateArray()
            .Single(s => s.GetProperty("name").GetString()!.StartsWith("cpuminer-2.5.1 -> ckpool", StringComparison.Ordinal));
        var estimator = new NotifyMarketEstimator(Coin.Bitcoin);
        var extranonce = -1;
        var heights = new List<long?>();
        foreach (var line in session.GetProperty("lines").EnumerateArray())
        {
            if (line.GetProperty("dir").GetString() != "server->client")
            {
                continue;
            }

            var text = line.GetProperty("line").GetString()!;
            using var msg = System.Text.Json.JsonDocument.Parse(text);
            if (msg.RootElement.TryGetProperty("result", out var result) && result.ValueKind == System.Text.Json.JsonValueKind.Array)
            {
                extranonce = NotifyMarketEstimator.ExtranonceLength(result[1].GetString()!, result[2].GetInt32());
                continue;
            }

            if (estimator.ObserveNotifyLine(text, extranonce, Seen) is { } obs)
            {
                heights.Add(obs.Height);
                Assert.Equal(1.0, obs.Difficulty.Value, 12); // nbits 1d00ffff on the fake chain
                Assert.Equal(3.125, obs.CoinbaseValue.Amount); // 205fa01200000000 = 312,500,000 sat
                Assert.Equal(0.0, obs.Fees!.Value.Amount);
            }
        }

        Assert.Equal(12, extranonce); // en1 bd2d076b (4 bytes) + extranonce2 size 8
        // Height push 03a1bb0d = 900,001 until the capture's block is found, then 03a2bb0d = 900,002.
        Assert.Equal(900_001L, heights[0]);
        Assert.Equal(900_002L, heights[^1]);
        Assert.True(heights.Count >= 10);
        var current = estimator.Current!;
        Assert.Equal(2, current.BlocksInAverage);
        Assert.Equal(0.0, current.AverageFees.Amount);
    }

    [Fact]
    public void Every_captured_notify_in_every_session_parses_with_its_subscription_extranonce()
    {
        using var transcripts = Vectors.Load("stratum-v1-transcripts.json");
        var parsed = 0;
        foreach (var session in transcripts.RootElement.GetProperty("sessions").EnumerateArray())
        {
            var linesName = session.TryGetProperty("lines", out _) ? "lines" : "hops";
            var estimator = new NotifyMarketEstimator(Coin.Bitcoin);
            var extranonce = -1;
            foreach (var line in session.GetProperty(linesName).EnumerateArray())
            {
                var direction = line.TryGetProperty("dir", out var dir) ? dir.GetString()
                    : line.TryGetProperty("hop", out var hop) ? hop.GetString() : null; // "event" entries carry no line
                if (direction is not ("server->client" or "pool->relay"))
                {
                    continue;
                }

                var text = line.GetProperty("line").GetString()!;
                if (!text.StartsWith('{'))
                {
                    continue; // the probe capture records the pool closing the socket as "<EOF>"
                }

                using var msg = System.Text.Json.JsonDocument.Parse(text);
                if (msg.RootElement.TryGetProperty("result", out var result) && result.ValueKind == System.Text.Json.JsonValueKind.Array
                    && result.GetArrayLength() == 3 && result[1].ValueKind == System.Text.Json.JsonValueKind.String)
                {
                    extranonce = NotifyMarketEstimator.ExtranonceLength(result[1].GetString()!, result[2].GetInt32());
                    continue;
                }

                if (extranonce >= 0 && estimator.ObserveNotifyLine(text, extranonce, Seen) is { } obs)
                {
                    parsed++;
                    // Every capture mines on a test chain at height 900,000–900,002 paying exactly the 3.125 BTC subsidy.
                    Assert.InRange(obs.Height!.Value, 900_000L, 900_002L);
                    Assert.Equal(312_500_000L, (long)Math.Round(obs.CoinbaseValue.Amount * 1e8));
                }
            }
        }

        Assert.Equal(49, parsed); // every mining.notify the captures hold, counted by hand per session
    }

    [Fact]
    public void Fee_average_keeps_the_last_template_per_block_over_the_window()
    {
        using var vectors = Vectors.Load("stratum-v1-vectors.json");
        var v = Vectors.Vector(vectors, "mainnet-block-881423-version-rolled");
        var job = v.GetProperty("job");
        var c1 = job.GetProperty("coinb1").GetString()!;
        var c2 = job.GetProperty("coinb2").GetString()!;
        var estimator = new NotifyMarketEstimator(Coin.Bitcoin, blockWindow: 2);
        // The same template under three block hashes; a window of two keeps two blocks.
        estimator.Observe("aa", c1, c2, "17029a8a", 12, Seen);
        estimator.Observe("bb", c1, c2, "17029a8a", 12, Seen);
        estimator.Observe("bb", c1, c2, "17029a8a", 12, Seen);
        estimator.Observe("cc", c1, c2, "17029a8a", 12, Seen);
        Assert.Equal(2, estimator.Current!.BlocksInAverage);
        Assert.Equal(0.02116437, estimator.Current!.AverageFees.Amount, 1e-12);
    }

    [Fact]
    public void A_line_that_is_not_a_notify_is_ignored()
    {
        var estimator = new NotifyMarketEstimator(Coin.Bitcoin);
        Assert.Null(estimator.ObserveNotifyLine("{\"id\":1,\"method\":\"mining.set_difficulty\",\"params\":[1]}", 8, Seen));
        Assert.Null(estimator.Current);
    }
}
