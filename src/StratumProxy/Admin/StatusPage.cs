namespace StratumProxy.Admin;

/// <summary>The operator's status page: one static HTML file that polls /api/status and /api/workers.</summary>
internal static class StatusPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>StratumProxy</title>
        <style>
          body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
          h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
          h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #ddd; white-space: nowrap; }
          th { background: #f4f4f4; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; }
          .ok { color: #137333; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
          #summary span { margin-right: 1.5rem; }
        </style>
        </head>
        <body>
        <h1>StratumProxy</h1>
        <div id="summary">loading…</div>
        <h2>Pools</h2>
        <table id="pools"><thead><tr><th>Pool</th><th>State</th><th>URL</th><th>Priority</th><th>Miners</th><th>Difficulty</th><th>Health</th><th>Hashrate (5 min)</th><th>Last error</th></tr></thead><tbody></tbody></table>
        <h2>Workers</h2>
        <table id="workers"><thead><tr><th>Worker</th><th>Sessions</th><th>Hashrate 1 min</th><th>5 min</th><th>1 h</th><th>Accepted</th><th>Stale</th><th>Dup</th><th>Low diff</th><th>Pool rejected</th><th>Lost</th><th>Last share</th></tr></thead><tbody></tbody></table>
        <script>
        const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
        function rate(h) { let i = 0; while (h >= 1000 && i < units.length - 1) { h /= 1000; i++; } return h.toFixed(2) + " " + units[i]; }
        function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
        function fill(id, rows) { const body = document.querySelector(id + " tbody"); body.replaceChildren(...rows.map(r => { const tr = document.createElement("tr"); r.forEach(c => tr.appendChild(c)); return tr; })); }
        async function refresh() {
          try {
            const status = await (await fetch("api/status")).json();
            const workers = await (await fetch("api/workers")).json();
            document.getElementById("summary").innerHTML = "";
            for (const [k, v] of [["version", status.version], ["miners", status.miners], ["hashrate", rate(status.hashrate_hashes_per_second)], ["uptime", Math.round(status.uptime_seconds) + " s"], ["listeners", status.listeners.join(", ")]]) {
              const s = document.createElement("span"); s.textContent = k + ": " + v; document.getElementById("summary").appendChild(s);
            }
            fill("#pools", status.pools.map(p => [cell(p.name), cell(p.ready ? "ready" : "down", p.ready ? "ok" : "bad"), cell(p.url), cell(p.priority, "num"), cell(p.miners, "num"), cell(p.difficulty, "num"), cell(p.health_score.toFixed(2), "num"), cell(rate(p.hashrate_hashes_per_second), "num"), cell(p.last_error || "")]));
            fill("#workers", workers.map(w => [cell(w.worker), cell(w.sessions, "num"), cell(rate(w.hashrate1m_hashes_per_second), "num"), cell(rate(w.hashrate5m_hashes_per_second), "num"), cell(rate(w.hashrate1h_hashes_per_second), "num"), cell(w.accepted, "num"), cell(w.stale, "num"), cell(w.duplicate, "num"), cell(w.low_difficulty, "num"), cell(w.pool_rejected, "num"), cell(w.lost, "num"), cell(w.last_share_at || "")]));
          } catch (e) { document.getElementById("summary").textContent = "status unavailable: " + e; }
        }
        refresh(); setInterval(refresh, 5000);
        </script>
        </body>
        </html>
        """;
}
