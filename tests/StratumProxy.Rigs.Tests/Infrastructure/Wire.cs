using System.Text;
using System.Text.Json.Nodes;

namespace StratumProxy.Rigs.Tests.Infrastructure;

internal static class Wire
{
    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>
    /// Requests whose only source is a vendor document shown with arbitrary spacing (LuxOS docs pipe pretty JSON through
    /// nc) are compared as JSON values, not bytes.
    /// </summary>
    public static void JsonEqual(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}\nactual   {actual}");

    /// <summary>A cgminer joined reply ("a+b+c") composed from separately captured replies, as api.c joins them.</summary>
    public static string Joined(params (string Command, string Reply)[] parts) =>
        "{" + string.Join(",", parts.Select(p => $"\"{p.Command}\":[{p.Reply}]")) + ",\"id\":1}\0";
}
