using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Smart.App;
using Igia.Smart.Protocol;

namespace Igia.Smart.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class SmartCollection : ICollectionFixture<SmartEnvironment>
{
    public const string Name = "smart";
}

/// <summary>
/// Everything the end-to-end tests talk to, started once: the FHIR resource server (Igia FHIR on SQLite), the SMART apps under
/// test (one per client type), and the oidc-provider SMART server under node with those apps registered as clients, plus an
/// HTTPS provider standing in for an MSAL authority.
/// </summary>
public sealed class SmartEnvironment : IAsyncLifetime
{
    public const string SymmetricSecret = "app-symmetric-secret-0123456789abcdef";
    public const string EntraSecret = "entra-client-secret-0123456789abcdef";
    public const string PatientId = "smart-1";
    public const string PatientFamily = "Smartson";

    /// <summary>A SMART v2 scope narrowed with a search parameter.</summary>
    public const string NarrowedScope = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

    public FhirResourceServerHost Fhir { get; private set; } = null!;

    public OidcProviderProcess Provider { get; private set; } = null!;

    public SmartAppHost PublicApp { get; private set; } = null!;

    public SmartAppHost SymmetricApp { get; private set; } = null!;

    public SmartAppHost Rs384App { get; private set; } = null!;

    public SmartAppHost Es384App { get; private set; } = null!;

    public SmartAppHost RefreshApp { get; private set; } = null!;

    public SmartSigningKey Rs384Key { get; } = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384);

    public SmartSigningKey Es384Key { get; } = SmartSigningKey.Generate(SmartSigningAlgorithm.ES384);

    public SmartSigningKey BackendRs384Key { get; } = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384, "backend-rs384-key");

    public SmartSigningKey BackendEs384Key { get; } = SmartSigningKey.Generate(SmartSigningAlgorithm.ES384, "backend-es384-key");

    /// <summary>A key registered nowhere.</summary>
    public SmartSigningKey UnregisteredKey { get; } = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384, "backend-rs384-key");

    /// <summary>The TLS certificate of the HTTPS (MSAL) provider.</summary>
    public X509Certificate2 TlsCertificate { get; } = CreateCertificate("CN=127.0.0.1", tls: true);

    /// <summary>The client certificate of the MSAL certificate client.</summary>
    public X509Certificate2 EntraClientCertificate { get; } = CreateCertificate("CN=igia-entra-test-client", tls: false);

    public IEnumerable<SmartAppHost> Apps => [PublicApp, SymmetricApp, Rs384App, Es384App, RefreshApp];

    public string FhirBase => Fhir.BaseUrl;

    public async System.Threading.Tasks.Task InitializeAsync()
    {
        Fhir = await FhirResourceServerHost.StartAsync(() => TrustingHandler(TlsCertificate));
        await Fhir.PutAsync(new Patient { Id = PatientId, Name = [new HumanName { Family = PatientFamily, Given = ["Sam"] }] });
        await Fhir.PutAsync(new Patient { Id = "smart-2", Name = [new HumanName { Family = "Otherly" }] });
        await Fhir.PutAsync(new Encounter { Id = "enc-1", Status = Encounter.EncounterStatus.InProgress, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = new ResourceReference("Patient/" + PatientId) });

        PublicApp = await SmartAppHost.StartAsync(FhirBase, new AppClient("app-public", SmartClientAuthentication.Public, AuthorizeMethod: SmartAuthorizeMethod.Get));
        SymmetricApp = await SmartAppHost.StartAsync(FhirBase, new AppClient("app-symmetric", SmartClientAuthentication.ClientSecretBasic, Secret: SymmetricSecret, DistributedStore: true, Scopes: "openid fhirUser launch user/*.rs online_access", StandaloneScopes: "openid fhirUser launch/patient user/*.rs online_access"));
        Rs384App = await SmartAppHost.StartAsync(FhirBase, new AppClient("app-rs384", SmartClientAuthentication.PrivateKeyJwt, Key: Rs384Key, AuthorizeMethod: SmartAuthorizeMethod.Get));
        Es384App = await SmartAppHost.StartAsync(FhirBase, new AppClient("app-es384", SmartClientAuthentication.PrivateKeyJwt, Key: Es384Key, AuthorizeMethod: SmartAuthorizeMethod.Post, Scopes: "openid fhirUser launch patient/Patient.rs " + NarrowedScope + " offline_access", StandaloneScopes: "openid fhirUser launch/patient patient/Patient.rs " + NarrowedScope + " offline_access"));
        RefreshApp = await SmartAppHost.StartAsync(FhirBase, new AppClient("app-refresh", SmartClientAuthentication.Public, AuthorizeMethod: SmartAuthorizeMethod.Get, ManualClock: true));

        var clients = new JsonArray
        {
            AppClientJson(PublicApp),
            AppClientJson(SymmetricApp),
            AppClientJson(Rs384App),
            AppClientJson(Es384App),
            AppClientJson(RefreshApp),
            BackendClientJson("backend-rs384", BackendRs384Key),
            BackendClientJson("backend-es384", BackendEs384Key),
            ResourceServerClientJson(),
        };
        var entraClients = new JsonArray
        {
            new JsonObject
            {
                ["client_id"] = "entra-secret",
                ["client_secret"] = EntraSecret,
                ["token_endpoint_auth_method"] = "client_secret_post",
                ["grant_types"] = new JsonArray("client_credentials"),
                ["response_types"] = new JsonArray(),
                ["redirect_uris"] = new JsonArray(),
            },
            new JsonObject
            {
                ["client_id"] = "entra-cert",
                ["token_endpoint_auth_method"] = "private_key_jwt",
                ["grant_types"] = new JsonArray("client_credentials"),
                ["response_types"] = new JsonArray(),
                ["redirect_uris"] = new JsonArray(),
                ["jwks"] = new JsonObject { ["keys"] = new JsonArray(CertificateJwk(EntraClientCertificate)) },
            },
            ResourceServerClientJson(),
        };
        var config = new JsonObject
        {
            ["fhirBase"] = FhirBase,
            ["clients"] = clients,
            ["entra"] = new JsonObject
            {
                ["certPem"] = TlsCertificate.ExportCertificatePem(),
                ["keyPem"] = TlsCertificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem(),
                ["clients"] = entraClients,
                ["msalCertificate"] = new JsonObject
                {
                    ["clientId"] = "entra-cert",
                    ["certPem"] = EntraClientCertificate.ExportCertificatePem(),
                    ["keyPem"] = EntraClientCertificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem(),
                },
            },
        };

        Provider = await OidcProviderProcess.StartAsync(config);
        Fhir.IntrospectionEndpoints.Add(new Uri(Provider.Issuer, "/introspect"));
        Fhir.IntrospectionEndpoints.Add(new Uri(Provider.EntraIssuer!, "/token/introspection"));
        Fhir.SmartConfigurationJson = await Provider.Http.GetStringAsync("/smart-configuration");
    }

    public async System.Threading.Tasks.Task DisposeAsync()
    {
        foreach (var app in new[] { PublicApp, SymmetricApp, Rs384App, Es384App, RefreshApp })
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
        }

        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }

        if (Fhir is not null)
        {
            await Fhir.DisposeAsync();
        }
    }

    /// <summary>Registers an EHR launch for <see cref="PatientId"/> with a full context.</summary>
    public Task<string> RegisterLaunchAsync(string patient = PatientId) => Provider.RegisterLaunchAsync(new Dictionary<string, object>
    {
        ["patient"] = patient,
        ["encounter"] = "enc-1",
        ["fhirContext"] = new object[]
        {
            new { reference = "Encounter/enc-1" },
            new { canonical = "http://example.org/Questionnaire/phq-9|1.0", type = "Questionnaire" },
            new { identifier = new { system = "urn:oid:1.2.3", value = "order-77" }, type = "ServiceRequest", role = "https://example.org/role/order" },
        },
        ["need_patient_banner"] = false,
        ["smart_style_url"] = "https://ehr.example.org/styles/smart_v1.json",
        ["intent"] = "reconcile-medications",
        ["tenant"] = "tenant-a",
    });

    /// <summary>An HTTP handler that trusts exactly <paramref name="certificate"/> (the test TLS certificate) and normal chains otherwise.</summary>
    public static HttpMessageHandler TrustingHandler(X509Certificate2 certificate) => new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                errors == SslPolicyErrors.None || (cert is not null && cert.GetCertHashString() == certificate.GetCertHashString()),
        },
    };

    private static JsonObject AppClientJson(SmartAppHost app)
    {
        var client = new JsonObject
        {
            ["client_id"] = app.Client.ClientId,
            ["redirect_uris"] = new JsonArray(app.RedirectUri.AbsoluteUri),
            ["grant_types"] = new JsonArray("authorization_code", "refresh_token"),
            ["response_types"] = new JsonArray("code"),
        };
        switch (app.Client.Authentication)
        {
            case SmartClientAuthentication.Public:
                client["token_endpoint_auth_method"] = "none";
                break;
            case SmartClientAuthentication.ClientSecretBasic:
                client["token_endpoint_auth_method"] = "client_secret_basic";
                client["client_secret"] = app.Client.Secret;
                break;
            default:
                client["token_endpoint_auth_method"] = "private_key_jwt";
                client["token_endpoint_auth_signing_alg"] = app.Client.Key!.AlgorithmName;
                client["jwks"] = new JsonObject { ["keys"] = new JsonArray(JsonNode.Parse(app.Client.Key.GetPublicJwk())) };
                break;
        }

        return client;
    }

    private static JsonObject BackendClientJson(string clientId, SmartSigningKey key) => new()
    {
        ["client_id"] = clientId,
        ["token_endpoint_auth_method"] = "private_key_jwt",
        ["token_endpoint_auth_signing_alg"] = key.AlgorithmName,
        ["grant_types"] = new JsonArray("client_credentials"),
        ["response_types"] = new JsonArray(),
        ["redirect_uris"] = new JsonArray(),
        ["jwks"] = new JsonObject { ["keys"] = new JsonArray(JsonNode.Parse(key.GetPublicJwk())) },
    };

    private static JsonObject ResourceServerClientJson() => new()
    {
        ["client_id"] = FhirResourceServerHost.IntrospectionClientId,
        ["client_secret"] = FhirResourceServerHost.IntrospectionSecret,
        ["token_endpoint_auth_method"] = "client_secret_basic",
        ["grant_types"] = new JsonArray("client_credentials"),
        ["response_types"] = new JsonArray(),
        ["redirect_uris"] = new JsonArray(),
    };

    private static JsonObject CertificateJwk(X509Certificate2 certificate)
    {
        var rsa = certificate.GetRSAPublicKey()!.ExportParameters(false);
        return new JsonObject
        {
            ["kty"] = "RSA",
            ["n"] = Base64Url(rsa.Modulus!),
            ["e"] = Base64Url(rsa.Exponent!),
            ["x5t"] = Base64Url(certificate.GetCertHash()),
            ["x5t#S256"] = Base64Url(certificate.GetCertHash(HashAlgorithmName.SHA256)),
            ["use"] = "sig",
        };
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static X509Certificate2 CreateCertificate(string subject, bool tls)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (tls)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
        }

        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }
}
