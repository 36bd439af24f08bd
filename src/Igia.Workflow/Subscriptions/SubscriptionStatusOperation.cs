using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Workflow.Engine;
using Igia.Workflow.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// <c>Subscription/[id]/$status</c> and <c>Subscription/$status?id=…</c> (Backport IG): a searchset Bundle of
/// subscription-status Parameters (type <c>query-status</c>) with the events sent since the subscription started.
/// </summary>
internal sealed class SubscriptionStatusOperation(IOptions<WorkflowOptions> options) : IFhirOperation
{
    public string Name => "status";

    public FhirOperationLevel Levels => FhirOperationLevel.Type | FhirOperationLevel.Instance;

    public IReadOnlyCollection<string> ResourceTypes => ["Subscription"];

    public string? Definition => "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status";

    public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var ids = context.Interaction.Id is { } id ? [id]
            : context.Parameters.Parameter.Where(p => p.Name == "id").Select(p => p.Value?.ToString()).OfType<string>().SelectMany(v => v.Split(',')).ToList();
        // Resolved here, not injected: the engine uses the pipeline, which holds the operations (no DI cycle).
        var engine = context.Services.GetRequiredService<WorkflowEngine>();
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
        var baseUrl = context.Interaction.BaseUrl.Length > 0 ? context.Interaction.BaseUrl : options.Value.FhirBaseUrl;
        foreach (var subscriptionId in ids)
        {
            // Through the pipeline, so that authorization decides who may see which Subscription.
            var read = await context.Executor.ExecuteAsync(Interactions.Read("Subscription", subscriptionId, context.Interaction, options.Value, context.Interaction.CancellationToken));
            if (context.Interaction.Id is not null)
            {
                read.EnsureSuccess();
            }

            if (read.Resource is not Subscription subscription)
            {
                continue;
            }

            var state = engine.GetStatus(subscriptionId);
            var info = state?.Info ?? SubscriptionInfo.Parse(subscription, options.Value.TopicBase);
            var code = state?.State ?? (subscription.Status?.ToString().ToLowerInvariant() ?? "requested");
            var status = NotificationBuilder.Status(info, code, "query-status", state?.Events ?? 0, baseUrl);
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = "urn:uuid:" + Guid.NewGuid(),
                Resource = status,
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
            });
        }

        bundle.Total = bundle.Entry.Count;
        return new FhirResponse { Resource = bundle };
    }
}
