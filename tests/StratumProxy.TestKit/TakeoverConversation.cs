using System.Globalization;
using System.Text;

namespace StratumProxy.TestKit;

/// <summary>
/// The messages a test sends when it plays one side of an upgrade handover (docs/upgrades.md) by hand: the new
/// process's introduction and the running process's "go on".
/// </summary>
public static class TakeoverConversation
{
    /// <summary>The new process introduces itself with the state format it reads.</summary>
    public static byte[] Hello(int format, int processId) => Message("hello", format, processId);

    /// <summary>The running process lets go: the new one adopts what it was handed.</summary>
    public static byte[] Go(int format, int processId) => Message("go", format, processId);

    private static byte[] Message(string kind, int format, int processId) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"kind\":\"{kind}\",\"format\":{format},\"processId\":{processId}}}"));
}
