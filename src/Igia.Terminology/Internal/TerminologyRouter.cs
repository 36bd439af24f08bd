using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Engine;
using Microsoft.Extensions.Logging;

namespace Igia.Terminology.Internal;

/// <summary>A rule that sends some requests to a backend other than the local engine.</summary>
internal sealed record TerminologyRoute(ITerminologyBackend Backend, Func<TerminologyRequestSubject, bool> Matches, bool FallbackToLocal);

/// <summary>What a request is about, for routing: the code systems and value sets it names.</summary>
internal sealed record TerminologyRequestSubject(IReadOnlyCollection<string> Systems, IReadOnlyCollection<string> ValueSets)
{
    public static TerminologyRequestSubject From(Parameters parameters, TerminologyOperation operation = TerminologyOperation.ValidateCode)
    {
        // On CodeSystem operations the url (and codeSystem) name a code system, not a value set.
        var urlIsCodeSystem = operation is TerminologyOperation.CodeSystemValidateCode or TerminologyOperation.Lookup or TerminologyOperation.Subsumes;
        var systems = new HashSet<string>(StringComparer.Ordinal);
        var valueSets = new HashSet<string>(StringComparer.Ordinal);
        void Visit(Parameters p)
        {
            foreach (var x in p.Parameter)
            {
                switch (x.Name)
                {
                    case "system" or "sourceSystem" or "targetSystem" or "targetsystem" when x.Value.Text() is { } sys:
                        systems.Add(sys);
                        break;
                    case "url" when urlIsCodeSystem && x.Value.Text() is { } csUrl:
                        systems.Add(Engine.Versions.SplitCanonical(csUrl).Url);
                        break;
                    case "codeSystem" when x.Resource is CodeSystem cs && cs.Url is not null:
                        systems.Add(cs.Url);
                        break;
                    case "url" or "valueSet" or "context" when x.Value.Text() is { } url:
                        valueSets.Add(Engine.Versions.SplitCanonical(url).Url);
                        break;
                    case "valueSet" when x.Resource is ValueSet vs:
                        if (vs.Url is not null)
                        {
                            valueSets.Add(vs.Url);
                        }

                        foreach (var inc in vs.Compose?.Include ?? [])
                        {
                            if (inc.System is not null)
                            {
                                systems.Add(inc.System);
                            }
                        }

                        break;
                    case "validation" when x.Resource is Parameters inner:
                        Visit(inner);
                        break;
                }

                switch (x.Value)
                {
                    case Coding c when c.System is not null:
                        systems.Add(c.System);
                        break;
                    case CodeableConcept cc:
                        foreach (var c in cc.Coding)
                        {
                            if (c.System is not null)
                            {
                                systems.Add(c.System);
                            }
                        }

                        break;
                }
            }
        }

        Visit(parameters);
        return new TerminologyRequestSubject(systems, valueSets);
    }
}

/// <summary>Sends each request to the first route that matches it, else to the local engine; falls back to local when a route allows it.</summary>
internal sealed class TerminologyRouter(LocalTerminologyBackend local, IEnumerable<TerminologyRoute> routes, ILogger<TerminologyRouter> logger)
{
    private readonly TerminologyRoute[] _routes = routes.ToArray();

    public LocalTerminologyBackend Local => local;

    /// <summary>True when every request goes to the local engine and its content is loaded, so it can answer synchronously.</summary>
    public bool AnswersLocallyNow => _routes.Length == 0 && local.IsLoaded;

    public IReadOnlyList<TerminologyRoute> Routes => _routes;

    public async Task<Resource> ExecuteAsync(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context, CancellationToken cancellationToken)
    {
        if (_routes.Length == 0)
        {
            return await local.ExecuteAsync(operation, parameters, context, cancellationToken).ConfigureAwait(false);
        }

        var subject = TerminologyRequestSubject.From(parameters, operation);
        foreach (var route in _routes)
        {
            if (!route.Matches(subject))
            {
                continue;
            }

            try
            {
                return await route.Backend.ExecuteAsync(operation, parameters, context, cancellationToken).ConfigureAwait(false);
            }
            catch (TerminologyOperationException e) when (route.FallbackToLocal && (int)e.Status >= 500)
            {
                logger.LogWarning("Terminology server '{Backend}' failed ({Status}) for {Operation}; answering from the local engine.", route.Backend.Name, (int)e.Status, operation);
                TerminologyTelemetry.Fallbacks.Add(1, new KeyValuePair<string, object?>("backend", route.Backend.Name));
            }
            catch (Exception e) when (route.FallbackToLocal && e is HttpRequestException or TaskCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Terminology server '{Backend}' is unreachable for {Operation}; answering from the local engine.", route.Backend.Name, operation);
                TerminologyTelemetry.Fallbacks.Add(1, new KeyValuePair<string, object?>("backend", route.Backend.Name));
            }

            break;
        }

        return await local.ExecuteAsync(operation, parameters, context, cancellationToken).ConfigureAwait(false);
    }

    internal static TerminologyOperationException Unavailable(string message) =>
        LocalTerminologyBackend.Error(HttpStatusCode.ServiceUnavailable, OperationOutcome.IssueType.Transient, message);
}
