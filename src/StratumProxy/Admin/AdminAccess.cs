using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Prometheus;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Admin;

/// <summary>What a request to the admin endpoint is, for access control.</summary>
public enum AdminRequestKind
{
    /// <summary>Health checks and the status page's own files (no data): always open.</summary>
    Open,

    /// <summary>A read of the API (<c>GET /api/*</c> and anything else read-only that is not open).</summary>
    Read,

    /// <summary><c>/metrics</c>.</summary>
    Metrics,

    /// <summary>Any method but GET and HEAD: it may change state.</summary>
    Write,
}

/// <summary>Why a request was refused (a bounded set: a metric label).</summary>
public enum AdminRefusal
{
    /// <summary>Not refused.</summary>
    None,

    /// <summary>A token is asked for and none was sent (401).</summary>
    MissingToken,

    /// <summary>The token sent is not the configured one (401).</summary>
    BadToken,

    /// <summary>The write API is off (<c>Admin:AllowWrite</c>, 403).</summary>
    WriteDisabled,

    /// <summary>A write on an endpoint open beyond loopback while no token is configured (403).</summary>
    TokenRequired,
}

/// <summary>
/// The admin endpoint's access rules, loaded once at start: the bearer token (kept only as its SHA-256, compared in
/// constant time), which request kinds ask for it, and the optional TLS certificate. Health checks stay open; a
/// write without a configured token is taken only when the endpoint listens on loopback alone.
/// </summary>
public sealed class AdminAccess : IDisposable
{
    private readonly byte[]? _tokenHash;

    private AdminAccess(byte[]? tokenHash, bool reads, bool metrics, bool allowWrite, bool loopbackOnly, X509Certificate2? certificate)
    {
        _tokenHash = tokenHash;
        RequireTokenForReads = reads;
        RequireTokenForMetrics = metrics;
        AllowWrite = allowWrite;
        LoopbackOnly = loopbackOnly;
        Certificate = certificate;
    }

    /// <summary>The least length of a token.</summary>
    public const int MinimumTokenLength = 16;

    /// <summary>True when a token is configured.</summary>
    public bool HasToken => _tokenHash is not null;

    /// <summary>The read API asks for the token.</summary>
    public bool RequireTokenForReads { get; }

    /// <summary>/metrics asks for the token.</summary>
    public bool RequireTokenForMetrics { get; }

    /// <summary>The write API is on.</summary>
    public bool AllowWrite { get; }

    /// <summary>The endpoint listens on a loopback address only.</summary>
    public bool LoopbackOnly { get; }

    /// <summary>The HTTPS certificate, or null for plain HTTP.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>
    /// Reads the token (from <c>Admin:Token</c> or <c>Admin:TokenFile</c>) and the certificate; every problem is listed
    /// under its key, never with a secret's value. <paramref name="resolvePath"/> makes a path of a key absolute.
    /// </summary>
    public static AdminAccess Load(AdminOptions options, Func<string, string, string> resolvePath, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(resolvePath);
        var problems = new List<string>();
        var token = string.IsNullOrEmpty(options.Token) ? null : options.Token;
        if (!string.IsNullOrWhiteSpace(options.TokenFile))
        {
            var path = resolvePath("Admin:TokenFile", options.TokenFile);
            if (token is not null)
            {
                problems.Add("Admin:TokenFile: set either Admin:Token or Admin:TokenFile, not both.");
            }
            else if (!File.Exists(path))
            {
                problems.Add($"Admin:TokenFile '{options.TokenFile}': no such file.");
            }
            else
            {
                try
                {
                    token = File.ReadAllText(path).Trim();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    problems.Add($"Admin:TokenFile '{options.TokenFile}': cannot be read ({ex.GetType().Name}).");
                }
            }
        }

        var key = options.TokenFile is null ? "Admin:Token" : "Admin:TokenFile";
        if (token is not null && (token.Length < MinimumTokenLength || token.Any(char.IsWhiteSpace)))
        {
            problems.Add($"{key}: the token must be at least {MinimumTokenLength} characters without spaces (e.g. `openssl rand -hex 32`).");
        }

        if (token is null && (options.RequireTokenForReads || options.RequireTokenForMetrics))
        {
            problems.Add("Admin:RequireTokenForReads/RequireTokenForMetrics: no token is configured; set Admin:Token or Admin:TokenFile.");
        }

        var certificate = LoadCertificate(options.Tls, resolvePath, problems);
        var loopback = EndpointParser.TryParse(options.Endpoint, out var endpoint, out _) && IPAddress.IsLoopback(endpoint.Address);
        errors = problems;
        return new AdminAccess(
            token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token)),
            options.RequireTokenForReads,
            options.RequireTokenForMetrics,
            options.AllowWrite,
            loopback,
            certificate);
    }

    /// <summary>What kind of request this is: open, read, metrics or write.</summary>
    public static AdminRequestKind Classify(string method, string path)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            return AdminRequestKind.Write;
        }

        var trimmed = path.TrimEnd('/');
        return trimmed switch
        {
            "" or "/status.css" or "/status.js" or "/favicon.ico" or "/healthz" or "/readyz" or "/livez" => AdminRequestKind.Open,
            "/metrics" => AdminRequestKind.Metrics,
            _ => AdminRequestKind.Read,
        };
    }

    /// <summary>Whether a request of <paramref name="kind"/> with this <c>Authorization</c> header may go on.</summary>
    public AdminRefusal Decide(AdminRequestKind kind, string? authorization)
    {
        var asks = kind switch
        {
            AdminRequestKind.Open => false,
            AdminRequestKind.Read => RequireTokenForReads,
            AdminRequestKind.Metrics => RequireTokenForMetrics,
            _ => HasToken,
        };
        if (asks)
        {
            var presented = BearerToken(authorization);
            if (presented is null)
            {
                return AdminRefusal.MissingToken;
            }

            if (!Matches(presented))
            {
                return AdminRefusal.BadToken;
            }
        }

        if (kind != AdminRequestKind.Write)
        {
            return AdminRefusal.None;
        }

        if (!AllowWrite)
        {
            return AdminRefusal.WriteDisabled;
        }

        return HasToken || LoopbackOnly ? AdminRefusal.None : AdminRefusal.TokenRequired;
    }

    /// <summary>The message a refused client gets (never naming the token).</summary>
    public static string Message(AdminRefusal refusal) => refusal switch
    {
        AdminRefusal.MissingToken => "this endpoint needs the admin token: send Authorization: Bearer TOKEN",
        AdminRefusal.BadToken => "the admin token sent is not valid",
        AdminRefusal.WriteDisabled => "the write API is off; set Admin:AllowWrite=true to enable it",
        AdminRefusal.TokenRequired => "the write API is open beyond loopback only with a token; set Admin:Token or Admin:TokenFile (see docs/security.md)",
        _ => string.Empty,
    };

    /// <summary>The metric label of a refusal.</summary>
    public static string Label(AdminRefusal refusal) => refusal switch
    {
        AdminRefusal.MissingToken => "missing_token",
        AdminRefusal.BadToken => "bad_token",
        AdminRefusal.WriteDisabled => "write_disabled",
        AdminRefusal.TokenRequired => "token_required",
        _ => "none",
    };

    /// <summary>The metric label of a request kind.</summary>
    public static string Label(AdminRequestKind kind) => kind switch
    {
        AdminRequestKind.Metrics => "metrics",
        AdminRequestKind.Write => "write",
        AdminRequestKind.Read => "read",
        _ => "open",
    };

    /// <summary>
    /// Puts the rules in front of every endpoint of <paramref name="app"/>: a refused request gets 401 (with
    /// <c>WWW-Authenticate: Bearer</c>) or 403 and a JSON <c>{"error": …}</c>, is logged once (method, path, peer and
    /// reason; never a header) and counted in <c>stratumproxy_admin_requests_refused_total{kind,reason}</c>.
    /// </summary>
    public void Use(IApplicationBuilder app, IMetricFactory metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(metrics);
        var refused = metrics.CreateCounter(
            "stratumproxy_admin_requests_refused_total",
            "Admin endpoint requests refused, by request kind (read, metrics, write) and reason.",
            new CounterConfiguration { LabelNames = ["kind", "reason"] });
        foreach (var kind in new[] { AdminRequestKind.Read, AdminRequestKind.Metrics, AdminRequestKind.Write })
        {
            foreach (var reason in new[] { AdminRefusal.MissingToken, AdminRefusal.BadToken })
            {
                refused.WithLabels(Label(kind), Label(reason));
            }
        }

        refused.WithLabels(Label(AdminRequestKind.Write), Label(AdminRefusal.WriteDisabled));
        refused.WithLabels(Label(AdminRequestKind.Write), Label(AdminRefusal.TokenRequired));

        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var kind = Classify(request.Method, request.Path.Value ?? "/");
            var refusal = Decide(kind, request.Headers.Authorization.Count == 1 ? request.Headers.Authorization[0] : null);
            if (refusal == AdminRefusal.None)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            refused.WithLabels(Label(kind), Label(refusal)).Inc();
            var path = request.Path.Value ?? "/";
            HostLog.AdminRefused(logger, request.Method, path.Length > 100 ? path[..100] : path, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", Label(refusal));
            var unauthorized = refusal is AdminRefusal.MissingToken or AdminRefusal.BadToken;
            if (unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = refusal == AdminRefusal.BadToken ? "Bearer error=\"invalid_token\"" : "Bearer";
            }

            await Results.Json(new ErrorResponse(Message(refusal)), AdminJson.Context.ErrorResponse, statusCode: unauthorized ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden)
                .ExecuteAsync(context).ConfigureAwait(false);
        });
    }

    /// <inheritdoc/>
    public void Dispose() => Certificate?.Dispose();

    private bool Matches(string presented)
    {
        // Hashing both sides first gives equal lengths, so the comparison time says nothing about the token.
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        return _tokenHash is not null && CryptographicOperations.FixedTimeEquals(hash, _tokenHash);
    }

    private static string? BearerToken(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = authorization[Scheme.Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    private static X509Certificate2? LoadCertificate(AdminTlsOptions tls, Func<string, string, string> resolvePath, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(tls.CertificateFile))
        {
            if (!string.IsNullOrWhiteSpace(tls.KeyFile))
            {
                problems.Add("Admin:Tls:KeyFile: set Admin:Tls:CertificateFile too.");
            }

            return null;
        }

        var certificate = resolvePath("Admin:Tls:CertificateFile", tls.CertificateFile);
        var key = string.IsNullOrWhiteSpace(tls.KeyFile) ? null : resolvePath("Admin:Tls:KeyFile", tls.KeyFile);
        if (!File.Exists(certificate))
        {
            problems.Add($"Admin:Tls:CertificateFile '{tls.CertificateFile}': no such file.");
            return null;
        }

        if (key is not null && !File.Exists(key))
        {
            problems.Add($"Admin:Tls:KeyFile '{tls.KeyFile}': no such file.");
            return null;
        }

        try
        {
            var extension = Path.GetExtension(certificate).ToUpperInvariant();
            X509Certificate2 loaded;
            if (key is null && extension is ".PFX" or ".P12")
            {
                loaded = X509CertificateLoader.LoadPkcs12FromFile(certificate, tls.Password);
            }
            else
            {
                loaded = string.IsNullOrEmpty(tls.Password)
                    ? X509Certificate2.CreateFromPemFile(certificate, key)
                    : X509Certificate2.CreateFromEncryptedPemFile(certificate, tls.Password, key);
            }

            if (!loaded.HasPrivateKey)
            {
                loaded.Dispose();
                problems.Add($"Admin:Tls:CertificateFile '{tls.CertificateFile}': no private key (name it with Admin:Tls:KeyFile).");
                return null;
            }

            return loaded;
        }
        catch (CryptographicException ex)
        {
            // The loader's message names neither the password nor the key's bytes.
            problems.Add($"Admin:Tls:CertificateFile '{tls.CertificateFile}': cannot be loaded ({ex.Message.TrimEnd('.')}).");
            return null;
        }
    }
}
