using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using YamlDotNet.RepresentationModel;

namespace StratumProxy.Host.Tests;

/// <summary>
/// deploy/k8s and deploy/haproxy against the proxy itself: every manifest parses, the grace period covers the drain,
/// the probes name paths the admin port serves, the ConfigMap is a valid configuration, the Services, the
/// PodDisruptionBudget and the ServiceMonitor select what they should, every Secret key referenced exists, and the
/// PrometheusRule carries exactly the rules of deploy/prometheus/rules (written by deploy/k8s/sync-rules.sh).
/// </summary>
public sealed class KubernetesManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-k8s-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Deploy(params string[] path) => Path.Combine([ConfigurationTests.RepositoryRoot(), "deploy", .. path]);

    /// <summary>Every document of every manifest under deploy/k8s (each checked to name its apiVersion and kind).</summary>
    private static List<YamlMappingNode> Manifests()
    {
        List<YamlMappingNode> documents = [];
        foreach (var file in Directory.EnumerateFiles(Deploy("k8s"), "*.yaml", SearchOption.AllDirectories))
        {
            foreach (var document in Load(file))
            {
                var root = Assert.IsType<YamlMappingNode>(document.RootNode);
                Assert.False(string.IsNullOrEmpty(Scalar(root, "apiVersion")), $"{file}: no apiVersion");
                Assert.False(string.IsNullOrEmpty(Scalar(root, "kind")), $"{file}: no kind");
                documents.Add(root);
            }
        }

        return documents;
    }

    private static IEnumerable<YamlMappingNode> OfKind(List<YamlMappingNode> manifests, string kind) => manifests.Where(m => Scalar(m, "kind") == kind);

    private static YamlMappingNode One(List<YamlMappingNode> manifests, string kind) => Assert.Single(OfKind(manifests, kind));

    private static List<YamlDocument> Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(file));
        stream.Load(reader);
        return [.. stream.Documents];
    }

    private static YamlNode At(YamlNode node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step switch
            {
                string key => ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : throw new KeyNotFoundException($"no '{key}' at {node.Start}"),
                int index => ((YamlSequenceNode)node).Children[index],
                _ => throw new ArgumentException("a path step is a key or an index", nameof(path)),
            };
        }

        return node;
    }

    private static string Scalar(YamlNode node, params object[] path) => ((YamlScalarNode)At(node, path)).Value ?? string.Empty;

    private static IEnumerable<YamlNode> Items(YamlNode node, params object[] path) => ((YamlSequenceNode)At(node, path)).Children;

    private static Dictionary<string, string> Labels(YamlNode node, params object[] path) =>
        ((YamlMappingNode)At(node, path)).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!, StringComparer.Ordinal);

    private static YamlNode Container(List<YamlMappingNode> manifests) =>
        Assert.Single(Items(One(manifests, "Deployment"), "spec", "template", "spec", "containers"));

    /// <summary>The configuration the ConfigMap carries, written to a file.</summary>
    /// <summary>
    /// The configuration a pod runs with: the ConfigMap's farm.json with the container's <c>STRATUMPROXY_</c>
    /// environment applied on top (plain values and Secret keys), as the host's environment source does.
    /// </summary>
    private string FarmFile(List<YamlMappingNode> manifests)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(Scalar(One(manifests, "ConfigMap"), "data", "farm.json"))!.AsObject();
        var secret = (YamlMappingNode)At(One(manifests, "Secret"), "stringData");
        foreach (var entry in Items(Container(manifests), "env"))
        {
            var name = Scalar(entry, "name");
            if (!name.StartsWith("STRATUMPROXY_", StringComparison.Ordinal))
            {
                continue;
            }

            var mapping = (YamlMappingNode)entry;
            var value = mapping.Children.ContainsKey(new YamlScalarNode("valueFrom"))
                ? ((YamlScalarNode)secret.Children[new YamlScalarNode(Scalar(entry, "valueFrom", "secretKeyRef", "key"))]).Value!
                : Scalar(entry, "value");
            Set(root, name["STRATUMPROXY_".Length..].Split("__"), value);
        }

        var path = Path.Combine(_directory, "farm.json");
        File.WriteAllText(path, root.ToJsonString());
        return path;

        static void Set(System.Text.Json.Nodes.JsonNode node, string[] keys, string value)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                var last = i == keys.Length - 1;
                System.Text.Json.Nodes.JsonNode? next;
                if (node is System.Text.Json.Nodes.JsonArray array)
                {
                    var index = int.Parse(keys[i], CultureInfo.InvariantCulture);
                    next = index < array.Count ? array[index] : null;
                    if (last)
                    {
                        array[index] = value;
                        return;
                    }
                }
                else
                {
                    var obj = node.AsObject();
                    next = obj[keys[i]];
                    if (last)
                    {
                        obj[keys[i]] = value;
                        return;
                    }

                    if (next is null)
                    {
                        next = int.TryParse(keys[i + 1], CultureInfo.InvariantCulture, out _) ? new System.Text.Json.Nodes.JsonArray() : new System.Text.Json.Nodes.JsonObject();
                        obj[keys[i]] = next;
                    }
                }

                node = next!;
            }
        }
    }

    [Fact]
    public void Kustomization_ListsEveryManifest_AndEveryManifestParses()
    {
        var kustomization = Assert.Single(Load(Deploy("k8s", "kustomization.yaml"))).RootNode;
        var listed = Items(kustomization, "resources").Select(n => ((YamlScalarNode)n).Value!).Order(StringComparer.Ordinal).ToList();
        var present = Directory.EnumerateFiles(Deploy("k8s"), "*.yaml").Select(f => Path.GetFileName(f)).Where(f => f != "kustomization.yaml").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(present, listed);
        Assert.Equal(
            ["Component", "ConfigMap", "Deployment", "Kustomization", "PodDisruptionBudget", "PrometheusRule", "Secret", "Service", "Service", "ServiceMonitor"],
            Manifests().Select(m => Scalar(m, "kind")).Order(StringComparer.Ordinal));
        Assert.Equal("Component", Scalar(Assert.Single(Load(Deploy("k8s", "proxy-protocol", "kustomization.yaml"))).RootNode, "kind"));
    }

    [Fact]
    public async Task Deployment_GraceCoversTheDrain_ProbesNamePathsTheAdminPortServes_ConfigMapIsValid()
    {
        var manifests = Manifests();
        var deployment = One(manifests, "Deployment");
        var container = Container(manifests);
        Assert.True(int.Parse(Scalar(deployment, "spec", "replicas"), CultureInfo.InvariantCulture) >= 2);

        // The configuration in the ConfigMap is one the proxy accepts, and its drain fits in the grace period.
        var farm = FarmFile(manifests);
        await using (var app = ProxyHost.Build(CommandLine.Parse(["--config", farm]), _directory, logging: l => l.ClearProviders()))
        {
            Assert.NotNull(app);
        }

        using var json = JsonDocument.Parse(File.ReadAllText(farm));
        var drain = json.RootElement.GetProperty("Proxy").GetProperty("Drain");
        var period = TimeSpan.Parse(drain.GetProperty("Period").GetString()!, CultureInfo.InvariantCulture);
        var grace = TimeSpan.Parse(drain.GetProperty("Grace").GetString()!, CultureInfo.InvariantCulture);
        var terminationGrace = TimeSpan.FromSeconds(int.Parse(Scalar(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds"), CultureInfo.InvariantCulture));
        Assert.True(terminationGrace > period + grace + ProxyHost.ShutdownMargin, $"terminationGracePeriodSeconds {terminationGrace} must exceed the drain {period} + {grace} + the host's {ProxyHost.ShutdownMargin}");

        // Ports: the listener and the admin endpoint of the configuration are the container's named ports.
        var ports = Items(container, "ports").ToDictionary(p => Scalar(p, "name"), p => Scalar(p, "containerPort"), StringComparer.Ordinal);
        var listener = json.RootElement.GetProperty("Proxy").GetProperty("Listeners")[0].GetProperty("Endpoint").GetString()!;
        Assert.Equal(ports["stratum"], listener.Split(':')[^1]);
        var env = Items(container, "env").ToDictionary(e => Scalar(e, "name"), e => e, StringComparer.Ordinal);
        Assert.Equal("0.0.0.0:" + ports["admin"], Scalar(env["STRATUMPROXY_Admin__Endpoint"], "value"));

        // Readiness is /readyz, liveness /healthz, both on the admin port: a running proxy serves both.
        Assert.Equal(("/readyz", "admin"), (Scalar(container, "readinessProbe", "httpGet", "path"), Scalar(container, "readinessProbe", "httpGet", "port")));
        Assert.Equal(("/healthz", "admin"), (Scalar(container, "livenessProbe", "httpGet", "path"), Scalar(container, "livenessProbe", "httpGet", "port")));
        Assert.Equal("/healthz", Scalar(container, "startupProbe", "httpGet", "path"));
        await using var proxy = ProxyHost.Build(CommandLine.Parse(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]), _directory, logging: l => l.ClearProviders());
        await proxy.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(proxy.Urls.Single()) };
        foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
        {
            using var response = await http.GetAsync(new Uri(Scalar(container, probe, "httpGet", "path"), UriKind.Relative));
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{probe}: {response.StatusCode}");
        }

        await proxy.StopAsync();

        // Memory is requested and capped; the store's connection string and the pool passwords come from the Secret.
        Assert.False(string.IsNullOrEmpty(Scalar(container, "resources", "requests", "memory")));
        Assert.False(string.IsNullOrEmpty(Scalar(container, "resources", "limits", "memory")));
        var secret = One(manifests, "Secret");
        var secretKeys = ((YamlMappingNode)At(secret, "stringData")).Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet(StringComparer.Ordinal);
        var fromSecret = env.Values.Where(e => ((YamlMappingNode)e).Children.ContainsKey(new YamlScalarNode("valueFrom"))).ToList();
        Assert.Contains("STRATUMPROXY_Store__ConnectionString", fromSecret.Select(e => Scalar(e, "name")));
        Assert.All(fromSecret, e =>
        {
            Assert.Equal(Scalar(secret, "metadata", "name"), Scalar(e, "valueFrom", "secretKeyRef", "name"));
            Assert.Contains(Scalar(e, "valueFrom", "secretKeyRef", "key"), secretKeys);
        });
        Assert.Equal(Scalar(One(manifests, "ConfigMap"), "metadata", "name"), Scalar(Assert.Single(Items(deployment, "spec", "template", "spec", "volumes"), v => Scalar(v, "name") == "config"), "configMap", "name"));
    }

    [Fact]
    public void Services_Budget_AndMonitor_SelectTheProxyPods()
    {
        var manifests = Manifests();
        var podLabels = Labels(One(manifests, "Deployment"), "spec", "template", "metadata", "labels");
        bool Selects(Dictionary<string, string> selector) => selector.All(kv => podLabels.TryGetValue(kv.Key, out var v) && v == kv.Value);
        Assert.True(Selects(Labels(One(manifests, "Deployment"), "spec", "selector", "matchLabels")));
        Assert.True(Selects(Labels(One(manifests, "PodDisruptionBudget"), "spec", "selector", "matchLabels")));
        Assert.Equal("1", Scalar(One(manifests, "PodDisruptionBudget"), "spec", "maxUnavailable"));

        // Two Services: the miners' LoadBalancer (rigs' own addresses kept) and the admin port inside the cluster.
        var services = OfKind(manifests, "Service").ToDictionary(s => Scalar(s, "metadata", "name"), StringComparer.Ordinal);
        var miners = services["stratum-proxy-miners"];
        Assert.Equal(("LoadBalancer", "Local"), (Scalar(miners, "spec", "type"), Scalar(miners, "spec", "externalTrafficPolicy")));
        Assert.Equal("stratum", Scalar(miners, "spec", "ports", 0, "targetPort"));
        var admin = services["stratum-proxy-admin"];
        Assert.Equal(("ClusterIP", "admin"), (Scalar(admin, "spec", "type"), Scalar(admin, "spec", "ports", 0, "targetPort")));
        Assert.All(services.Values, s => Assert.True(Selects(Labels(s, "spec", "selector"))));

        // The ServiceMonitor scrapes /metrics through the admin Service only.
        var monitor = One(manifests, "ServiceMonitor");
        var wanted = Labels(monitor, "spec", "selector", "matchLabels");
        Assert.Equal(["stratum-proxy-admin"], services.Values.Where(s => wanted.All(kv => Labels(s, "metadata", "labels").GetValueOrDefault(kv.Key) == kv.Value)).Select(s => Scalar(s, "metadata", "name")));
        Assert.Equal(("admin", "/metrics"), (Scalar(monitor, "spec", "endpoints", 0, "port"), Scalar(monitor, "spec", "endpoints", 0, "path")));
    }

    [Fact]
    public void PrometheusRule_CarriesExactlyTheRulesOfDeployPrometheus()
    {
        var rule = One(Manifests(), "PrometheusRule");
        var source = Assert.Single(Load(Deploy("prometheus", "rules", "stratumproxy.rules.yml"))).RootNode;
        var expected = At(source, "groups");
        var actual = At(rule, "spec", "groups");
        Assert.True(Same(expected, actual), "deploy/k8s/prometheusrule.yaml differs from deploy/prometheus/rules/stratumproxy.rules.yml: run deploy/k8s/sync-rules.sh");
        Assert.True(Items(expected).Sum(g => Items(g, "rules").Count()) >= 10);
    }

    [Fact]
    public void HaproxyExample_SendsProxyV2_ChecksReadyz_AndTheProxyProtocolVariantRequiresTheHeader()
    {
        var config = File.ReadAllLines(Deploy("haproxy", "haproxy.cfg")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var defaults = Assert.Single(config, l => l.StartsWith("default-server", StringComparison.Ordinal));
        Assert.Contains("send-proxy-v2", defaults, StringComparison.Ordinal);
        Assert.Contains("check port 9100", defaults, StringComparison.Ordinal);
        Assert.Contains(config, l => l == "http-check expect status 200");
        Assert.Contains(config, l => l.StartsWith("http-check send meth GET uri /readyz", StringComparison.Ordinal));
        Assert.True(config.Count(l => l.StartsWith("server ", StringComparison.Ordinal)) >= 2);

        // The Kubernetes variant behind a PROXY-protocol balancer makes the listener require the header, under the
        // option's real name and value.
        var component = Assert.Single(Load(Deploy("k8s", "proxy-protocol", "kustomization.yaml"))).RootNode;
        var patch = string.Join('\n', Items(component, "patches").Select(p => Scalar(p, "patch")));
        Assert.Contains("name: STRATUMPROXY_Proxy__Listeners__0__" + nameof(Proxy.Configuration.ListenerOptions.ProxyProtocol), patch, StringComparison.Ordinal);
        Assert.Contains("value: " + nameof(Proxy.Configuration.ProxyProtocolMode.Required), patch, StringComparison.Ordinal);
    }

    /// <summary>Structural equality of two YAML trees (mappings by key, sequences in order, scalars by text).</summary>
    private static bool Same(YamlNode a, YamlNode b) => (a, b) switch
    {
        (YamlScalarNode x, YamlScalarNode y) => x.Value == y.Value,
        (YamlSequenceNode x, YamlSequenceNode y) => x.Children.Count == y.Children.Count && x.Children.Zip(y.Children).All(p => Same(p.First, p.Second)),
        (YamlMappingNode x, YamlMappingNode y) => x.Children.Count == y.Children.Count && x.Children.All(kv => y.Children.TryGetValue(kv.Key, out var other) && Same(kv.Value, other)),
        _ => false,
    };
}
