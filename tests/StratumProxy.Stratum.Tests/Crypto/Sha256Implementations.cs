using StratumProxy.Stratum.Crypto;

namespace StratumProxy.Stratum.Tests.Crypto;

/// <summary>Theory data over every SHA-256 implementation this machine can load, by name.</summary>
public static class Sha256Implementations
{
    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string> { "managed" };
            if (Sha256Compressor.OpenSsl is not null)
            {
                data.Add("openssl");
            }

            return data;
        }
    }

    public static Sha256Compressor Get(string name) => name switch
    {
        "managed" => Sha256Compressor.Managed,
        "openssl" => Sha256Compressor.Get(Sha256Implementation.OpenSsl),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown implementation."),
    };
}
