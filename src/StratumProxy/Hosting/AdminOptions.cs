namespace StratumProxy.Hosting;

/// <summary>The <c>Admin</c> section: the HTTP endpoint for metrics, health, the status API and page.</summary>
public sealed class AdminOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Admin";

    /// <summary>
    /// <c>HOST:PORT</c> of the admin HTTP endpoint. Loopback by default: the endpoint has no authentication, so
    /// opening it to the network (<c>0.0.0.0:9100</c>, as the container image does) is the operator's choice.
    /// </summary>
    public string Endpoint { get; set; } = "127.0.0.1:9100";

    /// <summary>Allow the write API (<c>POST /api/switch</c>). Off by default: the endpoint has no authentication.</summary>
    public bool AllowWrite { get; set; }

    /// <summary>A line shown at the top of the status page (a site name, a maintenance note); none by default.</summary>
    public string? Notice { get; set; }
}
