using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using StratumProxy.Cli;
using StratumProxy.Economics.Feeds;
using StratumProxy.Economics.Rigs;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// Turns the layered configuration into validated options: binds the sections (source-generated binder), applies
/// the quick-start flags, and runs every validation rule. Used at start and on every reload, so a bad reload is
/// refused with the same clear messages and the running config stays. Every message starts with the full key it is
/// about (<c>Proxy:Pools:0:Url</c>); a path in a file resolves against that file's folder.
/// </summary>
public sealed partial class ConfigLoader(IConfiguration configuration, CommandLine commandLine, string? workingDirectory = null)
{
    private readonly ProxyOptionsValidator _validator = new();
    private readonly FarmOptionsValidator _farmValidator = new();
    private readonly CurtailmentSettingsValidator _curtailmentValidator = new();
    private readonly AdminOptionsValidator _adminValidator = new();
    private readonly string _directory = workingDirectory ?? Directory.GetCurrentDirectory();

    /// <summary>One line (<c>FILE:LINE:COLUMN: problem</c>) per configuration file that is not valid JSON.</summary>
    public IReadOnlyList<string> SyntaxErrors() => ConfigSources.SyntaxErrors(configuration);

    /// <summary>The secret values of the configuration, to scrub from messages (<see cref="Secrets"/>).</summary>
    public IReadOnlyList<string> SecretValues() => Secrets.Values(configuration);

    /// <summary>Keys no option reads, each with its full key, the nearest known key and where it was set.</summary>
    public IReadOnlyList<string> UnknownKeys() => ConfigSources.UnknownKeys(configuration);

    /// <summary>
    /// A path value of <paramref name="key"/> made absolute: against the folder of the file that set it, or the
    /// working directory when it came from the default, the environment or the command line.
    /// </summary>
    public string ResolvePath(string key, string value) =>
        Path.GetFullPath(value, ConfigSources.DirectoryOf(configuration, key) ?? _directory);

    /// <summary>Binds and validates; <paramref name="errors"/> lists every problem (empty on success).</summary>
    public ProxyOptions Load(out IReadOnlyList<string> errors)
    {
        var proxy = new ProxySection();
        var problems = Bind(ProxyOptions.SectionName, () => configuration.GetSection(ProxyOptions.SectionName).Bind(proxy));
        var options = ApplyQuickStart(proxy.ToOptions(), commandLine);
        if (problems.Count == 0)
        {
            var result = _validator.Validate(null, options);
            if (result.Failed)
            {
                problems.AddRange(OneMessagePerKey(result.Failures ?? []));
            }
        }

        errors = problems;
        return options;
    }

    /// <summary>The farm economics options, with every problem listed (empty on success).</summary>
    public Farm.FarmOptions LoadFarm(out IReadOnlyList<string> errors) => LoadFarm(out errors, out _);

    /// <summary>As <see cref="LoadFarm(out IReadOnlyList{string})"/>, with the tariff file's contents as read and checked.</summary>
    private Farm.FarmOptions LoadFarm(out IReadOnlyList<string> errors, out byte[]? tariff)
    {
        var farmSection = new FarmSection();
        var problems = Bind(Farm.FarmOptions.SectionName, () => configuration.GetSection(Farm.FarmOptions.SectionName).Bind(farmSection));
        var farm = farmSection.ToOptions();
        Validate(_farmValidator, farm, problems);
        farm = farm with
        {
            TariffFile = ExistingFile("Economics:TariffFile", farm.TariffFile, problems),
            CatalogFile = ExistingFile("Economics:CatalogFile", farm.CatalogFile, problems),
        };

        // Read once and parsed to report its problems under its key (a live tariff's feed is not polled here); the
        // running model is built from these same contents (LoadedConfig.EnergyModel).
        tariff = LoadFile("Economics:TariffFile", farm.TariffFile, path =>
        {
            var contents = File.ReadAllBytes(path);
            _ = Files.EconomicsFiles.ParseTariff(contents, path, _ => new StaticFeedValue(0));
            return contents;
        }, problems);

        errors = problems;
        return farm;
    }

    /// <summary>The curtailment settings, with every problem listed (empty on success).</summary>
    public Farm.CurtailmentSettings LoadCurtailment(out IReadOnlyList<string> errors)
    {
        var curtailmentSection = new CurtailmentSection();
        var problems = Bind(Farm.CurtailmentSettings.SectionName, () => configuration.GetSection(Farm.CurtailmentSettings.SectionName).Bind(curtailmentSection));
        var settings = curtailmentSection.ToOptions();
        Validate(_curtailmentValidator, settings, problems);
        errors = problems;
        return settings with
        {
            AuditLog = string.IsNullOrWhiteSpace(settings.AuditLog) ? settings.AuditLog : ResolvePath("Curtailment:AuditLog", settings.AuditLog),
            Ledger = string.IsNullOrWhiteSpace(settings.Ledger) ? settings.Ledger : ResolvePath("Curtailment:Ledger", settings.Ledger),
        };
    }

    /// <summary>The admin options (bound once at start), with every problem listed (empty on success).</summary>
    public AdminOptions LoadAdmin(out IReadOnlyList<string> errors)
    {
        var adminSection = new AdminSection();
        var problems = Bind(AdminOptions.SectionName, () => configuration.GetSection(AdminOptions.SectionName).Bind(adminSection));
        var admin = adminSection.ToOptions();
        if (commandLine.Admin is not null)
        {
            admin = admin with { Endpoint = commandLine.Admin };
        }

        Validate(_adminValidator, admin, problems);
        errors = problems;
        return admin;
    }

    /// <summary>
    /// The Proxy, Economics and Curtailment sections and the rig catalog, with every problem listed (empty on success):
    /// what start-up and every reload check, the same way.
    /// </summary>
    public LoadedConfig LoadAll(out IReadOnlyList<string> errors)
    {
        var proxy = Load(out var proxyErrors);
        var farm = LoadFarm(out var farmErrors, out var tariff);
        var curtailment = LoadCurtailment(out var curtailmentErrors);
        List<string> problems = [.. proxyErrors, .. farmErrors, .. curtailmentErrors];
        var catalog = LoadFile("Economics:CatalogFile", farm.CatalogFile, Files.EconomicsFiles.LoadCatalog, problems) ?? RigCatalog.LoadEmbedded();

        var known = string.Join(", ", catalog.Models.Select(m => m.Name));
        for (var i = 0; i < farm.Rigs.Count; i++)
        {
            if (farm.Rigs[i].Model is { } model && catalog.Find(model) is null)
            {
                problems.Add($"Economics:Rigs:{i}:Model '{model}' ({farm.Rigs[i].Worker}): unknown model; known: {known}");
            }
        }

        if (farm.DefaultModel is { } defaultModel && catalog.Find(defaultModel) is null)
        {
            problems.Add($"Economics:DefaultModel '{defaultModel}': unknown model; known: {known}");
        }

        errors = problems;
        return new LoadedConfig(proxy, farm, curtailment, catalog, tariff);
    }

    /// <summary>The Store section (read at start only), with every problem listed (empty on success); no message quotes the connection string.</summary>
    public Store.StoreOptions LoadStore(out IReadOnlyList<string> errors)
    {
        var storeSection = new StoreSection();
        var problems = Bind(Store.StoreOptions.SectionName, () => configuration.GetSection(Store.StoreOptions.SectionName).Bind(storeSection));
        var store = storeSection.ToOptions();
        if (problems.Count > 0)
        {
            // A binding message quotes the value: a wrong type in this section is named by its key only.
            problems = [.. problems.Select(p => p.StartsWith("Store:ConnectionString", StringComparison.OrdinalIgnoreCase) ? "Store:ConnectionString: not a valid value." : p)];
        }

        Validate(new Store.StoreOptionsValidator(), store, problems);
        errors = problems;
        return store;
    }

    /// <summary>The admin options; see <see cref="LoadAdmin(out IReadOnlyList{string})"/>.</summary>
    public AdminOptions LoadAdmin() => LoadAdmin(out _);

    /// <summary>
    /// The validator's attribute rules say <c>Start: The field ProxyOptions.Difficulty.Start must be …</c>; here they
    /// say <c>Proxy:Difficulty:Start must be …</c>, and a key that a cross-field rule already reports is not
    /// reported twice.
    /// </summary>
    internal static IReadOnlyList<string> OneMessagePerKey(IEnumerable<string> messages)
    {
        var rewritten = messages.Select(m => AttributeMessage().Match(m) is { Success: true } match
            ? (Key: AttributeKey(match.Groups["path"].Value), Text: $"{AttributeKey(match.Groups["path"].Value)} {match.Groups["rest"].Value}", Attribute: true)
            : (Key: KeyOf(m), Text: m, Attribute: false)).ToList();
        var crossField = rewritten.Where(m => !m.Attribute).Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
        return [.. rewritten.Where(m => !m.Attribute || !crossField.Contains(m.Key)).Select(m => m.Text).Distinct(StringComparer.Ordinal)];
    }

    private static string KeyOf(string message)
    {
        var end = message.IndexOfAny([' ', '(']);
        return (end < 0 ? message : message[..end]).TrimEnd(':');
    }

    private static string AttributeKey(string path) =>
        ProxyOptions.SectionName + ":" + path.Replace("[", ":", StringComparison.Ordinal).Replace("]", string.Empty, StringComparison.Ordinal).Replace('.', ':');

    private static void Validate<T>(IValidateOptions<T> validator, T options, List<string> problems)
        where T : class
    {
        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            problems.AddRange(result.Failures ?? []);
        }
    }

    /// <summary>
    /// Runs one section's (source-generated, so typed) binding. A value of the wrong type (e.g. <c>"Priority": "high"</c>)
    /// fails binding: it is reported like any other rule.
    /// </summary>
    private static List<string> Bind(string section, Action bind)
    {
        try
        {
            bind();
            return [];
        }
        catch (InvalidOperationException ex)
        {
            return [BindingError(section, ex)];
        }
    }

    /// <summary>A binding failure (a value of the wrong type) as <c>Section:Key 'value': not a …</c>.</summary>
    private static string BindingError(string section, InvalidOperationException ex)
    {
        var match = BindingMessage().Match(ex.Message);
        return match.Success
            ? $"{match.Groups["key"].Value} '{match.Groups["value"].Value}': not a valid {TypeName(match.Groups["type"].Value)}."
            : $"{section}: {ex.Message}";
    }

    private static string TypeName(string type) => type switch
    {
        "System.Int32" or "System.Int64" or "System.Int16" or "System.Byte" => "whole number",
        "System.Double" or "System.Single" or "System.Decimal" => "number",
        "System.TimeSpan" => "duration (hh:mm:ss)",
        "System.Boolean" => "true or false",
        "System.Uri" => "URL",
        _ when type.StartsWith("System.Nullable`1[[", StringComparison.Ordinal) => TypeName(type[18..type.IndexOf(',', StringComparison.Ordinal)]),
        _ => type[(type.LastIndexOf('.') + 1)..],
    };

    /// <summary>
    /// Reads an existing file a key names (a missing one is reported by <see cref="ExistingFile"/>); a file that
    /// cannot be read or parsed is reported under its key and gives null.
    /// </summary>
    private static T? LoadFile<T>(string key, string? path, Func<string, T> load, List<string> problems)
        where T : class
    {
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        try
        {
            return load(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            problems.Add($"{key} '{path}': {ex.Message}");
            return null;
        }
    }

    private string? ExistingFile(string key, string? value, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var path = ResolvePath(key, value);
        if (!File.Exists(path))
        {
            problems.Add(path == value ? $"{key} '{value}': no such file." : $"{key} '{value}': no such file ({path}).");
        }

        return path;
    }

    [GeneratedRegex(@"^\w+: The field ProxyOptions\.(?<path>[\w\.\[\]]+) (?<rest>.*)$")]
    private static partial Regex AttributeMessage();

    [GeneratedRegex(@"value '(?<value>[^']*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'")]
    private static partial Regex BindingMessage();

    /// <summary>
    /// The options with the quick-start flags applied: they replace the configured listeners and pools (and the pins,
    /// which named the configured pools), and set the difficulty bounds.
    /// </summary>
    public static ProxyOptions ApplyQuickStart(ProxyOptions options, CommandLine commandLine)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(commandLine);
        if (commandLine.Listen.Count > 0)
        {
            options = options with
            {
                Listeners = [.. commandLine.Listen.Select((endpoint, i) => new ListenerOptions
                {
                    Name = i == 0 ? "default" : $"listen{i}",
                    Endpoint = endpoint,
                    PoolGroup = "default",
                })],
            };
        }

        if (commandLine.Pools.Count > 0)
        {
            options = options with
            {
                Pools = [.. commandLine.Pools.Select((url, i) => new PoolOptions
                {
                    Name = i == 0 ? "primary" : $"pool{i + 1}",
                    Url = url,
                    User = commandLine.User ?? string.Empty,
                    Password = commandLine.Password ?? "x",
                    Priority = i,
                    Group = "default",
                    Mode = commandLine.Mode ?? PoolMode.Aggregating,
                })],
                Listeners = [.. options.Listeners.Select(listener => listener with { PoolGroup = "default" })],
                Pins = new Dictionary<string, string>(StringComparer.Ordinal),
            };
        }

        var d = options.Difficulty;
        if (commandLine.MinDifficulty is { } min)
        {
            d = d with { Min = min, Start = Math.Max(d.Start, min) };
        }

        if (commandLine.MaxDifficulty is { } max)
        {
            d = d with { Max = max, Start = Math.Min(d.Start, max) };
        }

        if (commandLine.StartDifficulty is { } start)
        {
            d = d with { Start = start, Min = commandLine.MinDifficulty is null ? Math.Min(d.Min, start) : d.Min };
        }

        return options with { Difficulty = d };
    }
}
