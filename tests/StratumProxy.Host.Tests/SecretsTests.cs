using Microsoft.Extensions.Configuration;
using StratumProxy.Hosting;

namespace StratumProxy.Host.Tests;

public sealed class SecretsTests
{
    [Theory]
    [InlineData("Proxy:Pools:0:Password", true)]
    [InlineData("Admin:Token", true)]
    [InlineData("Admin:Tls:Password", true)]
    [InlineData("Store:ConnectionString", true)]
    [InlineData("Store:Replica:ConnectionString", true)]
    [InlineData("Economics:PriceFeed:ApiKey", true)]
    [InlineData("Whatever:ClientSecret", true)]
    [InlineData("Admin:TokenFile", false)]
    [InlineData("Admin:RequireTokenForReads", false)]
    [InlineData("Proxy:Pools:0:User", false)]
    [InlineData("Economics:PriceFeed:Url", false)]
    public void IsSecretKey_ByTheKeysName(string key, bool expected) => Assert.Equal(expected, Secrets.IsSecretKey(key));

    [Fact]
    public void Values_AreTheLongSecretValuesOfAnySection_AndScrubMasksThem()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Proxy:Pools:0:Password"] = "x",
            ["Proxy:Pools:1:Password"] = "hunter22-pool",
            ["Store:ConnectionString"] = "Host=db;Password=s3cr3t-db",
            ["Proxy:Pools:1:User"] = "account-name",
        }).Build();

        var values = Secrets.Values(configuration);

        Assert.Equal(["Host=db;Password=s3cr3t-db", "hunter22-pool"], values);
        Assert.Equal("Store:ConnectionString '***': cannot connect; pool x", Secrets.Scrub("Store:ConnectionString 'Host=db;Password=s3cr3t-db': cannot connect; pool x", values));
    }

    [Theory]
    [InlineData("https://api.example.com/v1/price?apikey=abc123&symbol=BTC", "https://api.example.com/v1/price?apikey=***&symbol=***")]
    [InlineData("https://user:pass@api.example.com:8443/p", "https://api.example.com:8443/p")]
    [InlineData("http://127.0.0.1:9000/price", "http://127.0.0.1:9000/price")]
    public void Url_DropsCredentialsAndMasksQueryValues(string url, string expected) => Assert.Equal(expected, Secrets.Url(new Uri(url)));
}
