namespace StratumProxy.Admin;

/// <summary>
/// The operator's status page: static HTML, CSS and JavaScript embedded in the executable (Admin/Page), which poll
/// the JSON API (/api/status, /api/workers, /api/economics, /api/rigs, /api/decisions, /api/farm, /api/history) and
/// draw the charts as inline SVG. Nothing is fetched from outside the proxy.
/// </summary>
internal static class StatusPage
{
    public static byte[] Html { get; } = Read("index.html");

    public static byte[] Css { get; } = Read("status.css");

    public static byte[] Script { get; } = Read("status.js");

    private static byte[] Read(string name)
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream("StratumProxy.Admin.Page." + name)
            ?? throw new InvalidOperationException($"The status page's {name} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
