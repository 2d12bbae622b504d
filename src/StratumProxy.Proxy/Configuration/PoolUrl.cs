namespace StratumProxy.Proxy.Configuration;

/// <summary>A parsed pool address: <c>stratum+tcp://host:port</c> or <c>stratum+ssl://host:port</c>.</summary>
public sealed record PoolUrl(string Host, int Port, bool UseTls)
{
    /// <summary>Parses a pool URL. Accepts <c>stratum+tcp</c>, <c>stratum+ssl</c>, <c>stratum+tls</c> and <c>tcp</c>/<c>ssl</c>.</summary>
    public static bool TryParse(string? text, out PoolUrl url, out string reason)
    {
        url = new PoolUrl(string.Empty, 0, false);
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "the URL is empty; use stratum+tcp://host:port or stratum+ssl://host:port";
            return false;
        }

        var separator = text.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            reason = "the URL has no scheme; use stratum+tcp://host:port or stratum+ssl://host:port";
            return false;
        }

        var scheme = text[..separator].ToLowerInvariant();
        bool tls;
        switch (scheme)
        {
            case "stratum+tcp" or "tcp" or "stratum":
                tls = false;
                break;
            case "stratum+ssl" or "stratum+tls" or "ssl" or "tls":
                tls = true;
                break;
            default:
                reason = $"unknown scheme '{scheme}'; use stratum+tcp or stratum+ssl";
                return false;
        }

        var rest = text[(separator + 3)..].TrimEnd('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            rest = rest[..slash];
        }

        if (rest.Contains('@', StringComparison.Ordinal))
        {
            // It would be taken for part of the host name, and shown with it wherever the pool is named.
            reason = "the URL carries a user or password (user:password@host); put them in the pool's User and Password";
            return false;
        }

        if (!EndpointParser.TrySplitHostPort(rest, out var host, out var port, out reason))
        {
            return false;
        }

        url = new PoolUrl(host, port, tls);
        return true;
    }

    /// <summary>The URL in canonical form.</summary>
    public override string ToString() => $"{(UseTls ? "stratum+ssl" : "stratum+tcp")}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}";
}
