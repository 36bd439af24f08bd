using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Workflow.CarePrograms;

namespace Igia.Sandbox;

/// <summary>Stores the diabetes follow-up program and applies it to the diabetic patients once; moves one Task along.</summary>
internal sealed class CareProgramSeeder(IFhirInteractionExecutor fhir, ILogger<CareProgramSeeder> logger) : IHostedService
{
    public async System.Threading.Tasks.Task StartAsync(CancellationToken ct)
    {
        var user = SandboxAuth.System("system/*.cruds");
        var existing = await fhir.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Search, ResourceType = "CarePlan", Parameters = [new("_summary", "count")], User = user, CancellationToken = ct });
        if ((existing.Resource as Bundle)?.Total > 0)
        {
            return;
        }

        var (plan, activities) = SampleCarePrograms.DiabetesFollowUp();
        foreach (var resource in activities.Cast<Resource>().Append(plan))
        {
            await fhir.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Update, ResourceType = resource.TypeName, Id = resource.Id, Method = "PUT", Resource = resource, User = user, CancellationToken = ct });
        }

        var diabetic = await fhir.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Search, ResourceType = "Condition", Parameters = [new("code", "http://snomed.info/sct|44054006"), new("_count", "3")], User = user, CancellationToken = ct });
        foreach (var condition in (diabetic.Resource as Bundle)?.Entry.Select(e => e.Resource).OfType<Condition>() ?? [])
        {
            var input = new Parameters();
            input.Add("subject", new FhirString(condition.Subject.Reference));
            var applied = await fhir.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Operation, ResourceType = "PlanDefinition", Id = plan.Id, OperationName = "apply", Method = "POST", Resource = input, User = user, CancellationToken = ct });
            if (applied.Resource is not CarePlan carePlan)
            {
                logger.LogWarning("Applying the care program failed: HTTP {Status}", (int)applied.StatusCode);
                continue;
            }

            // Show a Task moving: the program's first Task is accepted and started.
            var taskReference = carePlan.Activity.Select(a => a.Reference?.Reference).FirstOrDefault(r => r?.StartsWith("Task/", StringComparison.Ordinal) == true);
            if (taskReference is null)
            {
                continue;
            }

            var callRef = taskReference.Split('/');
            foreach (var status in new[] { Hl7.Fhir.Model.Task.TaskStatus.Accepted, Hl7.Fhir.Model.Task.TaskStatus.InProgress })
            {
                var read = await fhir.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Read, ResourceType = callRef[0], Id = callRef[1], User = user, CancellationToken = ct });
                var task = (Hl7.Fhir.Model.Task)read.Resource!;
                task.Status = status;
                await fhir.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Update, ResourceType = "Task", Id = task.Id, Method = "PUT", Resource = task, User = user, CancellationToken = ct });
            }
        }
    }

    public System.Threading.Tasks.Task StopAsync(CancellationToken ct) => System.Threading.Tasks.Task.CompletedTask;
}
