using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// Refuses, with a 422 OperationOutcome, a Subscription this server could not serve (unknown topic, filter, channel or
/// payload) or whose endpoint is not on the allow-list (<see cref="SubscriptionOptions.AllowedEndpoints"/>); records,
/// inside the write's transaction, who wrote it (<see cref="SubscriberAccess"/>: what its notifications may carry).
/// </summary>
internal sealed class SubscriptionValidator(IOptions<WorkflowOptions> options, EndpointPolicy endpoints, SubscriberAccess access) : IFhirWriteValidator
{
    public ValueTask ValidateWriteAsync(FhirInteraction interaction, Resource resource, StoredResource? current)
    {
        if (resource is Subscription subscription && subscription.Status != Subscription.SubscriptionStatus.Off)
        {
            var info = SubscriptionInfo.Parse(subscription, options.Value.TopicBase);

            // The engine's own status writes (as SystemUser) keep the endpoint a client wrote; delivery checks it again.
            if (!ReferenceEquals(interaction.User, options.Value.SystemUser) && !endpoints.Allows(info.Endpoint, out var reason))
            {
                throw new FhirException(System.Net.HttpStatusCode.UnprocessableEntity, new OperationOutcome
                {
                    Issue =
                    [
                        new OperationOutcome.IssueComponent
                        {
                            Severity = OperationOutcome.IssueSeverity.Error,
                            Code = OperationOutcome.IssueType.Forbidden,
                            Diagnostics = reason,
                            Expression = ["Subscription.channel.endpoint"],
                        },
                    ],
                });
            }
        }

        if (resource is Subscription written && written.Id is { } id && int.TryParse(written.Meta?.VersionId, out var version))
        {
            access.Record(id, version, SubscriberAccess.WriterOf(interaction));
        }

        return ValueTask.CompletedTask;
    }
}
