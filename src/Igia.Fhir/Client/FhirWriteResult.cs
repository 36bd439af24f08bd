using System.Net;
using Hl7.Fhir.Model;

namespace Igia.Fhir.Client;

/// <summary>The result of a conditional create or update: the resource and what the server did.</summary>
/// <typeparam name="TResource">The resource type.</typeparam>
/// <param name="Resource">The resource as the server returned it, or null under <c>Prefer: return=minimal</c>.</param>
/// <param name="Status">The HTTP status: 201 when a resource was created, 200 when one existed or was updated.</param>
/// <param name="VersionId">The version id from the <c>ETag</c>, if any.</param>
/// <param name="Location">The <c>Location</c> (or <c>Content-Location</c>) the server gave, if any.</param>
public sealed record FhirWriteResult<TResource>(TResource? Resource, HttpStatusCode Status, string? VersionId, Uri? Location)
    where TResource : Resource
{
    /// <summary>True when the server created a new resource (201).</summary>
    public bool Created => Status == HttpStatusCode.Created;
}
