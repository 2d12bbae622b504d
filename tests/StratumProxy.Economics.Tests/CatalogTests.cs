using StratumProxy.Economics.Rigs;

namespace StratumProxy.Economics.Tests;

public sealed class CatalogTests
{
    public static TheoryData<string> RequiredModels() =>
    [
        "Antminer S19 XP Hyd", "Antminer S19j Pro", "Antminer S21", "Antminer S21+", "Antminer S21 Hyd", "Antminer S21 Pro",
        "Antminer S21 XP", "Antminer S23", "Antminer S23 Hyd", "Antminer U3 S23 Hyd", "Whatsminer M50S", "Whatsminer M60S",
        "Whatsminer M66S", "Avalon A1466I",
    ];

    [Theory]
    [MemberData(nameof(RequiredModels))]
    public void Embedded_catalog_has_every_model_the_issue_lists_with_a_source(string name)
    {
        var model = RigCatalog.LoadEmbedded().Find(name);
        Assert.NotNull(model);
        Assert.Equal(name, model.Name);
        Assert.False(string.IsNullOrWhiteSpace(model.Source));
        Assert.Contains(model.Confidence, new[] { "high", "medium", "low" });
        Assert.InRange(model.Nominal.EfficiencyJoulesPerTerahash, 8, 35);
    }

    [Fact]
    public void Published_figures_that_are_well_known_are_in_the_catalog()
    {
        var catalog = RigCatalog.LoadEmbedded();
        // Bitmain's S21: 200 TH/s at 17.5 J/TH; S21 XP: 270 TH/s at 13.5 J/TH.
        Assert.Equal(200, catalog.Find("Antminer S21")!.Nominal.Hashrate.Terahashes, 9);
        Assert.Equal(17.5, catalog.Find("Antminer S21")!.Nominal.EfficiencyJoulesPerTerahash, 9);
        Assert.Equal(270, catalog.Find("Antminer S21 XP")!.Nominal.Hashrate.Terahashes, 9);
        Assert.Equal(13.5, catalog.Find("Antminer S21 XP")!.Nominal.EfficiencyJoulesPerTerahash, 9);
    }

    [Fact]
    public void Embedded_copy_is_the_config_file_and_a_file_overrides_it()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "rigs", "catalog.json"); // linked from config/rigs by the project
        var embedded = RigCatalog.LoadEmbedded();
        using var file = File.OpenRead(path);
        var loaded = RigCatalog.Parse(file, path);
        Assert.Equal(embedded.Models.Select(m => (m.Name, m.Nominal)), loaded.Models.Select(m => (m.Name, m.Nominal)));
        Assert.Equal("embedded", embedded.Origin);
        Assert.Equal(path, loaded.Origin);
    }

    [Theory]
    [InlineData("s21xp", "Antminer S21 XP")]
    [InlineData("S21+", "Antminer S21+")]
    [InlineData("antminer s21 hyd", "Antminer S21 Hyd")]
    [InlineData("M60S", "Whatsminer M60S")]
    [InlineData("a1466i", "Avalon A1466I")]
    public void Models_are_found_by_short_or_squashed_names(string query, string expected) =>
        Assert.Equal(expected, RigCatalog.LoadEmbedded().Find(query)?.Name);

    [Fact]
    public void Unknown_models_are_not_found() => Assert.Null(RigCatalog.LoadEmbedded().Find("S99"));

    [Theory]
    [InlineData("""{"models":[]}""", "no models")]
    [InlineData("""{"models":[{"name":"A","hashrate_ths":100,"power_w":3000,"efficiency_j_per_th":20,"source":"s"}]}""", "efficiency_j_per_th 20")]
    [InlineData("""{"models":[{"name":"A","hashrate_ths":100,"power_w":3000}]}""", "source")]
    [InlineData("""{"models":[{"name":"A","hashrate_ths":0,"power_w":3000,"source":"s"}]}""", "> 0")]
    [InlineData("""{"models":[{"name":"A","hashrate_ths":1,"power_w":30,"source":"s"},{"name":"a","hashrate_ths":1,"power_w":30,"source":"s"}]}""", "duplicate")]
    public void Bad_catalogs_are_refused(string json, string mentioned)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        var e = Assert.Throws<FormatException>(() => RigCatalog.Parse(stream, "t.json"));
        Assert.Contains(mentioned, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extra_modes_follow_the_nominal_mode()
    {
        const string json = """
            {"models":[{"name":"X","hashrate_ths":100,"power_w":3000,"source":"s",
              "modes":[{"name":"eco","hashrate_ths":80,"power_w":2000},{"name":"turbo","hashrate_ths":115,"power_w":3900}]}]}
            """;
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        var model = RigCatalog.Parse(stream, "t.json").Models.Single();
        Assert.Equal(["normal", "eco", "turbo"], model.Modes.Select(m => m.Name));
        Assert.Equal(25, model.FindMode("ECO")!.Value.EfficiencyJoulesPerTerahash, 9);
    }
}
