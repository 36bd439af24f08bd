using Igia.Smart.App;
using Igia.Smart.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Tests.App;

/// <summary>Bad configuration stops the app at start-up with a message that names the problem.</summary>
public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("symmetric-without-secret", "ClientSecretBasic needs a ClientSecret")]
    [InlineData("jwt-without-key", "PrivateKeyJwt needs a SigningKey")]
    [InlineData("public-with-secret", "a Public client has no ClientSecret")]
    [InlineData("bad-scope", "Scopes: The scope 'patient/Observation.sr'")]
    [InlineData("no-scopes", "Scopes is required")]
    [InlineData("http-off-loopback", "plain HTTP off loopback")]
    [InlineData("relative-redirect", "RedirectUri must be absolute")]
    [InlineData("no-client-id", "ClientId is required")]
    public void Validate_BadServerOptions_FailsNamingTheProblem(string problem, string message)
    {
        var e = Assert.Throws<OptionsValidationException>(() => Validate(s =>
        {
            switch (problem)
            {
                case "symmetric-without-secret":
                    s.ClientAuthentication = SmartClientAuthentication.ClientSecretBasic;
                    break;
                case "jwt-without-key":
                    s.ClientAuthentication = SmartClientAuthentication.PrivateKeyJwt;
                    break;
                case "public-with-secret":
                    s.ClientSecret = "x";
                    break;
                case "bad-scope":
                    s.Scopes = "openid patient/Observation.sr";
                    break;
                case "no-scopes":
                    s.Scopes = " ";
                    break;
                case "http-off-loopback":
                    s.FhirBaseUrl = new Uri("http://ehr.example.org/fhir");
                    break;
                case "relative-redirect":
                    s.RedirectUri = new Uri("/callback", UriKind.Relative);
                    break;
                case "no-client-id":
                    s.ClientId = null;
                    break;
            }
        }));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("'ehr'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GoodOptions_Passes() => Validate(_ => { });

    [Theory]
    [InlineData("launch", "LaunchPath must be a path")]
    [InlineData("same", "must differ")]
    [InlineData("return", "DefaultReturnUrl must be a local URL")]
    public void Validate_BadAppOptions_FailsNamingTheProblem(string problem, string message)
    {
        var e = Assert.Throws<OptionsValidationException>(() => Validate(_ => { }, o =>
        {
            switch (problem)
            {
                case "launch":
                    o.LaunchPath = "launch";
                    break;
                case "same":
                    o.CallbackPath = o.LaunchPath;
                    break;
                case "return":
                    o.DefaultReturnUrl = "https://elsewhere.example.org/";
                    break;
            }
        }));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddServer_SameNameTwice_Throws()
    {
        var builder = new ServiceCollection().AddIgiaSmartApp().AddServer("ehr", Good);

        Assert.Throws<InvalidOperationException>(() => builder.AddServer("ehr", Good));
    }

    private static void Good(SmartServerOptions s)
    {
        s.FhirBaseUrl = new Uri("https://ehr.example.org/fhir");
        s.ClientId = "app";
        s.Scopes = "openid fhirUser launch patient/*.rs";
    }

    private static void Validate(Action<SmartServerOptions> change, Action<SmartAppOptions>? app = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIgiaSmartApp(app).AddServer("ehr", s =>
        {
            Good(s);
            change(s);
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
    }
}
