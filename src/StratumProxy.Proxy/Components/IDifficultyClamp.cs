namespace StratumProxy.Proxy.Components;

/// <summary>Bounds a difficulty a miner asks for to what the proxy will send it (a session's vardiff).</summary>
public interface IDifficultyClamp
{
    /// <summary>The difficulty within the bounds (and rounded as they say).</summary>
    double Clamp(double difficulty);
}
