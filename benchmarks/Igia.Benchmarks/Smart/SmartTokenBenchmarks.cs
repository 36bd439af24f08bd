using System.Net;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Igia.Fhir.Client;
using Igia.Smart.App;
using Igia.Smart.App.Internal;
using Igia.Smart.BackendServices;
using Igia.Smart.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Benchmarks.Smart;

/// <summary>
/// Igia.Smart hot paths. TokenProvider: what a FHIR request pays to get its bearer token once one is cached — a fixed token
/// (the floor, baseline), SMART Backend Services (cached until shortly before expiry), and the SMART app session of the
/// current request (within a request, and the first call of a new request, which reads and unprotects the stored session).
/// Assertion: building and signing a private_key_jwt client assertion, RS384 (baseline) and ES384, next to the bare signature.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SmartTokenBenchmarks
{
    private static readonly Uri TokenEndpoint = new("https://auth.example.org/token");
    private readonly byte[] _signingInput = Encoding.ASCII.GetBytes(new string('a', 380));

    private StaticAccessTokenProvider _static = null!;
    private ServiceProvider _backendServices = null!;
    private SmartBackendServicesTokenProvider _backend = null!;
    private ServiceProvider _appServices = null!;
    private IFhirAccessTokenProvider _session = null!;
    private IHttpContextAccessor _accessor = null!;
    private string _cookie = "";
    private SmartSigningKey _rs384 = null!;
    private SmartSigningKey _es384 = null!;
    private RSA _rsa = null!;
    private ECDsa _ec = null!;

    [GlobalSetup]
    public void Setup()
    {
        _static = new StaticAccessTokenProvider("static-token");
        _rs384 = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384);
        _es384 = SmartSigningKey.Generate(SmartSigningAlgorithm.ES384);
        _rsa = RSA.Create(2048);
        _ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        // Backend Services, warmed once against a stub token endpoint (the cached path never calls it again).
        var backend = new ServiceCollection();
        backend.AddLogging();
        backend.AddIgiaFhirClient("b", o => o.BaseUrl = new Uri("https://ehr.example.org/fhir"))
            .AddSmartBackendServices(o =>
            {
                o.ClientId = "bench";
                o.SigningKey = _rs384;
                o.Scopes = "system/*.rs";
                o.TokenEndpoint = TokenEndpoint;
            });
        backend.AddHttpClient("Igia.Smart").ConfigurePrimaryHttpMessageHandler(() => new StubTokenEndpoint());
        _backendServices = backend.BuildServiceProvider();
        _backend = _backendServices.GetRequiredKeyedService<SmartBackendServicesTokenProvider>("b");
        _backend.GetTokenAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

        // A SMART app session, stored (protected) as a launch would store it.
        var app = new ServiceCollection();
        app.AddLogging();
        app.AddIgiaSmartApp().AddServer("ehr", s =>
        {
            s.FhirBaseUrl = new Uri("https://ehr.example.org/fhir");
            s.ClientId = "app";
            s.Scopes = "openid fhirUser launch patient/*.rs offline_access";
        });
        _appServices = app.BuildServiceProvider();
        const string Browser = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        const string Session = "sssssssssssssssssssssssssssssssssssssssssss";
        var state = new SmartSessionState
        {
            Id = Session,
            Server = "ehr",
            FhirBaseUrl = "https://ehr.example.org/fhir",
            AccessToken = new string('t', 900),
            RefreshToken = new string('r', 64),
            ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
            Scope = "openid fhirUser launch patient/*.rs offline_access",
            Context = System.Text.Json.JsonDocument.Parse("""{"patient":"123","encounter":"e1","need_patient_banner":false}""").RootElement.Clone(),
            StartedAt = DateTimeOffset.UtcNow,
            StoreUntil = DateTimeOffset.UtcNow.AddHours(12),
        };
        _appServices.GetRequiredService<SmartProtectedStore>()
            .SetSessionAsync(SmartProtectedStore.SessionKey(Browser, Session), state, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _cookie = $".Igia.Smart.b={Browser}; .Igia.Smart.s={Session}";
        _accessor = _appServices.GetRequiredService<IHttpContextAccessor>();
        _session = new SmartSessionAccessTokenProvider("ehr", _appServices.GetRequiredService<SmartSessionAccessor>(), _appServices.GetRequiredService<SmartSessionManager>());
        _accessor.HttpContext = NewRequest();
        _session.GetTokenAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _backendServices.Dispose();
        _appServices.Dispose();
        _rs384.Dispose();
        _es384.Dispose();
        _rsa.Dispose();
        _ec.Dispose();
    }

    // ---- TokenProvider: cached path, per FHIR request ---------------------------------------------

    [Benchmark(Baseline = true), BenchmarkCategory("TokenProvider")]
    public string? Static() => _static.GetTokenAsync(CancellationToken.None).Result;

    [Benchmark, BenchmarkCategory("TokenProvider")]
    public string? BackendServices_Cached() => _backend.GetTokenAsync(CancellationToken.None).Result;

    [Benchmark, BenchmarkCategory("TokenProvider")]
    public string? AppSession_SameRequest() => _session.GetTokenAsync(CancellationToken.None).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("TokenProvider")]
    public string? AppSession_NewRequest()
    {
        _accessor.HttpContext = NewRequest();
        return _session.GetTokenAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    // ---- Assertion: build and sign a client assertion ---------------------------------------------

    [Benchmark(Baseline = true), BenchmarkCategory("Assertion")]
    public string Assertion_RS384() => SmartClientAssertion.Create("bench-client", TokenEndpoint, _rs384);

    [Benchmark, BenchmarkCategory("Assertion")]
    public string Assertion_ES384() => SmartClientAssertion.Create("bench-client", TokenEndpoint, _es384);

    [Benchmark, BenchmarkCategory("Assertion")]
    public byte[] SignatureOnly_RS384() => _rsa.SignData(_signingInput, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1);

    [Benchmark, BenchmarkCategory("Assertion")]
    public byte[] SignatureOnly_ES384() => _ec.SignData(_signingInput, HashAlgorithmName.SHA384);

    private DefaultHttpContext NewRequest()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = _cookie;
        return context;
    }

    private sealed class StubTokenEndpoint : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("""{"access_token":"backend-token","token_type":"bearer","expires_in":3600,"scope":"system/*.rs"}""", Encoding.UTF8, "application/json"),
            });
    }
}
