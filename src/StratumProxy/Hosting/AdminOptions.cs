namespace StratumProxy.Hosting;

/// <summary>
/// The <c>Admin</c> section: the HTTP endpoint for metrics, health, the status API and page. Immutable and compared by
/// value; bound through <see cref="AdminSection"/>.
/// </summary>
public sealed record AdminOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Admin";

    /// <summary>
    /// <c>HOST:PORT</c> of the admin HTTP endpoint. Loopback by default; opening it to the network (<c>0.0.0.0:9100</c>,
    /// as the container image does) is the operator's choice, and writes then need <see cref="Token"/>.
    /// </summary>
    public string Endpoint { get; init; } = "127.0.0.1:9100";

    /// <summary>Allow the write API (<c>POST /api/switch</c>). Off by default; with it on, writes need <see cref="Token"/> unless the endpoint is loopback.</summary>
    public bool AllowWrite { get; init; }

    /// <summary>A line shown at the top of the status page (a site name, a maintenance note); none by default.</summary>
    public string? Notice { get; init; }

    /// <summary>
    /// The bearer token the admin API asks for (<c>Authorization: Bearer TOKEN</c>, at least 16 characters); a secret:
    /// never logged or shown. Without one, writes are taken only on a loopback endpoint (docs/security.md).
    /// </summary>
    public string? Token { get; init; }

    /// <summary>A file whose content (trimmed) is the token, instead of <see cref="Token"/>; read at start.</summary>
    public string? TokenFile { get; init; }

    /// <summary>Ask for the token on the read API (<c>/api/*</c>) too; health checks and the page's files stay open.</summary>
    public bool RequireTokenForReads { get; init; }

    /// <summary>Ask for the token on <c>/metrics</c> (Prometheus: <c>authorization: credentials_file:</c>).</summary>
    public bool RequireTokenForMetrics { get; init; }

    /// <summary>HTTPS on the admin endpoint, from a certificate file; off when no file is named.</summary>
    public AdminTlsOptions Tls { get; init; } = new();

    /// <summary>The type's name only: the record holds a secret (<see cref="Token"/>), which is never printed.</summary>
    public override string ToString() => typeof(AdminOptions).FullName!;
}

/// <summary>The <c>Admin:Tls</c> section: the admin endpoint's certificate (PEM certificate and key, or PFX).</summary>
public sealed record AdminTlsOptions
{
    /// <summary>A PEM certificate (with <see cref="KeyFile"/>, or its key in the same file) or a PFX/PKCS#12 file.</summary>
    public string? CertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="CertificateFile"/>, when it is a separate file.</summary>
    public string? KeyFile { get; init; }

    /// <summary>The PFX password or the encrypted PEM key's password; a secret, never logged or shown.</summary>
    public string? Password { get; init; }

    /// <summary>The type's name only: the record holds a secret (<see cref="Password"/>), which is never printed.</summary>
    public override string ToString() => typeof(AdminTlsOptions).FullName!;
}
