using StratumProxy.Proxy.Tests.Transport;

#pragma warning disable CA1050 // The runtime looks for a type named exactly StartupHook, outside any namespace.
#pragma warning disable VSTHRD002 // A startup hook is synchronous; the successor runs to completion and the process exits.

/// <summary>
/// Runs the handover successor when this test assembly is started as a child process with DOTNET_STARTUP_HOOKS
/// pointing at it and <see cref="HandoverSuccessor.PathVariable"/> set (see <see cref="HandoverProcessTests"/>);
/// does nothing otherwise.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(HandoverSuccessor.PathVariable) is not { Length: > 0 } path)
        {
            return;
        }

        int code;
        try
        {
            code = HandoverSuccessor.RunAsync(path).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine(ex);
            code = 1;
        }

        Environment.Exit(code);
    }
}
