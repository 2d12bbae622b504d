using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// What the configuration layers say about themselves: the JSON syntax of every file (one line with file, line and
/// column), keys that no option reads (with the nearest known key), and which file named a value, so that a path in
/// a file resolves against that file's folder.
/// </summary>
public static partial class ConfigSources
{
    private static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly Lazy<SchemaNode> Root = new(() => SchemaNode.Object(new Dictionary<string, SchemaNode>(StringComparer.OrdinalIgnoreCase)
    {
        ["Logging"] = SchemaNode.Any,
        [AdminOptions.SectionName] = SchemaNode.For(typeof(AdminOptions)),
        [ProxyOptions.SectionName] = SchemaNode.For(typeof(ProxySection)),
        [Farm.FarmOptions.SectionName] = SchemaNode.For(typeof(Farm.FarmOptions)),
        [Farm.CurtailmentSettings.SectionName] = SchemaNode.For(typeof(Farm.CurtailmentSettings)),
        [Store.StoreOptions.SectionName] = SchemaNode.For(typeof(Store.StoreOptions)),
    }));

    /// <summary>
    /// Adds a JSON file layer that never throws while loading: a file that cannot be parsed contributes nothing and
    /// <see cref="SyntaxErrors"/> reports it (at start, and again on the reload that follows the edit).
    /// </summary>
    public static IConfigurationBuilder AddCheckedJsonFile(this IConfigurationBuilder builder, string fullPath, bool optional)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddJsonFile(s =>
        {
            s.Path = fullPath;
            s.Optional = optional;
            s.ReloadOnChange = true;
            s.OnLoadException = context => context.Ignore = true;
            s.ResolveFileProvider();
        });
    }

    /// <summary>
    /// One line per JSON file that cannot be read as configuration: <c>FILE:LINE:COLUMN: what is wrong</c>, a key given
    /// twice, or a file that must exist (<c>--config</c>) and is gone. Such a file's layer reads as empty, so a reload
    /// with any of these is refused rather than applied without the file.
    /// </summary>
    public static IReadOnlyList<string> SyntaxErrors(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return [];
        }

        List<string> errors = [];
        foreach (var provider in root.Providers.OfType<JsonConfigurationProvider>())
        {
            if (PathOf(provider) is not { } path)
            {
                continue;
            }

            if (!provider.Source.Optional && !File.Exists(path))
            {
                errors.Add($"{path}: the file is gone (it was given with --config)");
            }
            else if (SyntaxError(path) is { } error)
            {
                errors.Add(error);
            }
        }

        return errors;
    }

    /// <summary>
    /// What keeps one JSON configuration file from being read (its syntax, a root that is not an object, a key given
    /// twice), or null when it reads (or does not exist).
    /// </summary>
    public static string? SyntaxError(string path)
    {
        string text;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            text = File.ReadAllText(path);
        }
        catch (IOException ex)
        {
            return $"{path}: cannot be read: {ex.Message}";
        }
        catch (UnauthorizedAccessException ex)
        {
            return $"{path}: cannot be read: {ex.Message}";
        }

        try
        {
            using var document = JsonDocument.Parse(text, JsonOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return $"{path}:1:1: the file must hold one JSON object ({{ \"Section\": {{ ... }} }}), not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}";
            }
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var column = (ex.BytePositionInLine ?? 0) + 1;
            return string.Create(CultureInfo.InvariantCulture, $"{path}:{line}:{column}: {PositionSuffix().Replace(ex.Message, string.Empty).TrimEnd('.', ' ')}");
        }

        return KeyError(path, text);
    }

    /// <summary>
    /// JSON that parses can still fail the configuration's own reader: it refuses a key given twice, and its keys are
    /// not case-sensitive (<c>"Url"</c> and <c>"url"</c> in one pool). That reader is asked, so the answer is its own.
    /// </summary>
    private static string? KeyError(string path, string text)
    {
        try
        {
            using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
            _ = new ConfigurationBuilder().AddJsonStream(stream).Build();
            return null;
        }
        catch (FormatException ex)
        {
            return DuplicateKey().Match(ex.Message) is { Success: true } duplicate
                ? $"{path}: {duplicate.Groups[1].Value} is given twice (keys are not case-sensitive)"
                : $"{path}: {ex.Message.TrimEnd('.')}";
        }
    }

    [GeneratedRegex("'(.*)'")]
    private static partial Regex DuplicateKey();

    /// <summary>
    /// Every key in the files, environment variables and <c>--Section:Key</c> arguments that no option reads, with
    /// its full key, the nearest known key and where it was set. The embedded default is not checked.
    /// </summary>
    public static IReadOnlyList<string> UnknownKeys(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return [];
        }

        var found = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var provider in root.Providers)
        {
            var origin = provider switch
            {
                JsonConfigurationProvider json => PathOf(json),
                EnvironmentVariablesConfigurationProvider => "environment",
                CommandLineConfigurationProvider => "command line",
                _ => null,
            };
            if (origin is not null)
            {
                Walk(provider, null, Root.Value, origin, found, seen);
            }
        }

        return found;
    }

    /// <summary>The folder of the file that set <paramref name="key"/> last, or null when no file did.</summary>
    public static string? DirectoryOf(IConfiguration configuration, string key)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return null;
        }

        foreach (var provider in root.Providers.Reverse())
        {
            if (provider.TryGet(key, out _))
            {
                return provider is FileConfigurationProvider file && PathOf(file) is { } path ? Path.GetDirectoryName(path) : null;
            }
        }

        return null;
    }

    /// <summary>The nearest of <paramref name="known"/> to <paramref name="name"/>, if near enough to be a typo.</summary>
    public static string? Nearest(string name, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(known);
        var best = known
            .Select(k => (Key: k, Distance: Distance(name.ToLowerInvariant(), k.ToLowerInvariant())))
            .OrderBy(k => k.Distance)
            .ThenBy(k => k.Key, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Key is not null && best.Distance <= Math.Max(2, name.Length / 3) ? best.Key : null;
    }

    private static string? PathOf(FileConfigurationProvider provider) =>
        provider.Source.FileProvider?.GetFileInfo(provider.Source.Path ?? string.Empty).PhysicalPath ?? provider.Source.Path;

    private static void Walk(IConfigurationProvider provider, string? parent, SchemaNode node, string origin, List<string> found, HashSet<string> seen)
    {
        var children = provider.GetChildKeys([], parent).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var child in children)
        {
            var key = parent is null ? child : $"{parent}:{child}";
            var next = node.Child(child);
            if (next is null)
            {
                if (seen.Add(key))
                {
                    found.Add(Describe(key, child, node, origin));
                }

                continue;
            }

            if (next.Kind != SchemaKind.Any && next.Kind != SchemaKind.Leaf)
            {
                Walk(provider, key, next, origin, found, seen);
            }
        }
    }

    private static string Describe(string key, string name, SchemaNode node, string origin)
    {
        if (node.Kind == SchemaKind.List)
        {
            return $"{key}: unknown key; {key[..^(name.Length + 1)]} is a list, its entries are numbered from 0 (in {origin})";
        }

        var known = node.Properties.Keys;
        return Nearest(name, known) is { } nearest
            ? $"{key}: unknown key; did you mean {nearest}? (in {origin})"
            : $"{key}: unknown key; known here: {string.Join(", ", known)} (in {origin})";
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"\s*(Path: \S+ \|\s*)?LineNumber: \d+ \| BytePositionInLine: \d+\.?")]
    private static partial Regex PositionSuffix();

    private enum SchemaKind
    {
        Leaf,
        Any,
        Object,
        List,
        Dictionary,
    }

    /// <summary>The shape of the keys an options type reads: its public properties, lists by index, maps by any key.</summary>
    private sealed class SchemaNode
    {
        private static readonly HashSet<Type> Leaves = [typeof(string), typeof(decimal), typeof(TimeSpan), typeof(DateTimeOffset), typeof(DateTime), typeof(Uri), typeof(Guid)];

        private SchemaNode(SchemaKind kind, Dictionary<string, SchemaNode>? properties = null, SchemaNode? element = null)
        {
            Kind = kind;
            Properties = properties ?? new(StringComparer.OrdinalIgnoreCase);
            Element = element;
        }

        public static SchemaNode Any { get; } = new(SchemaKind.Any);

        public static SchemaNode Leaf { get; } = new(SchemaKind.Leaf);

        public SchemaKind Kind { get; }

        public Dictionary<string, SchemaNode> Properties { get; }

        public SchemaNode? Element { get; }

        public static SchemaNode Object(Dictionary<string, SchemaNode> properties) => new(SchemaKind.Object, properties);

        public static SchemaNode For(Type type)
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (type.IsPrimitive || type.IsEnum || Leaves.Contains(type))
            {
                return Leaf;
            }

            if (type.IsArray)
            {
                return new(SchemaKind.List, element: For(type.GetElementType()!));
            }

            if (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type))
            {
                var arguments = type.GetGenericArguments();
                return arguments.Length == 2
                    ? new(SchemaKind.Dictionary, element: For(arguments[1]))
                    : new(SchemaKind.List, element: For(arguments[0]));
            }

            var properties = new Dictionary<string, SchemaNode>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetMethod is not null && p.GetIndexParameters().Length == 0))
            {
                properties[property.Name] = For(property.PropertyType);
            }

            return Object(properties);
        }

        public SchemaNode? Child(string key) => Kind switch
        {
            SchemaKind.Any => Any,
            SchemaKind.Object => Properties.GetValueOrDefault(key),
            SchemaKind.List => int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? Element : null,
            SchemaKind.Dictionary => Element,
            _ => null,
        };
    }
}
