using System.Globalization;
using System.Net;

namespace StratumProxy.Proxy.Configuration;

/// <summary>Parses <c>HOST:PORT</c> listen addresses (IPv4, <c>[IPv6]</c>, <c>*</c>, <c>localhost</c>).</summary>
public static class EndpointParser
{
    /// <summary>Parses a listen endpoint into an IP endpoint (port 0 picks a free port).</summary>
    public static bool TryParse(string? text, out IPEndPoint endpoint, out string reason)
    {
        endpoint = new IPEndPoint(IPAddress.Any, 0);
        if (!TrySplitHostPort(text, out var host, out var port, out reason, allowPortZero: true))
        {
            return false;
        }

        IPAddress? address = host switch
        {
            "*" or "0.0.0.0" => IPAddress.Any,
            "[::]" or "::" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out var parsed) ? parsed : null,
        };

        if (address is null)
        {
            reason = $"'{host}' is not an IP address (listen endpoints take an address, not a host name)";
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        return true;
    }

    /// <summary>Splits <c>host:port</c> / <c>[v6]:port</c>; the port must be 1..65535 (or 0 where allowed).</summary>
    public static bool TrySplitHostPort(string? text, out string host, out int port, out string reason, bool allowPortZero = false)
    {
        host = string.Empty;
        port = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "expected HOST:PORT";
            return false;
        }

        text = text.Trim();
        int colon;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                reason = "expected [IPv6]:PORT";
                return false;
            }

            host = text[1..close];
            colon = close + 1;
        }
        else
        {
            colon = text.LastIndexOf(':');
            if (colon <= 0)
            {
                reason = "expected HOST:PORT (the port is missing)";
                return false;
            }

            host = text[..colon];
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < (allowPortZero ? 0 : 1) || port > 65535)
        {
            reason = $"the port '{text[(colon + 1)..]}' must be a number from {(allowPortZero ? 0 : 1)} to 65535";
            return false;
        }

        reason = string.Empty;
        return true;
    }
}
