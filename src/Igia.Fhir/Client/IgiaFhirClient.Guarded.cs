using Hl7.Fhir.Rest;

namespace Igia.Fhir.Client;

// Every asynchronous interaction of Firely's client, wrapped so that the few failures Firely detects itself after the
// HTTP pipeline (a success status it did not expect, a body of another resource type, a body its parser rejects) also
// surface as FhirClientException. Transport, status, timeout and circuit failures are already FhirClientException when
// they reach Firely. Generated from the public surface of BaseFhirClient in Hl7.Fhir.Base 6.8; the synchronous (obsolete)
// methods call these. The non-virtual ones are hidden with 'new', so they are guarded when called through IgiaFhirClient.
public sealed partial class IgiaFhirClient
{
/// <inheritdoc />
    public override Task<TResource?> ConditionalCreateAsync<TResource>(TResource resource, global::Hl7.Fhir.Rest.SearchParams condition, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.ConditionalCreateAsync<TResource>(resource, condition, ct));

    /// <inheritdoc />
    public override Task ConditionalDeleteMultipleAsync(global::Hl7.Fhir.Rest.SearchParams condition, string? resourceType = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.ConditionalDeleteMultipleAsync(condition, resourceType, ct));

    /// <inheritdoc />
    public override Task ConditionalDeleteSingleAsync(global::Hl7.Fhir.Rest.SearchParams condition, string? resourceType = null, string? versionId = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.ConditionalDeleteSingleAsync(condition, resourceType, versionId, ct));

    /// <inheritdoc />
    public new Task<TResource?> ConditionalPatchAsync<TResource>(global::Hl7.Fhir.Rest.SearchParams condition, global::Hl7.Fhir.Model.Parameters patchParameters, global::System.Threading.CancellationToken? ct = null)
        where TResource : global::Hl7.Fhir.Model.Resource =>
        Guard(base.ConditionalPatchAsync<TResource>(condition, patchParameters, ct));

    /// <inheritdoc />
    public override Task<TResource?> ConditionalUpdateAsync<TResource>(TResource resource, global::Hl7.Fhir.Rest.SearchParams condition, bool versionAware = false, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.ConditionalUpdateAsync<TResource>(resource, condition, versionAware, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> ContinueAsync(global::Hl7.Fhir.Model.Bundle current, global::Hl7.Fhir.Rest.PageDirection direction = global::Hl7.Fhir.Rest.PageDirection.Next, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.ContinueAsync(current, direction, ct));

    /// <inheritdoc />
    public override Task<TResource?> CreateAsync<TResource>(TResource resource, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.CreateAsync<TResource>(resource, ct));

    /// <inheritdoc />
    public override Task DeleteAsync(global::System.Uri location, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteAsync(location, ct));

    /// <inheritdoc />
    public override Task DeleteAsync(string location, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteAsync(location, ct));

    /// <inheritdoc />
    public override Task DeleteAsync(global::Hl7.Fhir.Model.Resource resource, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteAsync(resource, ct));

    /// <inheritdoc />
    public new Task DeleteHistoryAsync(global::System.Uri location, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteHistoryAsync(location, ct));

    /// <inheritdoc />
    public new Task DeleteHistoryAsync(string location, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteHistoryAsync(location, ct));

    /// <inheritdoc />
    public new Task DeleteHistoryVersionAsync(global::System.Uri location, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteHistoryVersionAsync(location, ct));

    /// <inheritdoc />
    public new Task DeleteHistoryVersionAsync(string location, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.DeleteHistoryVersionAsync(location, ct));

    /// <inheritdoc />
    public new Task<global::Hl7.Fhir.Model.Resource?> GetAsync(global::System.Uri url, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.GetAsync(url, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> GetAsync(string url, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.GetAsync(url, ct));

    /// <inheritdoc />
    public new Task<global::Hl7.Fhir.Model.Bundle?> HistoryAsync(global::System.Uri location, global::System.DateTimeOffset? since = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.HistoryAsync(location, since, pageSize, summary, ct));

    /// <inheritdoc />
    public new Task<global::Hl7.Fhir.Model.Bundle?> HistoryAsync(string location, global::System.DateTimeOffset? since = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.HistoryAsync(location, since, pageSize, summary, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> InstanceOperationAsync(global::System.Uri location, string operationName, global::Hl7.Fhir.Model.Parameters? parameters = null, bool useGet = false, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.InstanceOperationAsync(location, operationName, parameters, useGet, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> InstanceOperationAsync(global::System.Uri location, string operationName, global::Hl7.Fhir.Model.Resource resourceBody, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.InstanceOperationAsync(location, operationName, resourceBody, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> OperationAsync(global::System.Uri location, string operationName, global::Hl7.Fhir.Model.Parameters? parameters = null, bool useGet = false, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.OperationAsync(location, operationName, parameters, useGet, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> OperationAsync(global::System.Uri location, string operationName, global::Hl7.Fhir.Model.Resource resourceBody, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.OperationAsync(location, operationName, resourceBody, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> OperationAsync(global::System.Uri operation, global::Hl7.Fhir.Model.Parameters? parameters = null, bool useGet = false, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.OperationAsync(operation, parameters, useGet, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> OperationAsync(global::System.Uri operation, global::Hl7.Fhir.Model.Resource resourceBody, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.OperationAsync(operation, resourceBody, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> PatchAsync(global::System.Uri location, global::Hl7.Fhir.Model.Parameters patchParameters, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.PatchAsync(location, patchParameters, ct));

    /// <inheritdoc />
    public override Task<TResource?> PatchAsync<TResource>(string id, global::Hl7.Fhir.Model.Parameters patchParameters, string? versionId = null, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.PatchAsync<TResource>(id, patchParameters, versionId, ct));

    /// <inheritdoc />
    public override Task<TResource?> PatchAsync<TResource>(string id, string patchDocument, global::Hl7.Fhir.Rest.ResourceFormat format, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.PatchAsync<TResource>(id, patchDocument, format, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> ProcessMessageAsync(global::Hl7.Fhir.Model.Bundle bundle, bool async = false, string? responseUrl = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.ProcessMessageAsync(bundle, async, responseUrl, ct));

    /// <inheritdoc />
    public override Task<TResource?> ReadAsync<TResource>(global::System.Uri location, string? ifNoneMatch = null, global::System.DateTimeOffset? ifModifiedSince = null, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.ReadAsync<TResource>(location, ifNoneMatch, ifModifiedSince, ct));

    /// <inheritdoc />
    public override Task<TResource?> ReadAsync<TResource>(string location, string? ifNoneMatch = null, global::System.DateTimeOffset? ifModifiedSince = null, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.ReadAsync<TResource>(location, ifNoneMatch, ifModifiedSince, ct));

    /// <inheritdoc />
    public override Task<TResource?> RefreshAsync<TResource>(TResource current, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.RefreshAsync<TResource>(current, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchAsync(global::Hl7.Fhir.Rest.SearchParams q, string? resourceType = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchAsync(q, resourceType, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchAsync<TResource>(global::Hl7.Fhir.Rest.SearchParams q, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchAsync<TResource>(q, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchAsync<TResource>(string[]? criteria, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, global::Hl7.Fhir.Rest.SummaryType? summary, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchAsync<TResource>(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchAsync<TResource>(string[]? criteria = null, string[]? includes = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchAsync<TResource>(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchAsync(string resource, string[]? criteria, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, global::Hl7.Fhir.Rest.SummaryType? summary, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchAsync(resource, criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchAsync(string resource, string[]? criteria = null, string[]? includes = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchAsync(resource, criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdAsync<TResource>(string id, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdAsync<TResource>(id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdAsync<TResource>(string id, string[]? includes = null, int? pageSize = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdAsync<TResource>(id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdAsync(string resource, string id, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdAsync(resource, id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdAsync(string resource, string id, string[]? includes = null, int? pageSize = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdAsync(resource, id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdUsingPostAsync<TResource>(string id, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdUsingPostAsync<TResource>(id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdUsingPostAsync<TResource>(string id, string[]? includes = null, int? pageSize = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdUsingPostAsync<TResource>(id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdUsingPostAsync(string resource, string id, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdUsingPostAsync(resource, id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchByIdUsingPostAsync(string resource, string id, string[]? includes = null, int? pageSize = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchByIdUsingPostAsync(resource, id, includes, pageSize, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchUsingPostAsync(global::Hl7.Fhir.Rest.SearchParams q, string? resourceType = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchUsingPostAsync(q, resourceType, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchUsingPostAsync<TResource>(global::Hl7.Fhir.Rest.SearchParams q, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchUsingPostAsync<TResource>(q, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchUsingPostAsync<TResource>(string[]? criteria, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, global::Hl7.Fhir.Rest.SummaryType? summary, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchUsingPostAsync<TResource>(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchUsingPostAsync<TResource>(string[]? criteria = null, string[]? includes = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchUsingPostAsync<TResource>(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchUsingPostAsync(string resource, string[]? criteria, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, global::Hl7.Fhir.Rest.SummaryType? summary, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchUsingPostAsync(resource, criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> SearchUsingPostAsync(string resource, string[]? criteria = null, string[]? includes = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.SearchUsingPostAsync(resource, criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public new Task<global::Hl7.Fhir.Model.Bundle?> TypeHistoryAsync(string resourceType, global::System.DateTimeOffset? since = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.TypeHistoryAsync(resourceType, since, pageSize, summary, ct));

    /// <inheritdoc />
    public new Task<global::Hl7.Fhir.Model.Bundle?> TypeHistoryAsync<TResource>(global::System.DateTimeOffset? since = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, global::System.Threading.CancellationToken? ct = null)
        where TResource : global::Hl7.Fhir.Model.Resource, new() =>
        Guard(base.TypeHistoryAsync<TResource>(since, pageSize, summary, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> TypeOperationAsync<TResource>(string operationName, global::Hl7.Fhir.Model.Parameters? parameters = null, bool useGet = false, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.TypeOperationAsync<TResource>(operationName, parameters, useGet, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> TypeOperationAsync<TResource>(string operationName, TResource resourceBody, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.TypeOperationAsync<TResource>(operationName, resourceBody, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> TypeOperationAsync(string operationName, global::Hl7.Fhir.Model.Resource resourceBody, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.TypeOperationAsync(operationName, resourceBody, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> TypeOperationAsync(string operationName, string typeName, global::Hl7.Fhir.Model.Parameters? parameters = null, bool useGet = false, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.TypeOperationAsync(operationName, typeName, parameters, useGet, ct));

    /// <inheritdoc />
    public override Task<TResource?> UpdateAsync<TResource>(TResource resource, bool versionAware = false, global::System.Threading.CancellationToken? ct = null)
        where TResource : class =>
        Guard(base.UpdateAsync<TResource>(resource, versionAware, ct));

    /// <inheritdoc />
    public new Task<global::Hl7.Fhir.Model.Bundle?> WholeSystemHistoryAsync(global::System.DateTimeOffset? since = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemHistoryAsync(since, pageSize, summary, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> WholeSystemOperationAsync(string operationName, global::Hl7.Fhir.Model.Parameters? parameters = null, bool useGet = false, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemOperationAsync(operationName, parameters, useGet, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Resource?> WholeSystemOperationAsync(string operationName, global::Hl7.Fhir.Model.Resource resourceBody, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemOperationAsync(operationName, resourceBody, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> WholeSystemSearchAsync(string[]? criteria, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, global::Hl7.Fhir.Rest.SummaryType? summary, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemSearchAsync(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> WholeSystemSearchAsync(string[]? criteria = null, string[]? includes = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemSearchAsync(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> WholeSystemSearchUsingPostAsync(string[]? criteria, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? includes, int? pageSize, global::Hl7.Fhir.Rest.SummaryType? summary, (string, global::Hl7.Fhir.Rest.IncludeModifier)[]? revIncludes, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemSearchUsingPostAsync(criteria, includes, pageSize, summary, revIncludes, ct));

    /// <inheritdoc />
    public override Task<global::Hl7.Fhir.Model.Bundle?> WholeSystemSearchUsingPostAsync(string[]? criteria = null, string[]? includes = null, int? pageSize = null, global::Hl7.Fhir.Rest.SummaryType? summary = null, string[]? revIncludes = null, global::System.Threading.CancellationToken? ct = null) =>
        Guard(base.WholeSystemSearchUsingPostAsync(criteria, includes, pageSize, summary, revIncludes, ct));
}
