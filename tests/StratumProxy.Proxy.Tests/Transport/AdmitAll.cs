using System.Net;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Transport;

/// <summary>An admission that lets every connection in (listener tests that are not about limits).</summary>
internal sealed class AdmitAll : IConnectionAdmission
{
    public static AdmitAll Instance { get; } = new();

    public bool TryAdmit(EndPoint? remote) => true;

    public void Release()
    {
    }
}
