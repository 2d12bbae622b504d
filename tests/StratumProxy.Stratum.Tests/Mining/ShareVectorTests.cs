using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using StratumProxy.Stratum.Crypto;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Tests.Crypto;
using StratumProxy.Stratum.Tests.Vectors;

namespace StratumProxy.Stratum.Tests.Mining;

/// <summary>
/// Every vector in tests/vectors/stratum-v1-vectors.json, through both SHA-256 implementations: the shares rebuild to
/// the listed coinbase, merkle root, header and block hash, and meet (or miss) the targets as listed.
/// </summary>
public sealed partial class ShareVectorTests
{
    private const string VectorFile = "stratum-v1-vectors.json";

    private static readonly Lazy<JsonDocument> Document = new(() => SharedVectors.ReadJson(VectorFile));

    public static TheoryData<string, string> VectorsWithImplementations
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var vector in Vectors())
            {
                foreach (var implementation in Sha256Implementations.Names)
                {
                    data.Add(vector.GetProperty("id").GetString()!, implementation);
                }
            }

            return data;
        }
    }

    public static TheoryData<string> Implementations => Sha256Implementations.Names;

    [Fact]
    public void VectorFile_HasTheSharesItPromises()
    {
        var ids = Vectors().Select(v => v.GetProperty("id").GetString()).ToList();

        Assert.True(ids.Count >= 12, $"only {ids.Count} vectors");
        Assert.Contains("miningcore-regtest-valid-share", ids);
        Assert.Contains("mainnet-block-881423-version-rolled", ids);
        Assert.Contains("captured-ckpool-accepted-version-rolled-share-1", ids);
    }

    [Theory]
    [MemberData(nameof(VectorsWithImplementations))]
    public void Vector_RebuildsToTheListedFacts(string id, string implementation)
    {
        var vector = Vectors().Single(v => v.GetProperty("id").GetString() == id);
        var sha = Sha256Implementations.Get(implementation);

        Facts facts;
        if (vector.TryGetProperty("job", out var job))
        {
            facts = RebuildShare(sha, vector, job, vector.GetProperty("submit"));
        }
        else if (vector.TryGetProperty("header_only", out var header))
        {
            facts = RebuildHeader(sha, header);
        }
        else if (vector.TryGetProperty("merkle_only", out var merkle))
        {
            facts = RebuildMerkle(sha, merkle);
        }
        else if (vector.TryGetProperty("coinbase_only", out var coinbase))
        {
            facts = RebuildCoinbase(sha, coinbase);
        }
        else
        {
            // Message-only vectors (BIP310 wire lines) carry no hash facts; the protocol tests parse them.
            Assert.True(vector.TryGetProperty("messages", out _), $"vector {id} has no shape this test knows");
            return;
        }

        var checkedFacts = 0;
        foreach (var section in new[] { "expected", "computed" })
        {
            if (vector.TryGetProperty(section, out var listed))
            {
                checkedFacts += CheckFacts(id, section, listed, facts);
            }
        }

        Assert.True(checkedFacts > 0, $"vector {id} listed no facts");
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void MiningcoreNegativeCases_GiveTheHashFactsTheVectorStates(string implementation)
    {
        var vector = Vectors().Single(v => v.GetProperty("id").GetString() == "miningcore-regtest-valid-share");
        var hasher = new ShareHasher(Sha256Implementations.Get(implementation));
        var template = Template(vector.GetProperty("job"));
        var extranonce1 = Hex.Decode(vector.GetProperty("extranonce1").GetString());
        var submit = vector.GetProperty("submit");
        var shareTarget = Difficulty.ToTarget(vector.GetProperty("pool_difficulty").GetDouble());
        var accepted = HashOf(hasher, template, extranonce1, submit.GetProperty("extranonce2").GetString()!, submit.GetProperty("ntime").GetString()!, submit.GetProperty("nonce").GetString()!);
        var cases = vector.GetProperty("negative_cases_from_same_test").EnumerateArray().ToList();
        Assert.NotEmpty(cases);

        foreach (var negative in cases)
        {
            var extranonce2 = negative.GetProperty("extranonce2").GetString()!;
            var ntime = negative.GetProperty("ntime").GetString()!;
            var nonce = negative.GetProperty("nonce").GetString()!;
            var why = negative.GetProperty("why").GetString()!;
            var hash = HashOf(hasher, template, extranonce1, extranonce2, ntime, nonce);
            var sameInputs =
                string.Equals(extranonce2, submit.GetProperty("extranonce2").GetString(), StringComparison.OrdinalIgnoreCase) &&
                string.Equals(ntime, submit.GetProperty("ntime").GetString(), StringComparison.OrdinalIgnoreCase) &&
                string.Equals(nonce, submit.GetProperty("nonce").GetString(), StringComparison.OrdinalIgnoreCase);

            if (sameInputs)
            {
                // Duplicate and clock cases: the hash is the accepted share's (hex is case-insensitive); the
                // rejection is the proxy's policy, not a hash fact.
                Assert.Equal(Convert.ToHexStringLower(accepted), Convert.ToHexStringLower(hash));
                continue;
            }

            Assert.NotEqual(Convert.ToHexStringLower(accepted), Convert.ToHexStringLower(hash));
            var prefix = HashPrefix().Match(why);
            if (prefix.Success)
            {
                Assert.StartsWith(prefix.Groups[1].Value, BlockHeader.ToDisplayHex(hash), StringComparison.Ordinal);
            }

            if (why.Contains("misses both targets", StringComparison.Ordinal) ||
                why.Contains("misses the regtest network target and the share target", StringComparison.Ordinal))
            {
                Assert.False(Difficulty.MeetsTarget(hash, template.NetworkTarget), why);
                Assert.False(Difficulty.MeetsTarget(hash, shareTarget), why);
            }
            else if (why.Contains("WOULD meet the regtest network target", StringComparison.Ordinal))
            {
                Assert.True(Difficulty.MeetsTarget(hash, template.NetworkTarget), why);
            }
            else
            {
                Assert.Fail($"negative case without a hash fact this test understands: {why}");
            }
        }
    }

    internal static IEnumerable<JsonElement> Vectors() => Document.Value.RootElement.GetProperty("vectors").EnumerateArray();

    internal static ShareJobTemplate Template(JsonElement job) => ShareJobTemplate.FromHex(
        job.GetProperty("prevhash").GetString()!,
        job.GetProperty("coinb1").GetString()!,
        job.GetProperty("coinb2").GetString()!,
        job.GetProperty("merkle_branch").EnumerateArray().Select(b => b.GetString()!).ToList(),
        job.GetProperty("version").GetString()!,
        job.GetProperty("nbits").GetString()!,
        job.GetProperty("ntime").GetString()!);

    private static byte[] HashOf(ShareHasher hasher, ShareJobTemplate template, byte[] extranonce1, string extranonce2, string ntime, string nonce)
    {
        Assert.True(Hex.TryParseUInt32BigEndianHex(ntime, out var ntimeValue));
        Assert.True(Hex.TryParseUInt32BigEndianHex(nonce, out var nonceValue));
        var hash = new byte[32];
        hasher.ComputeBlockHash(template, extranonce1, Hex.Decode(extranonce2), ntimeValue, nonceValue, template.Version, hash);
        return hash;
    }

    private static Facts RebuildShare(Sha256Compressor sha, JsonElement vector, JsonElement job, JsonElement submit)
    {
        var template = Template(job);
        var hasher = new ShareHasher(sha);
        var extranonce1 = Hex.Decode(vector.GetProperty("extranonce1").GetString());
        var extranonce2 = Hex.Decode(submit.GetProperty("extranonce2").GetString());
        Assert.Equal(vector.GetProperty("extranonce2_size").GetInt32(), extranonce2.Length);
        Assert.True(Hex.TryParseUInt32BigEndianHex(submit.GetProperty("ntime").GetString(), out var ntime));
        Assert.True(Hex.TryParseUInt32BigEndianHex(submit.GetProperty("nonce").GetString(), out var nonce));

        var version = template.Version;
        if (submit.TryGetProperty("version_bits", out var bits))
        {
            Assert.True(Hex.TryParseUInt32BigEndianHex(bits.GetString(), out var versionBits));
            Assert.True(Hex.TryParseUInt32BigEndianHex(vector.GetProperty("version_mask").GetString(), out var mask));
            Assert.True(VersionRolling.IsWithinMask(versionBits, mask));
            Assert.True(VersionRolling.TryApply(template.Version, versionBits, mask, out version));
        }

        var hash = new byte[32];
        var header = new byte[80];
        hasher.ComputeBlockHash(template, extranonce1, extranonce2, ntime, nonce, version, hash, header);

        var coinbase = new byte[template.CoinbaseLength(extranonce1.Length, extranonce2.Length)];
        ShareHasher.WriteCoinbase(template, extranonce1, extranonce2, coinbase);
        var txid = new byte[32];
        sha.DoubleHash(coinbase, txid);
        var root = new byte[32];
        hasher.ComputeMerkleRoot(template, extranonce1, extranonce2, root);
        Assert.Equal(Convert.ToHexStringLower(root), Convert.ToHexStringLower(header.AsSpan(36, 32)));

        return new Facts(hash, header, coinbase, txid, root, template.NetworkTarget);
    }

    private static Facts RebuildHeader(Sha256Compressor sha, JsonElement fields)
    {
        uint Field(string name)
        {
            Assert.True(Hex.TryParseUInt32BigEndianHex(fields.GetProperty(name).GetString(), out var value));
            return value;
        }

        var prevHash = new byte[32];
        BlockHeader.SwapPrevHashWords(Hex.Decode(fields.GetProperty("prevhash").GetString()), prevHash);
        var root = Hex.Decode(fields.GetProperty("merkle_root_internal").GetString());
        var header = new byte[80];
        BlockHeader.Write(header, Field("version"), prevHash, root, Field("ntime"), Field("nbits"), Field("nonce"));
        var hash = new byte[32];
        sha.DoubleHash80(header, hash);
        return new Facts(hash, header, null, null, root, Difficulty.TargetFromCompact(Field("nbits")));
    }

    private static Facts RebuildMerkle(Sha256Compressor sha, JsonElement fields)
    {
        var coinbase = Concat(fields);
        var txid = new byte[32];
        sha.DoubleHash(coinbase, txid);
        var branches = fields.GetProperty("merkle_branch").EnumerateArray().SelectMany(b => Hex.Decode(b.GetString())).ToArray();
        var root = new byte[32];
        MerkleRoot.Compute(sha, txid, branches, root);
        return new Facts(null, null, coinbase, txid, root, null);
    }

    private static Facts RebuildCoinbase(Sha256Compressor sha, JsonElement fields)
    {
        var coinbase = Concat(fields);
        var txid = new byte[32];
        sha.DoubleHash(coinbase, txid);
        return new Facts(null, null, coinbase, txid, null, null);
    }

    private static byte[] Concat(JsonElement fields) =>
    [
        .. Hex.Decode(fields.GetProperty("coinb1").GetString()),
        .. Hex.Decode(fields.GetProperty("extranonce1").GetString()),
        .. Hex.Decode(fields.GetProperty("extranonce2").GetString()),
        .. Hex.Decode(fields.GetProperty("coinb2").GetString()),
    ];

    private static int CheckFacts(string id, string section, JsonElement listed, Facts facts)
    {
        var count = 0;
        foreach (var fact in listed.EnumerateObject())
        {
            var label = $"{id} {section}.{fact.Name}";
            switch (fact.Name)
            {
                case "block_hash":
                    Assert.True(facts.Hash is not null, label);
                    Assert.Equal(fact.Value.GetString(), BlockHeader.ToDisplayHex(facts.Hash));
                    break;
                case "header_hex":
                    Assert.True(facts.Header is not null, label);
                    Assert.Equal(fact.Value.GetString(), Convert.ToHexStringLower(facts.Header));
                    break;
                case "merkle_root_internal":
                    Assert.True(facts.MerkleRoot is not null, label);
                    Assert.Equal(fact.Value.GetString(), Convert.ToHexStringLower(facts.MerkleRoot));
                    break;
                case "coinbase_hex":
                    Assert.True(facts.Coinbase is not null, label);
                    Assert.Equal(fact.Value.GetString(), Convert.ToHexStringLower(facts.Coinbase));
                    break;
                case "coinbase_txid":
                    Assert.True(facts.CoinbaseTxid is not null, label);
                    Assert.Equal(fact.Value.GetString(), BlockHeader.ToDisplayHex(facts.CoinbaseTxid));
                    break;
                case "share_difficulty_at_least":
                    Assert.True(facts.Hash is not null, label);
                    var atLeast = fact.Value.GetDouble();
                    Assert.True(Difficulty.OfHash(facts.Hash) >= atLeast, label);
                    Assert.True(Difficulty.MeetsTarget(facts.Hash, Difficulty.ToTarget(atLeast)), label);
                    break;
                case "share_difficulty":
                    Assert.True(facts.Hash is not null, label);
                    var listedDifficulty = fact.Value.GetDouble();
                    var actual = Difficulty.OfHash(facts.Hash);
                    Assert.True(Math.Abs(actual - listedDifficulty) <= listedDifficulty * 1e-5, string.Create(CultureInfo.InvariantCulture, $"{label}: {actual}"));
                    break;
                case "meets_network_target":
                    Assert.True(facts.Hash is not null && facts.NetworkTarget is not null, label);
                    Assert.Equal(fact.Value.GetBoolean(), Difficulty.MeetsTarget(facts.Hash, facts.NetworkTarget.Value));
                    break;
                default:
                    Assert.Fail($"{label}: a fact this test does not check yet");
                    break;
            }

            count++;
        }

        return count;
    }

    [GeneratedRegex(@"hash ([0-9a-f]{8})\.\.\.")]
    private static partial Regex HashPrefix();

    private sealed record Facts(byte[]? Hash, byte[]? Header, byte[]? Coinbase, byte[]? CoinbaseTxid, byte[]? MerkleRoot, UInt256? NetworkTarget);
}
