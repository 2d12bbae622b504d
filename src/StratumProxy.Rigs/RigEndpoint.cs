namespace StratumProxy.Rigs;

/// <summary>Where a rig's API listens and how long one request may take.</summary>
public sealed record RigEndpoint(string Host, int Port)
{
    /// <summary>Time for one request: connect, send and the whole reply.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public string? User { get; init; }

    public string? Password { get; init; }
}
