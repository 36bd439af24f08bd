using System.Net;
using System.Runtime.CompilerServices;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client.Internal;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Client;

/// <summary>
/// A Firely <see cref="FhirClient"/> created by <see cref="IIgiaFhirClientFactory"/> (or injected as a typed client) over a pooled
/// <see cref="HttpClient"/> from <c>IHttpClientFactory</c>, with retries of safe requests, timeouts, a circuit breaker, access
/// tokens, traces and metrics, and every failure surfaced as a <see cref="FhirClientException"/>. It adds async paging,
/// read-modify-write with ETags, conditional writes that report what happened, transaction/batch building and operations.
/// </summary>
/// <remarks>
/// Instances are cheap: create one per unit of work (or per request in ASP.NET Core); the registration behind them (handlers,
/// circuit breaker, token provider) is shared and safe from any number of tasks. The helpers of this class may also be called
/// concurrently on one instance; only Firely's <c>LastResult</c>/<c>LastBody*</c> properties then describe whichever call ended last.
/// </remarks>
public sealed partial class IgiaFhirClient : FhirClient
{
    private readonly IgiaFhirClientOptions _options;
    private readonly HttpClient _httpClient;
    private readonly ILogger _logger;

    internal IgiaFhirClient(string name, IgiaFhirClientOptions options, HttpClient httpClient, FhirClientSettings settings, ILogger logger)
        : base(options.BaseUrl!, httpClient, settings)
    {
        Name = name;
        _options = options;
        _httpClient = httpClient;
        _logger = logger;
    }

    /// <summary>The name this client was registered under.</summary>
    public string Name { get; }

    // ---- paging ---------------------------------------------------------------------------------

    /// <summary>
    /// Searches <typeparamref name="TResource"/> and yields every matching resource across all pages, fetching the next page
    /// (following the server's <c>next</c> link) only when the previous one has been consumed. Resources added by
    /// <c>_include</c> are not yielded; use <see cref="SearchPagesAsync{TResource}(SearchParams?, CancellationToken)"/> for those.
    /// </summary>
    /// <param name="query">The search parameters (all resources of the type when null).</param>
    /// <param name="cancellationToken">Stops the enumeration (also honoured through <c>WithCancellation</c>).</param>
    public IAsyncEnumerable<TResource> SearchAllAsync<TResource>(SearchParams? query = null, CancellationToken cancellationToken = default)
        where TResource : Resource =>
        SearchAllAsync<TResource>(TypeNameOf<TResource>(), query, cancellationToken);

    /// <summary>As <see cref="SearchAllAsync{TResource}(SearchParams?, CancellationToken)"/>, naming the resource type searched (e.g. to search <c>Observation</c> as <see cref="Resource"/>).</summary>
    /// <param name="resourceType">The FHIR resource type to search.</param>
    /// <param name="query">The search parameters (all resources of the type when null).</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public async IAsyncEnumerable<TResource> SearchAllAsync<TResource>(string resourceType, SearchParams? query = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TResource : Resource
    {
        await foreach (var page in SearchPagesAsync<TResource>(resourceType, query, cancellationToken).ConfigureAwait(false))
        {
            foreach (var match in page.Matches)
            {
                yield return match;
            }
        }
    }

    /// <summary>
    /// Searches <typeparamref name="TResource"/> and yields the result pages one by one, each with its Bundle and with the
    /// matched resources kept apart from the <c>_include</c>d ones. The next page is fetched only when asked for.
    /// </summary>
    /// <param name="query">The search parameters (all resources of the type when null).</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public IAsyncEnumerable<FhirSearchPage<TResource>> SearchPagesAsync<TResource>(SearchParams? query = null, CancellationToken cancellationToken = default)
        where TResource : Resource =>
        SearchPagesAsync<TResource>(TypeNameOf<TResource>(), query, cancellationToken);

    /// <summary>As <see cref="SearchPagesAsync{TResource}(SearchParams?, CancellationToken)"/>, naming the resource type searched.</summary>
    /// <param name="resourceType">The FHIR resource type to search.</param>
    /// <param name="query">The search parameters (all resources of the type when null).</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public async IAsyncEnumerable<FhirSearchPage<TResource>> SearchPagesAsync<TResource>(string resourceType, SearchParams? query = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TResource : Resource
    {
        RequireResourceType(resourceType);
        Bundle? first;
        using (FhirCallContext.Begin(new FhirCallContext { Interaction = "search-type", ResourceType = resourceType }))
        {
            first = _options.SearchUsingPost
                ? await SearchUsingPostAsync(query ?? new SearchParams(), resourceType, cancellationToken).ConfigureAwait(false)
                : await SearchAsync(query ?? new SearchParams(), resourceType, cancellationToken).ConfigureAwait(false);
        }

        if (first is null)
        {
            throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"The search of {resourceType} returned no Bundle.") { Interaction = "search-type", ResourceType = resourceType };
        }

        var number = 0;
        await foreach (var bundle in FollowAsync(first, "search-type", resourceType, cancellationToken).ConfigureAwait(false))
        {
            yield return new FhirSearchPage<TResource>(bundle, number++);
        }
    }

    /// <summary>
    /// Yields <paramref name="firstPage"/> and then each page its <c>next</c> links lead to, fetched lazily — for any paged
    /// Bundle: a search, a history, or the result of <c>$everything</c>.
    /// </summary>
    /// <param name="firstPage">The page already received.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public IAsyncEnumerable<Bundle> PagesAsync(Bundle firstPage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(firstPage);
        return FollowAsync(firstPage, null, null, cancellationToken);
    }

    private async IAsyncEnumerable<Bundle> FollowAsync(Bundle first, string? interaction, string? resourceType, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var followed = new HashSet<string>(StringComparer.Ordinal);
        Bundle? page = first;
        while (page is not null)
        {
            yield return page;
            cancellationToken.ThrowIfCancellationRequested();
            if (page.NextLink is not { } next)
            {
                yield break;
            }

            if (!followed.Add(next.OriginalString))
            {
                throw new FhirClientException(FhirClientErrorKind.InvalidResponse, "The server returned a 'next' link that was already followed; paging stopped to avoid an endless loop.")
                {
                    Interaction = interaction,
                    ResourceType = resourceType,
                };
            }

            using (FhirCallContext.Begin(new FhirCallContext { Interaction = interaction, ResourceType = resourceType }))
            {
                page = await ContinueAsync(page, PageDirection.Next, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // ---- read-modify-write ----------------------------------------------------------------------

    /// <summary>
    /// Reads <typeparamref name="TResource"/> <paramref name="id"/>, applies <paramref name="mutate"/> and writes it back with
    /// <c>If-Match</c> on the version read. When someone else changed it in between (412 or 409), it reads it again and
    /// re-applies <paramref name="mutate"/>, up to <see cref="IgiaFhirClientOptions.MaxUpdateAttempts"/> times.
    /// </summary>
    /// <param name="id">The logical id.</param>
    /// <param name="mutate">The change; it may run more than once, each time on the freshly read resource.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The resource as stored (or, under <c>Prefer: return=minimal</c>, the mutated resource with its new version id).</returns>
    public async Task<TResource> UpdateWithRetryAsync<TResource>(string id, Action<TResource> mutate, CancellationToken cancellationToken = default)
        where TResource : Resource
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(mutate);
        var type = TypeNameOf<TResource>();
        var location = $"{type}/{Uri.EscapeDataString(id)}";
        var maxAttempts = _options.MaxUpdateAttempts;
        for (var attempt = 1; ; attempt++)
        {
            var read = new FhirCallContext();
            TResource current;
            using (FhirCallContext.Begin(read))
            {
                current = await ReadAsync<TResource>(location, ct: cancellationToken).ConfigureAwait(false)
                    ?? throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"The read of {type} returned no resource, so there is nothing to update.") { Interaction = "read", ResourceType = type };
            }

            var version = current.Meta?.VersionId ?? read.VersionId
                ?? throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"The server returned {type} without a version (no meta.versionId, no ETag), so a version-aware update is impossible.") { Interaction = "read", ResourceType = type };

            mutate(current);
            current.Id = id;
            current.Meta ??= new Meta();
            current.Meta.VersionId = version;

            var write = new FhirCallContext();
            try
            {
                using (FhirCallContext.Begin(write))
                {
                    var updated = await UpdateAsync(current, versionAware: true, cancellationToken).ConfigureAwait(false);
                    if (updated is not null)
                    {
                        return updated;
                    }
                }

                current.Meta.VersionId = write.VersionId ?? current.Meta.VersionId;
                return current;
            }
            catch (FhirClientException e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
            {
                if (attempt >= maxAttempts)
                {
                    throw new FhirClientException(
                        FhirClientErrorKind.HttpError,
                        $"The update of {type} still conflicted with concurrent changes after {attempt} attempt{(attempt == 1 ? "" : "s")} (last answer {(int)e.StatusCode!.Value}).",
                        e.StatusCode,
                        e.Outcome,
                        e)
                    { Interaction = "update", ResourceType = type, Attempts = attempt };
                }

                _logger.LogDebug("FHIR client {Client}: update of {ResourceType} conflicted ({StatusCode}); re-reading (attempt {Attempt} of {MaxAttempts})", Name, type, (int)e.StatusCode!.Value, attempt + 1, maxAttempts);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // ---- conditional interactions -------------------------------------------------------------

    /// <summary>
    /// Creates <paramref name="resource"/> unless a resource matching <paramref name="condition"/> exists (<c>If-None-Exist</c>).
    /// Safe to retry, so it is retried on transient failures.
    /// </summary>
    /// <param name="resource">The resource to create.</param>
    /// <param name="condition">The search that must match nothing (e.g. an identifier).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created or the existing resource, with <see cref="FhirWriteResult{TResource}.Created"/> telling which.</returns>
    /// <exception cref="FhirClientException">412 when the condition matched more than one resource.</exception>
    public async Task<FhirWriteResult<TResource>> CreateIfNoneExistAsync<TResource>(TResource resource, SearchParams condition, CancellationToken cancellationToken = default)
        where TResource : Resource
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(condition);
        var call = new FhirCallContext();
        TResource? result;
        using (FhirCallContext.Begin(call))
        {
            result = await ConditionalCreateAsync(resource, condition, cancellationToken).ConfigureAwait(false);
        }

        return new FhirWriteResult<TResource>(result, call.Status ?? HttpStatusCode.OK, call.VersionId ?? result?.Meta?.VersionId, call.Location);
    }

    /// <summary>
    /// Updates the one resource matching <paramref name="condition"/> with <paramref name="resource"/>, or creates it when none
    /// matches (conditional update, <c>PUT [type]?criteria</c>). Not retried on transient failures.
    /// </summary>
    /// <param name="resource">The new content.</param>
    /// <param name="condition">The search that identifies the resource (e.g. an identifier).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="FhirClientException">412 when the condition matched more than one resource.</exception>
    public async Task<FhirWriteResult<TResource>> UpdateWhereAsync<TResource>(TResource resource, SearchParams condition, CancellationToken cancellationToken = default)
        where TResource : Resource
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(condition);
        var call = new FhirCallContext();
        TResource? result;
        using (FhirCallContext.Begin(call))
        {
            result = await ConditionalUpdateAsync(resource, condition, versionAware: false, cancellationToken).ConfigureAwait(false);
        }

        return new FhirWriteResult<TResource>(result, call.Status ?? HttpStatusCode.OK, call.VersionId ?? result?.Meta?.VersionId, call.Location);
    }

    /// <summary>Deletes the resource(s) of <typeparamref name="TResource"/> matching <paramref name="condition"/> (conditional delete). Not retried.</summary>
    /// <param name="condition">The search that selects what to delete.</param>
    /// <param name="allowMultiple">True to delete every match; false (the default) lets the server refuse when more than one matches.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task DeleteWhereAsync<TResource>(SearchParams condition, bool allowMultiple = false, CancellationToken cancellationToken = default)
        where TResource : Resource
    {
        ArgumentNullException.ThrowIfNull(condition);
        var type = TypeNameOf<TResource>();
        return allowMultiple
            ? ConditionalDeleteMultipleAsync(condition, type, cancellationToken)
            : ConditionalDeleteSingleAsync(condition, type, null, cancellationToken);
    }

    // ---- batch and transaction ----------------------------------------------------------------

    /// <summary>A Firely <see cref="TransactionBuilder"/> for this client's base URL.</summary>
    /// <param name="type">Transaction (all or nothing, the default) or batch (each entry on its own).</param>
    public TransactionBuilder CreateTransactionBuilder(Bundle.BundleType type = Bundle.BundleType.Transaction) =>
        type is Bundle.BundleType.Transaction or Bundle.BundleType.Batch
            ? new TransactionBuilder(Endpoint, type)
            : throw new ArgumentOutOfRangeException(nameof(type), type, "Only transaction and batch Bundles can be sent.");

    /// <summary>Builds a transaction with Firely's <see cref="TransactionBuilder"/> and sends it. It is all or nothing, and never retried.</summary>
    /// <param name="build">Adds the entries (e.g. <c>b =&gt; b.Create(patient).Update(...)</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The transaction-response Bundle.</returns>
    public Task<Bundle> TransactionAsync(Action<TransactionBuilder> build, CancellationToken cancellationToken = default) =>
        SendBundleAsync(Bundle.BundleType.Transaction, build, cancellationToken);

    /// <summary>Builds a batch with Firely's <see cref="TransactionBuilder"/> and sends it. Entries succeed or fail one by one (see each <c>entry.response.status</c>); never retried.</summary>
    /// <param name="build">Adds the entries.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The batch-response Bundle.</returns>
    public Task<Bundle> BatchAsync(Action<TransactionBuilder> build, CancellationToken cancellationToken = default) =>
        SendBundleAsync(Bundle.BundleType.Batch, build, cancellationToken);

    /// <summary>Sends a batch or transaction Bundle (as Firely's method does, tagging the interaction as batch or transaction). Never retried.</summary>
    /// <param name="bundle">A Bundle of type batch or transaction.</param>
    /// <param name="ct">Cancels the request.</param>
    public new Task<Bundle?> TransactionAsync(Bundle bundle, CancellationToken? ct = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        return Send();

        async Task<Bundle?> Send()
        {
            using (FhirCallContext.Begin(new FhirCallContext { Interaction = bundle.Type == Bundle.BundleType.Batch ? "batch" : "transaction" }))
            {
                return await Guard(base.TransactionAsync(bundle, ct)).ConfigureAwait(false);
            }
        }
    }

    private async Task<Bundle> SendBundleAsync(Bundle.BundleType type, Action<TransactionBuilder> build, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        var builder = CreateTransactionBuilder(type);
        build(builder);
        var bundle = builder.ToBundle();
        var label = type == Bundle.BundleType.Batch ? "batch" : "transaction";
        return await TransactionAsync(bundle, cancellationToken).ConfigureAwait(false)
            ?? throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"The {label} returned no Bundle.") { Interaction = label };
    }

    // ---- operations ---------------------------------------------------------------------------

    /// <summary>
    /// Invokes <c>Patient/[id]/$everything</c> and returns the first page; follow the rest with <see cref="PagesAsync(Bundle, CancellationToken)"/>.
    /// Sent by GET when every parameter is a simple value, otherwise by POST; retried on transient failures either way.
    /// </summary>
    /// <param name="patientId">The patient's logical id.</param>
    /// <param name="parameters">Optional input (<c>start</c>, <c>end</c>, <c>_since</c>, <c>_type</c>, <c>_count</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<Bundle> EverythingAsync(string patientId, Parameters? parameters = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(patientId);
        var result = await InvokeOperationAsync("everything", parameters, "Patient", patientId, useGet: CanUseGet(parameters), cancellationToken).ConfigureAwait(false);
        return result as Bundle
            ?? throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"$everything returned {(result is null ? "nothing" : "a " + result.TypeName)} where a Bundle was expected.") { Interaction = "operation", ResourceType = "Patient" };
    }

    /// <summary>
    /// Invokes <c>[type]/$validate</c> for <paramref name="resource"/> and returns the server's OperationOutcome — also when the
    /// server answers 400, 412 or 422 with one (the resource is invalid), so that the issues can be inspected rather than caught.
    /// </summary>
    /// <param name="resource">The resource to validate.</param>
    /// <param name="profile">Optional canonical URL of a profile to validate against.</param>
    /// <param name="mode">Optional mode: <c>create</c>, <c>update</c> or <c>delete</c>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<OperationOutcome> ValidateAsync(Resource resource, string? profile = null, string? mode = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var input = new Parameters();
        input.Parameter.Add(new Parameters.ParameterComponent { Name = "resource", Resource = resource });
        if (mode is not null)
        {
            input.Add("mode", new Code(mode));
        }

        if (profile is not null)
        {
            input.Add("profile", new FhirUri(profile));
        }

        Resource? result;
        try
        {
            result = await InvokeOperationAsync("validate", input, resource.TypeName, null, useGet: false, cancellationToken).ConfigureAwait(false);
        }
        catch (FhirClientException e) when (e.Outcome is not null && e.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.PreconditionFailed or HttpStatusCode.UnprocessableEntity)
        {
            return e.Outcome;
        }

        return result switch
        {
            OperationOutcome outcome => outcome,
            Parameters p when p.Parameter.FirstOrDefault(x => x.Name == "return")?.Resource is OperationOutcome wrapped => wrapped,
            _ => throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"$validate returned {(result is null ? "nothing" : "a " + result.TypeName)} where an OperationOutcome was expected.") { Interaction = "operation", ResourceType = resource.TypeName },
        };
    }

    /// <summary>
    /// Invokes the operation <c>$<paramref name="name"/></c> at system level, on a resource type, or on one resource.
    /// A POST is retried only when the operation is listed in <see cref="FhirClientRetryOptions.SafeOperations"/>; a GET always is.
    /// </summary>
    /// <param name="name">The operation name, with or without <c>$</c>.</param>
    /// <param name="parameters">The input Parameters, if any.</param>
    /// <param name="resourceType">The resource type for a type- or instance-level operation.</param>
    /// <param name="id">The logical id for an instance-level operation.</param>
    /// <param name="useGet">Invoke by GET (only for operations that change nothing, with simple parameters).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The operation's output resource (often a Parameters), or null when it returned none.</returns>
    public Task<Resource?> InvokeOperationAsync(string name, Parameters? parameters = null, string? resourceType = null, string? id = null, bool useGet = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var operation = name.StartsWith('$') ? name[1..] : name;
        if (operation.Length == 0 || !operation.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"'{name}' is not a valid operation name.", nameof(name));
        }

        if (id is not null && resourceType is null)
        {
            throw new ArgumentException("An instance-level operation needs the resource type as well as the id.", nameof(resourceType));
        }

        if (resourceType is not null)
        {
            RequireResourceType(resourceType);
        }

        if (resourceType is null)
        {
            return WholeSystemOperationAsync(operation, parameters, useGet, cancellationToken);
        }

        return id is null
            ? TypeOperationAsync(operation, resourceType, parameters, useGet, cancellationToken)
            : InstanceOperationAsync(new Uri($"{resourceType}/{Uri.EscapeDataString(id)}", UriKind.Relative), operation, parameters, useGet, cancellationToken);
    }

    /// <summary>
    /// As <see cref="InvokeOperationAsync(string, Parameters?, string?, string?, bool, CancellationToken)"/>, expecting a
    /// <typeparamref name="TResult"/>: returned directly, or unwrapped from a Parameters whose single <c>return</c> parameter holds it.
    /// </summary>
    /// <param name="name">The operation name, with or without <c>$</c>.</param>
    /// <param name="parameters">The input Parameters, if any.</param>
    /// <param name="resourceType">The resource type for a type- or instance-level operation.</param>
    /// <param name="id">The logical id for an instance-level operation.</param>
    /// <param name="useGet">Invoke by GET.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result, or null when the operation returned nothing.</returns>
    public async Task<TResult?> InvokeOperationAsync<TResult>(string name, Parameters? parameters = null, string? resourceType = null, string? id = null, bool useGet = false, CancellationToken cancellationToken = default)
        where TResult : Resource
    {
        var result = await InvokeOperationAsync(name, parameters, resourceType, id, useGet, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            null => null,
            TResult typed => typed,
            Parameters p when p.Parameter.Count(x => x.Name == "return") == 1 && p.Parameter.First(x => x.Name == "return").Resource is TResult inner => inner,
            _ => throw new FhirClientException(FhirClientErrorKind.InvalidResponse, $"${name.TrimStart('$')} returned a {result.TypeName} where a {typeof(TResult).Name} was expected.") { Interaction = "operation", ResourceType = resourceType },
        };
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !disposedValue)
        {
            _httpClient.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Turns the few failures Firely detects itself (an unexpected status or body type) into <see cref="FhirClientException"/>.</summary>
    private static async Task<T> Guard<T>(Task<T> task)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (FhirOperationException e) when (e is not FhirClientException)
        {
            throw new FhirClientException(FhirClientErrorKind.InvalidResponse, e.Message, e.Status == 0 ? null : e.Status, e.Outcome, e);
        }
    }

    private static async Task Guard(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (FhirOperationException e) when (e is not FhirClientException)
        {
            throw new FhirClientException(FhirClientErrorKind.InvalidResponse, e.Message, e.Status == 0 ? null : e.Status, e.Outcome, e);
        }
    }

    private static bool CanUseGet(Parameters? parameters) =>
        parameters is null || parameters.Parameter.All(p => p.Resource is null && p.Part.Count == 0 && p.Value is PrimitiveType);

    private static string TypeNameOf<TResource>()
        where TResource : Resource
    {
        var type = typeof(TResource);
        var name = type.IsAbstract ? null : ModelInfo.GetFhirTypeNameForType(type);
        return name is not null && ModelInfo.IsKnownResource(name)
            ? name
            : throw new ArgumentException($"{type.Name} is not a concrete FHIR resource type; use the overload that takes the resource type name.", nameof(TResource));
    }

    private static void RequireResourceType(string resourceType)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resourceType);
        if (!ModelInfo.IsKnownResource(resourceType) || resourceType is "Resource" or "DomainResource")
        {
            throw new ArgumentException($"'{resourceType}' is not a FHIR R4 resource type.", nameof(resourceType));
        }
    }
}
