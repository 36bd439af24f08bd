using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Subscriptions;

/// <summary>Refuses, with a 422 OperationOutcome, a Subscription this server could not serve (unknown topic, filter, channel or payload).</summary>
internal sealed class SubscriptionValidator(IOptions<WorkflowOptions> options) : IFhirWriteValidator
{
    public ValueTask ValidateWriteAsync(FhirInteraction interaction, Resource resource, StoredResource? current)
    {
        if (resource is Subscription subscription && subscription.Status != Subscription.SubscriptionStatus.Off)
        {
            SubscriptionInfo.Parse(subscription, options.Value.TopicBase);
        }

        return ValueTask.CompletedTask;
    }
}
