using System.Net;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// Flows from an <see cref="IgiaFhirClient"/> helper to the handlers of the HTTP pipeline through an <see cref="AsyncLocal{T}"/>:
/// a hint of the interaction (for telemetry, when the URL alone cannot tell) going down, and the status and headers of the
/// response coming back up — without touching Firely's shared <c>LastResult</c>, so that concurrent calls on one client stay apart.
/// </summary>
internal sealed class FhirCallContext
{
    private static readonly AsyncLocal<FhirCallContext?> Slot = new();

    /// <summary>The context of the current call, if a helper started one.</summary>
    public static FhirCallContext? Current => Slot.Value;

    /// <summary>The interaction of the first request of the call (e.g. <c>search-type</c> for a continuation link).</summary>
    public string? Interaction { get; init; }

    /// <summary>The resource type of the first request of the call.</summary>
    public string? ResourceType { get; init; }

    /// <summary>Whether the hints were used (they describe the first request only).</summary>
    public bool HintUsed { get; set; }

    /// <summary>The status of the first successful response.</summary>
    public HttpStatusCode? Status { get; private set; }

    /// <summary>The version id from the <c>ETag</c> of the first successful response.</summary>
    public string? VersionId { get; private set; }

    /// <summary>The <c>Location</c> (or <c>Content-Location</c>) of the first successful response.</summary>
    public Uri? Location { get; private set; }

    /// <summary>Makes <paramref name="context"/> current until the returned scope is disposed.</summary>
    public static Scope Begin(FhirCallContext context)
    {
        var previous = Slot.Value;
        Slot.Value = context;
        return new Scope(previous);
    }

    /// <summary>Records the first successful response.</summary>
    public void Capture(HttpResponseMessage response)
    {
        if (Status is not null)
        {
            return;
        }

        Status = response.StatusCode;
        VersionId = VersionFromETag(response.Headers.ETag?.Tag);
        Location = response.Headers.Location ?? response.Content.Headers.ContentLocation;
    }

    /// <summary>The version in an entity tag such as <c>W/"3"</c> (already stripped of <c>W/</c> by the header parser) or <c>"3"</c>.</summary>
    public static string? VersionFromETag(string? tag)
    {
        if (string.IsNullOrEmpty(tag))
        {
            return null;
        }

        var t = tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
        t = t.Trim('"');
        return t.Length == 0 ? null : t;
    }

    /// <summary>Restores the previous context.</summary>
    public readonly struct Scope(FhirCallContext? previous) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => Slot.Value = previous;
    }
}
