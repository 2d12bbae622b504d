using System.Net;

namespace StratumProxy.TestKit;

/// <summary>A client connection at the pool. Mutable state is guarded by the pool's gate.</summary>
internal sealed class PoolSession(int id, byte[] extranonce1, LineConnection connection, EndPoint? remote, double difficulty, int extranonce2Size)
{
    public int Id { get; } = id;

    /// <summary>The extranonce1 in force now (mining.set_extranonce changes it for jobs sent afterwards).</summary>
    public byte[] Extranonce1 { get; set; } = extranonce1;

    public string Extranonce1Hex => Convert.ToHexStringLower(Extranonce1);

    /// <summary>The extranonce2 size in force now.</summary>
    public int Extranonce2Size { get; set; } = extranonce2Size;

    /// <summary>The extranonce1 and extranonce2 size that were in force when each job was sent to this connection.</summary>
    public Dictionary<string, (byte[] Extranonce1, int Extranonce2Size)> JobExtranonce { get; } = new(StringComparer.Ordinal);

    public LineConnection Connection { get; } = connection;

    public string Remote { get; } = remote?.ToString() ?? "?";

    public string? UserAgent { get; set; }

    public bool Subscribed { get; set; }

    public bool WorkSent { get; set; }

    public bool IsOpen { get; set; } = true;

    public uint VersionMask { get; set; }

    /// <summary>The difficulty in force now; it applies to jobs sent from now on.</summary>
    public double Difficulty { get; set; } = difficulty;

    /// <summary>The difficulty that was in force on this connection when each job was sent to it.</summary>
    public Dictionary<string, double> JobDifficulty { get; } = new(StringComparer.Ordinal);

    public List<string> Workers { get; } = [];

    public PoolSessionInfo Snapshot() =>
        new(Id, Remote, UserAgent, Extranonce1Hex, VersionMask, Difficulty, [.. Workers], IsOpen);
}
