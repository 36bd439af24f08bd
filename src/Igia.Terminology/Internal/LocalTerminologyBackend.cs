using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Content;
using Igia.Terminology.Engine;

namespace Igia.Terminology.Internal;

/// <summary>The local engine as a backend: waits for the start-up content, then runs the operation in process.</summary>
internal sealed class LocalTerminologyBackend(TerminologyEngine engine, TerminologyResources resources) : ITerminologyBackend
{
    public string Name => "local";

    public TerminologyEngine Engine => engine;

    /// <summary>True once the start-up content is loaded.</summary>
    public bool IsLoaded => resources.IsLoaded;

    public async Task<Resource> ExecuteAsync(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context, CancellationToken cancellationToken)
    {
        if (!resources.IsLoaded)
        {
            try
            {
                await resources.WhenLoadedAsync(cancellationToken).WaitAsync(engine.Options.LoadWaitTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw Error(HttpStatusCode.ServiceUnavailable, OperationOutcome.IssueType.Transient, "The terminology content is still loading; try again shortly.");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw Error(HttpStatusCode.ServiceUnavailable, OperationOutcome.IssueType.Exception, $"The terminology content failed to load: {e.GetBaseException().Message}");
            }
        }

        return Execute(operation, parameters, context);
    }

    private readonly ValidateCodeResultCache? _validateCodeCache = engine.Options.ValidateCodeCacheSize > 0 ? new(engine.Options.ValidateCodeCacheSize) : null;

    /// <summary>Runs an operation synchronously (the engine does no I/O once content is loaded).</summary>
    public Resource Execute(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context)
    {
        if (_validateCodeCache is not null && operation is TerminologyOperation.ValidateCode or TerminologyOperation.CodeSystemValidateCode
            && ValidateCodeResultCache.TryKeyOf(operation, parameters, context, out var key))
        {
            var generation = resources.Generation;
            if (_validateCodeCache.Get(key, generation) is { } remembered)
            {
                return remembered.ToParameters();
            }

            // The key lives in a per-thread buffer: keep it as a string while the engine runs.
            var keyText = key.ToString();
            var result = ExecuteUncached(operation, parameters, context);
            if (result is Parameters answer)
            {
                _validateCodeCache.Set(keyText, generation, answer);
            }

            return result;
        }

        return ExecuteUncached(operation, parameters, context);
    }

    /// <summary>
    /// ValueSet <c>$validate-code</c> of one code, typed (content loaded): a repeated request is answered with the remembered
    /// result as it is; otherwise the engine answers the equivalent Parameters request.
    /// </summary>
    public CodeValidationResult ValidateCode(string valueSetUrl, string system, string code, string? display, string? systemVersion)
    {
        if (_validateCodeCache is null)
        {
            return Uncached();
        }

        var generation = resources.Generation;
        var key = ValidateCodeResultCache.TypedKey(valueSetUrl, system, code, display, systemVersion);
        if (_validateCodeCache.Get(key, generation) is { } remembered)
        {
            return remembered;
        }

        // The key lives in a per-thread buffer: keep it as a string while the engine runs.
        var keyText = key.ToString();
        var result = Uncached();
        _validateCodeCache.Set(keyText, generation, result);
        return result;

        CodeValidationResult Uncached() => CodeValidationResult.Of((Parameters)ExecuteUncached(
            TerminologyOperation.ValidateCode, CodeValidationResult.Request(valueSetUrl, system, code, display, systemVersion), TerminologyCallContext.Default));
    }

    private Resource ExecuteUncached(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context)
    {
        try
        {
            return operation switch
            {
                TerminologyOperation.Expand => engine.Expand(parameters, context.Id, context.AcceptLanguage),
                TerminologyOperation.ValidateCode => engine.ValidateCode(parameters, context.Id, context.AcceptLanguage),
                TerminologyOperation.CodeSystemValidateCode => engine.ValidateCodeInCodeSystem(parameters, context.Id, context.AcceptLanguage),
                TerminologyOperation.Lookup => engine.Lookup(parameters, context.Id, context.AcceptLanguage),
                TerminologyOperation.Subsumes => engine.Subsumes(parameters, context.Id),
                TerminologyOperation.Translate => engine.Translate(parameters, context.Id),
                TerminologyOperation.BatchValidateCode => engine.BatchValidate(parameters, context.AcceptLanguage),
                _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown terminology operation."),
            };
        }
        catch (TxException e)
        {
            throw new TerminologyOperationException(e.Message, e.Status, e.ToOutcome());
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or ArgumentException or OverflowException)
        {
            throw Error(HttpStatusCode.BadRequest, OperationOutcome.IssueType.Invalid, $"The request could not be processed: {e.Message}");
        }
    }

    internal static TerminologyOperationException Error(HttpStatusCode status, OperationOutcome.IssueType type, string message) =>
        new(message, status, new OperationOutcome
        {
            Issue =
            [
                new OperationOutcome.IssueComponent
                {
                    Severity = OperationOutcome.IssueSeverity.Error,
                    Code = type,
                    Details = new CodeableConcept { Text = message },
                },
            ],
        });
}
