using Microsoft.Extensions.Configuration;
using StratumProxy.Cli;
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
    [InlineData("Proxy:Pools:0:Password 'ab1': not valid.", "Proxy:Pools:0:Password '***': not valid.")]
    [InlineData("Proxy:Pools:0:Url 'stratum+tcp://acct:pw@pool.example.com:3333': no.", "Proxy:Pools:0:Url 'stratum+tcp://acct:***@pool.example.com:3333': no.")]
    [InlineData("Host=db;Username=proxy;Password=pw1;Pwd=z", "Host=db;Username=proxy;Password=***;Pwd=***")]
    [InlineData("Host=db;Password = \"a b\";Port=5432", "Host=db;Password = ***;Port=5432")]
    [InlineData("GET /price?symbol=BTC&apikey=k1 failed", "GET /price?symbol=BTC&apikey=*** failed")]
    [InlineData("args: --Admin:Token=t0k --Proxy:Pools:0:Password=x", "args: --Admin:Token=*** --Proxy:Pools:0:Password=***")]
    [InlineData("{\"User\": \"root\", \"Password\": \"root\"}", "{\"User\": \"root\", \"Password\": \"***\"}")]
    public void Scrub_MasksASecretOfAnyLengthNextToItsName(string text, string expected) => Assert.Equal(expected, Secrets.Scrub(text, []));

    [Theory]
    [InlineData("pool x: 3 accepted, 0 rejected (x)")]
    [InlineData("Proxy:Pools:0:User 'root': unknown; Host=db;Username=proxy")]
    [InlineData("Proxy:Pools:0:Url 'stratum+tcp://pool.example.com:3333': no answer")]
    [InlineData("Admin:TokenFile '/run/secrets/token': no such file.")]
    [InlineData("{\"Name\": \"primary\", \"TokenFile\": \"t\"}")]
    public void Scrub_LeavesWhatStandsNextToNoSecretsNameAlone(string text) => Assert.Equal(text, Secrets.Scrub(text, []));

    [Fact]
    public void A_pool_url_with_a_short_password_is_refused_and_the_error_masks_it()
    {
        var directory = Directory.CreateTempSubdirectory("stratumproxy-secrets-").FullName;
        try
        {
            var file = Path.Combine(directory, "farm.json");
            File.WriteAllText(file, """{ "Proxy": { "Pools": [ { "Name": "p", "Url": "stratum+tcp://acct:pw@pool.example.com:3333", "User": "acct" } ] } }""");

            var ex = Assert.Throws<OptionsException>(() => ProxyHost.Build(CommandLine.Parse(["--config", file]), directory));

            Assert.Contains("Proxy:Pools:0:Url 'stratum+tcp://acct:***@pool.example.com:3333': the URL carries a user or password", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(":pw@", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("https://api.example.com/v1/price?apikey=abc123&symbol=BTC", "https://api.example.com/v1/price?apikey=***&symbol=***")]
    [InlineData("https://user:pass@api.example.com:8443/p", "https://api.example.com:8443/p")]
    [InlineData("http://127.0.0.1:9000/price", "http://127.0.0.1:9000/price")]
    public void Url_DropsCredentialsAndMasksQueryValues(string url, string expected) => Assert.Equal(expected, Secrets.Url(new Uri(url)));
}
