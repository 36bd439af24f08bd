using System.Net;
using Hl7.Fhir.Model;
using Igia.Workflow.Tests.Infrastructure;

namespace Igia.Workflow.Tests.Tasks;

public sealed class TaskStateMachineConcurrencyTests
{
    [Fact]
    public async Task RacingUpdatesToTwoTerminalStatuses_OneStatusWins_AllOfTheOtherGet422()
    {
        await using var host = await WorkflowTestHost.StartAsync();
        for (var round = 0; round < 5; round++)
        {
            var task = await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Ready, Intent = FhirTask.TaskIntent.Order });
            task.Status = FhirTask.TaskStatus.InProgress;
            task = await host.PutAsync(task);

            // No If-Match: each write is judged against the version current inside its own transaction.
            var statuses = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
            {
                var copy = (FhirTask)task.DeepCopy();
                copy.Status = i % 2 == 0 ? FhirTask.TaskStatus.Completed : FhirTask.TaskStatus.Failed;
                copy.Meta = null;
                using var response = await host.Client.PutAsync($"Task/{task.Id}", WorkflowTestHost.JsonContent(copy));
                return (copy.Status!.Value, response.StatusCode);
            }));

            // Whichever terminal status committed first wins; re-putting the same status is allowed (no change of
            // status), the other terminal status is refused every time: never completed and then failed, or back.
            var final = (await host.GetAsync<FhirTask>($"Task/{task.Id}")).Status!.Value;
            Assert.All(statuses, s => Assert.Equal(s.Value == final ? HttpStatusCode.OK : HttpStatusCode.UnprocessableEntity, s.StatusCode));
        }
    }
}
