using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Igia.Smart.Protocol;

namespace Igia.Smart.App.Internal;

/// <summary>A claim as stored.</summary>
internal sealed record StoredClaim(string Type, string Value, string? ValueType);

/// <summary>Everything kept about one SMART session (stored protected).</summary>
internal sealed class SmartSessionState
{
    public required string Id { get; init; }

    public required string Server { get; init; }

    public required string FhirBaseUrl { get; init; }

    public SmartLaunchKind Kind { get; init; }

    public required string AccessToken { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public string? RefreshToken { get; set; }

    public string? Scope { get; set; }

    public JsonElement? Context { get; init; }

    public string? Subject { get; set; }

    public string? FhirUser { get; set; }

    public List<StoredClaim> Claims { get; set; } = [];

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? RefreshedAt { get; set; }

    public DateTimeOffset StoreUntil { get; init; }

    public SmartSession ToPublic() => new(
        Id,
        Server,
        new Uri(FhirBaseUrl),
        Kind,
        Context is { } context ? SmartLaunchContext.FromTokenResponse(context) : SmartLaunchContext.Empty,
        SmartScope.ParseGranted(Scope),
        Subject,
        FhirUser,
        Claims.Select(c => new Claim(c.Type, c.Value, c.ValueType ?? ClaimValueTypes.String)).ToList(),
        ExpiresAt,
        RefreshToken is not null,
        StartedAt);

    public SmartSessionState Clone() => (SmartSessionState)MemberwiseClone();
}

/// <summary>A launch between <c>/launch</c> and <c>/callback</c> (stored protected, under a hash of its state).</summary>
internal sealed class PendingAuthorization
{
    public required string Server { get; init; }

    public SmartLaunchKind Kind { get; init; }

    /// <summary>The FHIR base sent as <c>aud</c>.</summary>
    public required string Audience { get; init; }

    /// <summary>A hash of the browser id the state was issued to.</summary>
    public required string Browser { get; init; }

    public required string CodeVerifier { get; init; }

    public string? Nonce { get; init; }

    public required string RedirectUri { get; init; }

    public required string ReturnUrl { get; init; }

    public required string Scope { get; init; }

    public DateTimeOffset ExpiresAt { get; init; }

    public bool Used { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(SmartSessionState))]
[JsonSerializable(typeof(PendingAuthorization))]
internal sealed partial class SmartStateJsonContext : JsonSerializerContext;
