using Microsoft.Extensions.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// Which configuration values are secrets, and how text that may hold one is made safe to log or show: a key is a
/// secret by its name (<c>Password</c>, <c>Token</c>, <c>Secret</c>, <c>ApiKey</c>, <c>ConnectionString</c>,
/// <c>Credential</c>, <c>PrivateKey</c>, also as the end of a longer name, never a <c>…File</c> key that only names
/// where one is kept), so a section added later (<c>Store:ConnectionString</c>) is covered without a list to update.
/// </summary>
public static class Secrets
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    /// <summary>Secret values shorter than this are not scrubbed from text (a pool password of <c>x</c> is no secret).</summary>
    public const int MinimumScrubbedLength = 6;

    private static readonly string[] Names = ["Password", "Token", "Secret", "ApiKey", "ConnectionString", "Credential", "Credentials", "PrivateKey"];

    /// <summary>True when the value of this configuration key (<c>Section:Key</c>, any depth) is a secret.</summary>
    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = key[(key.LastIndexOf(':') + 1)..];
        return !name.EndsWith("File", StringComparison.OrdinalIgnoreCase)
            && Names.Any(n => name.EndsWith(n, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every secret value the configuration holds (long enough to be scrubbed), longest first.</summary>
    public static IReadOnlyList<string> Values(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return [.. configuration.AsEnumerable()
            .Where(kv => kv.Value is { Length: >= MinimumScrubbedLength } && IsSecretKey(kv.Key))
            .Select(kv => kv.Value!)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length)];
    }

    /// <summary><paramref name="text"/> with every one of <paramref name="secrets"/> replaced by <see cref="Mask"/>.</summary>
    public static string Scrub(string text, IReadOnlyList<string> secrets)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(secrets);
        foreach (var secret in secrets)
        {
            text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>
    /// A URL as it may be logged or shown: user and password dropped, every query value masked (an API key is often
    /// passed as <c>?apikey=…</c>); the scheme, host, port, path and the query's names stay.
    /// </summary>
    public static string Url(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            return Mask;
        }

        var builder = new UriBuilder(url) { UserName = string.Empty, Password = string.Empty, Fragment = string.Empty };
        if (url.Query.Length > 1)
        {
            builder.Query = string.Join('&', url.Query[1..].Split('&').Select(part =>
            {
                var equals = part.IndexOf('=', StringComparison.Ordinal);
                return equals < 0 ? part : part[..(equals + 1)] + Mask;
            }));
        }

        return builder.Uri.AbsoluteUri;
    }
}
