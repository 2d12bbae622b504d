using System.Globalization;
using System.Text.Json;
using StratumProxy.Economics.Serialization;
using StratumProxy.Economics.Units;

namespace StratumProxy.Economics.Rigs;

/// <summary>
/// The rig model catalog: config/rigs/catalog.json, embedded in this assembly so the CLI works with no file
/// present; a file path overrides it.
/// </summary>
public sealed class RigCatalog
{
    private const string ResourceName = "StratumProxy.Economics.Rigs.catalog.json";

    /// <summary>Stated and computed efficiency may differ by rounding in the maker's sheet, not more.</summary>
    private const double EfficiencyTolerance = 0.01;

    private RigCatalog(IReadOnlyList<RigModel> models, string origin)
    {
        Models = models;
        Origin = origin;
    }

    public IReadOnlyList<RigModel> Models { get; }

    /// <summary>"embedded" or the file path it was read from.</summary>
    public string Origin { get; }

    public static RigCatalog LoadEmbedded()
    {
        using var stream = typeof(RigCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the build");
        return Parse(stream, "embedded");
    }

    /// <summary>Reads and validates a catalog; throws <see cref="FormatException"/> naming every bad entry.</summary>
    public static RigCatalog Parse(Stream json, string origin)
    {
        CatalogDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(json, EconomicsConfigJsonContext.Default.CatalogDocument);
        }
        catch (JsonException e)
        {
            throw new FormatException($"rig catalog {origin}: {e.Message}", e);
        }

        if (doc?.Models is not { Count: > 0 } entries)
        {
            throw new FormatException($"rig catalog {origin}: no models");
        }

        var errors = new List<string>();
        var models = new List<RigModel>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in entries)
        {
            var name = e.Name ?? "(unnamed)";
            if (string.IsNullOrWhiteSpace(e.Name) || !names.Add(e.Name))
            {
                errors.Add($"'{name}': missing or duplicate name");
                continue;
            }

            if (!(e.HashrateThs > 0) || !(e.PowerW > 0))
            {
                errors.Add($"'{name}': hashrate_ths and power_w must be > 0");
                continue;
            }

            var computed = e.PowerW / e.HashrateThs;
            if (e.EfficiencyJPerTh is { } stated && Math.Abs((computed / stated) - 1) > EfficiencyTolerance)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"'{name}': efficiency_j_per_th {stated} but power_w ÷ hashrate_ths = {computed:0.###}"));
            }

            if (string.IsNullOrWhiteSpace(e.Source))
            {
                errors.Add($"'{name}': every entry needs a source");
            }

            var modes = new List<PowerMode> { new("normal", Hashrate.FromTerahashes(e.HashrateThs), new Power(e.PowerW)) };
            foreach (var m in e.Modes ?? [])
            {
                if (string.IsNullOrWhiteSpace(m.Name) || !(m.HashrateThs > 0) || !(m.PowerW > 0))
                {
                    errors.Add($"'{name}': mode '{m.Name}' needs a name, hashrate_ths > 0 and power_w > 0");
                    continue;
                }

                modes.Add(new PowerMode(m.Name, Hashrate.FromTerahashes(m.HashrateThs), new Power(m.PowerW)));
            }

            models.Add(new RigModel(name, e.Maker ?? "", e.Cooling ?? "", modes, e.Source ?? "", e.Confidence ?? "unknown"));
        }

        return errors.Count > 0
            ? throw new FormatException($"rig catalog {origin}: " + string.Join("; ", errors))
            : new RigCatalog(models, origin);
    }

    /// <summary>Finds a model by name, ignoring case and spaces ("s21xp" finds "Antminer S21 XP").</summary>
    public RigModel? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var m in Models)
        {
            if (string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return m;
            }
        }

        var key = Squash(name);
        RigModel? match = null;
        foreach (var m in Models)
        {
            var full = Squash(m.Name);
            var shortName = Squash(m.Name[(m.Name.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            if (full == key || shortName == key)
            {
                if (match is not null)
                {
                    return null; // ambiguous
                }

                match = m;
            }
        }

        return match;
    }

    private static string Squash(string s)
    {
        Span<char> buffer = stackalloc char[s.Length];
        var n = 0;
        foreach (var c in s)
        {
            if (!char.IsWhiteSpace(c) && c != '-' && c != '_')
            {
                buffer[n++] = char.ToLowerInvariant(c);
            }
        }

        return new string(buffer[..n]);
    }
}

internal sealed class CatalogDocument
{
    public int SchemaVersion { get; set; }
    public string? Checked { get; set; }
    public string? Note { get; set; }
    public List<CatalogEntry>? Models { get; set; }
}

internal sealed class CatalogEntry
{
    public string? Name { get; set; }
    public string? Maker { get; set; }
    public string? Cooling { get; set; }
    public double HashrateThs { get; set; }
    public double PowerW { get; set; }
    public double? EfficiencyJPerTh { get; set; }
    public List<CatalogMode>? Modes { get; set; }
    public string? Source { get; set; }
    public string? Confidence { get; set; }
}

internal sealed class CatalogMode
{
    public string? Name { get; set; }
    public double HashrateThs { get; set; }
    public double PowerW { get; set; }
}
