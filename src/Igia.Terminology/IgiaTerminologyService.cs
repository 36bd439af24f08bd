using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Terminology;
using Igia.Terminology.Internal;

namespace Igia.Terminology;

/// <summary>
/// The Igia terminology service: <c>$expand</c>, <c>$validate-code</c> (ValueSet and CodeSystem), <c>$lookup</c>,
/// <c>$subsumes</c>, <c>$translate</c> and batch validation, answered by the local engine or, where routing rules say so, a
/// remote terminology server. It implements Firely's <see cref="ITerminologyService"/>, so the Firely validator can use it
/// directly. Resolve it from DI after <c>AddIgiaTerminology()</c>.
/// </summary>
/// <remarks>
/// Errors are answers: an unknown value set, malformed parameters or a too large expansion surface as
/// <see cref="TerminologyOperationException"/> (a Firely <c>FhirOperationException</c>) carrying the HTTP status and the
/// OperationOutcome; a code that is not valid is a <c>result=false</c> Parameters, not an exception.
/// </remarks>
public sealed class IgiaTerminologyService : ITerminologyService
{
    private readonly TerminologyRouter _router;

    internal IgiaTerminologyService(TerminologyRouter router, ITerminologyContent content)
    {
        _router = router;
        Content = content;
    }

    /// <summary>The content of the local engine (add resources at run time, wait for start-up loading).</summary>
    public ITerminologyContent Content { get; }

    /// <summary>Runs any terminology operation with its FHIR Parameters, as the FHIR operation endpoints do.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="parameters">Its input parameters (as defined by the FHIR OperationDefinition, plus <c>tx-resource</c>).</param>
    /// <param name="context">The instance id, the Accept-Language; null for none.</param>
    /// <param name="cancellationToken">Stops waiting (for content loading or a remote server).</param>
    /// <returns>The result: a ValueSet for <c>$expand</c>, a Parameters otherwise.</returns>
    /// <exception cref="TerminologyOperationException">The request cannot be answered (unknown value set, invalid parameters, ...).</exception>
    public Task<Resource> ExecuteAsync(TerminologyOperation operation, Parameters parameters, TerminologyCallContext? context = null, CancellationToken cancellationToken = default) =>
        Execute<Resource>(operation, parameters, context, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// A repeated request is answered from memory: the Parameters and its parameter entries are new, the <c>issues</c>
    /// OperationOutcome (and any complex value) is shared with the remembered answer, so treat those as read-only (copy them
    /// with <c>DeepCopy()</c> to change them).
    /// </remarks>
    public Task<Parameters> ValueSetValidateCode(Parameters parameters, string? id = null, bool useGet = false) =>
        Execute<Parameters>(TerminologyOperation.ValidateCode, parameters, Context(id));

    /// <summary>
    /// ValueSet <c>$validate-code</c> of one code, typed: is <paramref name="code"/> of <paramref name="system"/> in the value
    /// set, with its display and code system version, or why not. The same check as <see cref="ValueSetValidateCode"/> with
    /// <c>url</c>, <c>system</c>, <c>code</c>, <c>display</c> and <c>systemVersion</c> (whose answer is
    /// <see cref="CodeValidationResult.ToParameters"/> of this result). With the content loaded and no remote routes, a
    /// repeated request completes synchronously with the remembered, immutable result, allocating nothing.
    /// </summary>
    /// <param name="valueSetUrl">The value set's canonical URL, optionally with <c>|version</c>; implicit value sets (<c>[system]?fhir_vs</c>) too.</param>
    /// <param name="system">The code system of the code.</param>
    /// <param name="code">The code.</param>
    /// <param name="display">A display to check against the code system's, or null.</param>
    /// <param name="systemVersion">The code system version to check against, or null for the value set's (or the latest).</param>
    /// <param name="cancellationToken">Stops waiting (for content loading or a remote server).</param>
    /// <returns>
    /// The result; an unknown code, a wrong display or an unknown code system is a result with <see cref="CodeValidationResult.Result"/>
    /// false and its issues, not an exception.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="valueSetUrl"/>, <paramref name="system"/> or <paramref name="code"/> is null or empty (thrown synchronously).</exception>
    /// <exception cref="TerminologyOperationException">
    /// The request cannot be answered: the value set is not known (<c>Status</c> 422, an OperationOutcome with a
    /// <c>not-found</c> issue), the content is still loading after <see cref="TerminologyOptions.LoadWaitTimeout"/> (503), ...
    /// </exception>
    public ValueTask<CodeValidationResult> ValidateCodeAsync(string valueSetUrl, string system, string code, string? display = null, string? systemVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(valueSetUrl);
        ArgumentException.ThrowIfNullOrEmpty(system);
        ArgumentException.ThrowIfNullOrEmpty(code);
        if (_router.AnswersLocallyNow)
        {
            try
            {
                return new ValueTask<CodeValidationResult>(_router.Local.ValidateCode(valueSetUrl, system, code, display, systemVersion));
            }
            catch (Exception e)
            {
                return ValueTask.FromException<CodeValidationResult>(e);
            }
        }

        // Not a local function: one capturing the parameters would allocate its closure on the synchronous path too.
        return ValidateCodeRoutedAsync(CodeValidationResult.Request(valueSetUrl, system, code, display, systemVersion), cancellationToken);
    }

    private async ValueTask<CodeValidationResult> ValidateCodeRoutedAsync(Parameters request, CancellationToken cancellationToken)
    {
        var answer = await _router.ExecuteAsync(TerminologyOperation.ValidateCode, request, TerminologyCallContext.Default, cancellationToken).ConfigureAwait(false);
        return CodeValidationResult.Of(As<Parameters>(TerminologyOperation.ValidateCode, answer));
    }

    /// <inheritdoc />
    /// <remarks>Repeated requests are answered from memory, as for <see cref="ValueSetValidateCode"/>.</remarks>
    public Task<Parameters> CodeSystemValidateCode(Parameters parameters, string? id = null, bool useGet = false) =>
        Execute<Parameters>(TerminologyOperation.CodeSystemValidateCode, parameters, Context(id));

    /// <inheritdoc />
    public Task<Resource> Expand(Parameters parameters, string? id = null, bool useGet = false) =>
        ExecuteAsync(TerminologyOperation.Expand, parameters, Context(id));

    /// <inheritdoc />
    public Task<Parameters> Lookup(Parameters parameters, bool useGet = false) =>
        Execute<Parameters>(TerminologyOperation.Lookup, parameters, null);

    /// <inheritdoc />
    public Task<Parameters> Translate(Parameters parameters, string? id = null, bool useGet = false) =>
        Execute<Parameters>(TerminologyOperation.Translate, parameters, Context(id));

    /// <inheritdoc />
    public Task<Parameters> Subsumes(Parameters parameters, string? id = null, bool useGet = false) =>
        Execute<Parameters>(TerminologyOperation.Subsumes, parameters, Context(id));

    /// <inheritdoc />
    /// <remarks><c>$closure</c> is not supported; this throws a <see cref="TerminologyOperationException"/> (501).</remarks>
    public Task<Resource> Closure(Parameters parameters, bool useGet = false) =>
        Task.FromException<Resource>(LocalTerminologyBackend.Error(System.Net.HttpStatusCode.NotImplemented, OperationOutcome.IssueType.NotSupported, "$closure is not supported by this terminology service."));

    /// <summary>Validates many codes against value sets in one call (<c>$batch-validate-code</c>).</summary>
    /// <param name="parameters">Shared parameters (e.g. <c>url</c>) and one <c>validation</c> parameter per code, holding its own Parameters.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>One <c>validation</c> parameter per input, holding the <c>$validate-code</c> result or an OperationOutcome.</returns>
    public Task<Parameters> BatchValidateCodeAsync(Parameters parameters, CancellationToken cancellationToken = default) =>
        Execute<Parameters>(TerminologyOperation.BatchValidateCode, parameters, null, cancellationToken);

    /// <summary>
    /// Runs an operation; with the content loaded and no remote routes the engine answers synchronously, so this returns one
    /// completed Task without the async machinery (the warm path of the Firely validator).
    /// </summary>
    private Task<T> Execute<T>(TerminologyOperation operation, Parameters parameters, TerminologyCallContext? context, CancellationToken cancellationToken = default)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(parameters);
        context ??= TerminologyCallContext.Default;
        if (_router.AnswersLocallyNow)
        {
            try
            {
                return Task.FromResult(As<T>(operation, _router.Local.Execute(operation, parameters, context)));
            }
            catch (Exception e)
            {
                return Task.FromException<T>(e);
            }
        }

        return Await(operation, _router.ExecuteAsync(operation, parameters, context, cancellationToken));

        static async Task<T> Await(TerminologyOperation operation, Task<Resource> task) => As<T>(operation, await task.ConfigureAwait(false));
    }

    private static T As<T>(TerminologyOperation operation, Resource result)
        where T : Resource =>
        result as T ?? throw new InvalidOperationException($"{operation} answered a {result.TypeName}.");

    private static TerminologyCallContext? Context(string? id) => id is null ? null : new TerminologyCallContext { Id = id };
}
