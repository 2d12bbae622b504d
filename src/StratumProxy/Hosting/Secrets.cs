using System.Text.RegularExpressions;

namespace StratumProxy.Hosting;

/// <summary>
/// Which configuration values are secrets, and how text that may hold one is made safe to log or show: a key is a
/// secret by its name (<c>Password</c>, <c>Token</c>, <c>Secret</c>, <c>ApiKey</c>, <c>ConnectionString</c>,
/// <c>Credential</c>, <c>PrivateKey</c>, also as the end of a longer name, never a <c>…File</c> key that only names
/// where one is kept), so a section added later (<c>Store:ConnectionString</c>) is covered without a list to update.
/// A secret is masked by where it stands, whatever its length: next to its key in a configuration message
/// (<c>Proxy:Pools:0:Password '…'</c>), after a secret's name in <c>name=value</c> (a connection string's
/// <c>Password=…</c>, a URL's <c>?apikey=…</c>, <c>--Admin:Token=…</c>), in JSON (<c>"Password": "…"</c>) and as a
/// URL's password (<c>user:…@host</c>). Anywhere else in a text, only the values of <see cref="MinimumScrubbedLength"/>
/// characters or more are masked: a pool password of <c>x</c> (the Stratum convention) is not masked in every word.
/// </summary>
public static partial class Secrets
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    /// <summary>
    /// Secret values shorter than this are masked only where they stand next to their name (<see cref="ScrubContexts"/>),
    /// never by their value alone: masking every <c>x</c> or <c>root</c> of a message would hide the message.
    /// </summary>
    public const int MinimumScrubbedLength = 6;

    private static readonly string[] Names = ["Password", "Token", "Secret", "ApiKey", "ConnectionString", "Credential", "Credentials", "PrivateKey"];

    // What connection strings and URLs also call a password (Npgsql takes Pwd and Psw).
    private static readonly string[] ShortNames = ["Pwd", "Psw", "Pass", "Passwd"];

    /// <summary>True when the value of this configuration key (<c>Section:Key</c>, any depth) is a secret.</summary>
    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = key[(key.LastIndexOf(':') + 1)..];
        return !name.EndsWith("File", StringComparison.OrdinalIgnoreCase)
            && Names.Any(n => name.EndsWith(n, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every secret value the configuration holds (long enough to be scrubbed by value), longest first.</summary>
    public static IReadOnlyList<string> Values(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return [.. configuration.AsEnumerable()
            .Where(kv => kv.Value is { Length: >= MinimumScrubbedLength } && IsSecretKey(kv.Key))
            .Select(kv => kv.Value!)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length)];
    }

    /// <summary>
    /// <paramref name="text"/> with every secret masked: first by where it stands (<see cref="ScrubContexts"/>, any
    /// length), then every one of <paramref name="secrets"/> (<see cref="Values"/>) wherever it appears.
    /// </summary>
    public static string Scrub(string text, IReadOnlyList<string> secrets)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(secrets);
        text = ScrubContexts(text);
        foreach (var secret in secrets)
        {
            text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>
    /// <paramref name="text"/> with the value next to a secret's name masked, however short: a configuration
    /// message's <c>Key 'value'</c>, <c>name=value</c>, JSON's <c>"name": "value"</c> and a URL's <c>user:password@</c>.
    /// </summary>
    public static string ScrubContexts(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = KeyQuote().Replace(text, m => IsSecretName(m.Groups["key"].Value) ? $"{m.Groups["key"].Value} '{Mask}'" : m.Value);
        text = NameEquals().Replace(text, m => IsSecretName(m.Groups["name"].Value) ? $"{m.Groups["name"].Value}{m.Groups["eq"].Value}{Mask}" : m.Value);
        text = JsonMember().Replace(text, m => IsSecretName(m.Groups["name"].Value) ? $"{m.Groups["head"].Value}\"{Mask}\"" : m.Value);
        return UrlPassword().Replace(text, m => $"{m.Groups["head"].Value}{Mask}@");
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

    /// <summary>A key, an option or a bare name whose value is a secret (<see cref="IsSecretKey"/>, or a connection string's <c>Pwd</c>).</summary>
    private static bool IsSecretName(string name)
    {
        name = name.TrimStart('-', '/');
        var last = name[(name.LastIndexOf(':') + 1)..];
        return IsSecretKey(name) || ShortNames.Any(n => last.Equals(n, StringComparison.OrdinalIgnoreCase));
    }

    // Proxy:Pools:0:Password 'value': how every configuration message quotes a key's value.
    [GeneratedRegex(@"(?<key>[A-Za-z0-9_:.\-]+) '(?<value>[^']*)'")]
    private static partial Regex KeyQuote();

    // Password=value in a connection string or a URL's query, --Admin:Token=value on a command line: the value runs up
    // to a ; & space or quote, or is quoted itself.
    [GeneratedRegex(@"(?<name>[A-Za-z0-9_:.\-]+)(?<eq>\s*=\s*)(?<value>""[^""]*""|'[^']*'|[^;&\s'""]+)")]
    private static partial Regex NameEquals();

    // "Password": "value" in JSON.
    [GeneratedRegex(@"(?<head>""(?<name>[^""\\]+)""\s*:\s*)""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex JsonMember();

    // scheme://user:password@host: the password of a URL's user information.
    [GeneratedRegex(@"(?<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:@/\s']*:)(?<password>[^@/\s']*)@")]
    private static partial Regex UrlPassword();
}
