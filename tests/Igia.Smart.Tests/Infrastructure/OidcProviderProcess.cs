using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>The oidc-provider SMART server (tests/Igia.Smart.Tests/oidc/server.mjs) running under node on 127.0.0.1.</summary>
public sealed class OidcProviderProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly string _configPath;

    private OidcProviderProcess(Process process, string configPath, Uri issuer, Uri? entraIssuer)
    {
        _process = process;
        _configPath = configPath;
        Issuer = issuer;
        EntraIssuer = entraIssuer;
        Http = new HttpClient { BaseAddress = issuer, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The SMART provider's issuer, e.g. http://127.0.0.1:41234.</summary>
    public Uri Issuer { get; }

    /// <summary>The HTTPS stand-in for an MSAL authority, when configured.</summary>
    public Uri? EntraIssuer { get; }

    /// <summary>A client for the provider's test controls.</summary>
    public HttpClient Http { get; }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static async Task<OidcProviderProcess> StartAsync(JsonObject config)
    {
        var folder = TestPaths.OidcFolder;
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "oidc-provider")))
        {
            throw new InvalidOperationException($"oidc-provider is not installed: run 'npm ci --no-audit --no-fund' in {folder} (.ci/run does).");
        }

        var configPath = Path.Combine(Path.GetTempPath(), "igia-smart-oidc-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(configPath, config.ToJsonString());
        var start = new ProcessStartInfo("node", ["server.mjs", configPath])
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["NODE_ENV"] = "test";
        var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started; is Node.js on PATH?");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();

        // Generous: node and oidc-provider start slowly on a busy machine.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (true)
        {
            string? line;
            try
            {
                line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException("The OpenID provider did not start within 120 s: " + stderr);
            }

            if (line is null)
            {
                throw new InvalidOperationException("The OpenID provider exited before it was ready: " + stderr);
            }

            if (line.StartsWith("READY ", StringComparison.Ordinal))
            {
                var ready = JsonNode.Parse(line["READY ".Length..])!;
                var entra = ready["entraIssuer"]?.GetValue<string>();
                var result = new OidcProviderProcess(process, configPath, new Uri(ready["issuer"]!.GetValue<string>()), entra is null ? null : new Uri(entra));
                lock (result._stderr)
                {
                    result._stderr.Append(stderr);
                }

                _ = Task.Run(async () =>
                {
                    while (await process.StandardOutput.ReadLineAsync() is not null)
                    {
                    }
                });
                return result;
            }
        }
    }

    /// <summary>Registers an EHR launch with the given context; returns the launch id.</summary>
    public async Task<string> RegisterLaunchAsync(object context)
    {
        using var response = await Http.PostAsJsonAsync("/test/launch", context);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["launch"]!.GetValue<string>();
    }

    /// <summary>Every authorize and token request the provider received, as received.</summary>
    public async Task<IReadOnlyList<RecordedRequest>> GetRequestsAsync()
    {
        var list = await Http.GetFromJsonAsync<List<RecordedRequest>>("/test/requests", new JsonSerializerOptions(JsonSerializerDefaults.Web));
        return list!;
    }

    /// <summary>The token requests of <paramref name="clientId"/> with <paramref name="grantType"/> received after <paramref name="sinceMs"/> (Unix ms).</summary>
    public async Task<IReadOnlyList<RecordedRequest>> GetTokenRequestsAsync(string clientId, string grantType, long sinceMs) =>
        (await GetRequestsAsync()).Where(r => r.Route == "token" && r.At >= sinceMs && r.GrantType == grantType && r.ClientId == clientId).ToList();

    /// <summary>Now, in the provider's request timestamps (Unix ms).</summary>
    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Revokes an access token, so that the resource server's introspection says it is inactive.</summary>
    public async Task RevokeAccessTokenAsync(string token)
    {
        using var response = await Http.PostAsJsonAsync("/test/revoke", new { token });
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(5000))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            File.Delete(_configPath);
        }
        catch (IOException)
        {
        }

        await Task.CompletedTask;
    }
}

/// <summary>An authorize or token request as the provider received it.</summary>
public sealed class RecordedRequest
{
    public string Route { get; set; } = "";

    public string Method { get; set; } = "";

    public Dictionary<string, JsonElement> Params { get; set; } = [];

    public string? Authorization { get; set; }

    public string? ContentType { get; set; }

    public long At { get; set; }

    public string? Param(string name) => Params.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public bool Has(string name) => Params.ContainsKey(name);

    public string? GrantType => Param("grant_type");

    /// <summary>The client the request is from: client_id in the body, the Basic user name, or the assertion's iss.</summary>
    public string? ClientId
    {
        get
        {
            if (Param("client_id") is { } id)
            {
                return id;
            }

            if (Authorization is { } header && header.StartsWith("Basic ", StringComparison.Ordinal))
            {
                var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
                return Uri.UnescapeDataString(decoded[..decoded.IndexOf(':', StringComparison.Ordinal)].Replace('+', ' '));
            }

            if (Param("client_assertion") is { } assertion)
            {
                var payload = assertion.Split('.')[1];
                payload = payload.Replace('-', '+').Replace('_', '/').PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
                return System.Text.Json.Nodes.JsonNode.Parse(Convert.FromBase64String(payload))?["iss"]?.GetValue<string>();
            }

            return null;
        }
    }
}
