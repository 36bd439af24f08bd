using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Workflow.Internal;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.CarePrograms;

/// <summary>
/// Turns PlanDefinitions and ActivityDefinitions into a patient's CarePlan, Goals, Tasks and requests (R4 $apply),
/// written in one transaction through the FHIR pipeline, so the Task state machine, authorization and audit apply.
/// </summary>
internal sealed partial class CareProgramApplier(IOptions<WorkflowOptions> options, TimeProvider time)
{
    private readonly WorkflowOptions _options = options.Value;

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9\\-\\.]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex IdPattern();

    /// <summary>The <c>$apply</c> inputs (R4 PlanDefinition-apply / ActivityDefinition-apply).</summary>
    internal sealed record ApplyContext(ResourceReference Subject, ResourceReference? Encounter, ResourceReference? Practitioner, ResourceReference? Organization, FhirOperationContext Operation)
    {
        public ResourceReference? Requester => Practitioner ?? Organization;

        public ResourceReference? Owner => Organization ?? Practitioner;
    }

    public static async Task<ApplyContext> ReadContextAsync(FhirOperationContext context)
    {
        var subjects = context.Parameters.Parameter.Where(p => p.Name == "subject").ToList();
        if (subjects.Count != 1)
        {
            throw FhirException.BadRequest(subjects.Count == 0 ? "$apply needs a 'subject' parameter (e.g. Patient/123)." : "This server applies to one subject per call.");
        }

        var subject = Reference(subjects[0].Value, "subject")!;
        await EnsureExistsAsync(context, subject, "subject");
        var encounter = Reference(context.Parameters.GetSingle("encounter")?.Value, "encounter");
        var practitioner = Reference(context.Parameters.GetSingle("practitioner")?.Value, "practitioner");
        var organization = Reference(context.Parameters.GetSingle("organization")?.Value, "organization");
        foreach (var (reference, name) in new[] { (encounter, "encounter"), (practitioner, "practitioner"), (organization, "organization") })
        {
            if (reference is not null)
            {
                await EnsureExistsAsync(context, reference, name);
            }
        }

        return new ApplyContext(subject, encounter, practitioner, organization, context);
    }

    private static ResourceReference? Reference(DataType? value, string name)
    {
        var text = value switch
        {
            null => null,
            FhirString s => s.Value,
            ResourceReference r => r.Reference,
            FhirUri u => u.Value,
            _ => throw FhirException.BadRequest($"Parameter '{name}' must be a string or Reference."),
        };
        if (text is null)
        {
            return null;
        }

        var parts = text.Split('/');
        if (parts.Length != 2 || !ModelInfo.IsKnownResource(parts[0]) || !IdPattern().IsMatch(parts[1]))
        {
            throw FhirException.BadRequest($"Parameter '{name}' must be a relative reference like 'Patient/123'.");
        }

        return new ResourceReference(text);
    }

    private static async Task EnsureExistsAsync(FhirOperationContext context, ResourceReference reference, string name)
    {
        var parts = reference.Reference!.Split('/');
        var read = await context.Executor.ExecuteAsync(Interactions.Read(parts[0], parts[1], context.Interaction, new WorkflowOptions(), context.Interaction.CancellationToken));
        if (!read.IsSuccess)
        {
            throw Interactions.Unprocessable($"The {name} {reference.Reference} was not found.");
        }
    }

    /// <summary>Applies a PlanDefinition: CarePlan + Goals + one request per action; returns the stored CarePlan.</summary>
    public async Task<CarePlan> ApplyAsync(PlanDefinition plan, ApplyContext ctx)
    {
        if (plan.Status is PublicationStatus.Retired)
        {
            throw Interactions.Unprocessable("A retired PlanDefinition cannot be applied.");
        }

        var now = time.GetUtcNow();
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        var carePlanUrl = NewUrn();
        var carePlan = new CarePlan
        {
            Status = RequestStatus.Active,
            Intent = CarePlan.CarePlanIntent.Plan,
            Title = plan.Title ?? plan.Name,
            Description = plan.Description,
            Subject = ctx.Subject,
            Encounter = ctx.Encounter,
            Period = new Period { StartElement = new FhirDateTime(now) },
            Created = now.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
            Author = ctx.Requester,
            InstantiatesCanonical = plan.Url is null ? [] : [Canonical(plan.Url, plan.Version)],
            Category = plan.Type is null ? [] : [plan.Type],
        };
        if (plan.Url is null && plan.Id is not null)
        {
            carePlan.InstantiatesUri = [$"PlanDefinition/{plan.Id}"];
        }

        bundle.Entry.Add(Entry(carePlanUrl, carePlan));

        var goalUrls = new Dictionary<string, string>(StringComparer.Ordinal);
        var goalIndex = 0;
        foreach (var g in plan.Goal)
        {
            var url = NewUrn();
            goalUrls[g.ElementId ?? $"goal-{goalIndex}"] = url;
            goalIndex++;
            var goal = new Goal
            {
                LifecycleStatus = Goal.GoalLifecycleStatus.Active,
                Category = g.Category is null ? [] : [g.Category],
                Priority = g.Priority,
                Description = g.Description ?? new CodeableConcept { Text = "Goal" },
                Subject = ctx.Subject,
                Start = g.Start,
                // What the goal addresses is a concept in the definition but a Reference (to a Condition…) in a Goal: kept as a note.
                Note = g.Addresses.Select(a => a.Text ?? a.Coding.FirstOrDefault()?.Display).OfType<string>().Select(t => new Annotation { Text = "Addresses: " + t }).ToList(),
                ExpressedBy = ctx.Requester,
                StatusDateElement = new Date(now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
            };
            foreach (var t in g.Target)
            {
                var target = new Goal.TargetComponent { Measure = t.Measure, Detail = t.Detail };
                if (t.Due is { } due && ToTimeSpan(due) is { } span)
                {
                    target.Due = new Date((now + span).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                }

                goal.Target.Add(target);
            }

            carePlan.Goal.Add(new ResourceReference(url));
            bundle.Entry.Add(Entry(url, goal));
        }

        var actionGoals = new List<(PlanDefinition.ActionComponent Action, List<string> Goals)>();
        Flatten(plan.Action, actionGoals, []);
        foreach (var (action, goals) in actionGoals)
        {
            var definition = await ResolveActivityAsync(plan, action, ctx);
            var request = definition is not null
                ? BuildRequest(definition, ctx, now, action)
                : BuildTask(action.Title ?? action.Description ?? "Care program action", action.Code.FirstOrDefault(), ctx, now, Timing(action), action.Participant.FirstOrDefault()?.Role, action.Priority, null);
            SetBasedOn(request, carePlanUrl);
            var url = NewUrn();
            var activity = new CarePlan.ActivityComponent { Reference = new ResourceReference(url) };
            if (request is FhirTask task)
            {
                foreach (var goalId in goals)
                {
                    if (goalUrls.TryGetValue(goalId, out var goalUrl))
                    {
                        task.Input.Add(new FhirTask.ParameterComponent { Type = new CodeableConcept { Text = "goal" }, Value = new ResourceReference(goalUrl) });
                    }
                }
            }

            carePlan.Activity.Add(activity);
            bundle.Entry.Add(Entry(url, request));
        }

        var result = await ctx.Operation.Executor.ExecuteAsync(Interactions.Transaction(bundle, ctx.Operation.Interaction, _options, ctx.Operation.Interaction.CancellationToken));
        var response = (Bundle)result.EnsureSuccess().Resource!;
        return await ReadBackAsync<CarePlan>(ctx, response.Entry[0]);
    }

    /// <summary>Applies an ActivityDefinition: one request resource, stored; returns it.</summary>
    public async Task<Resource> ApplyAsync(ActivityDefinition definition, ApplyContext ctx)
    {
        if (definition.Status is PublicationStatus.Retired)
        {
            throw Interactions.Unprocessable("A retired ActivityDefinition cannot be applied.");
        }

        var request = BuildRequest(definition, ctx, time.GetUtcNow(), null);
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(Entry(NewUrn(), request));
        var result = await ctx.Operation.Executor.ExecuteAsync(Interactions.Transaction(bundle, ctx.Operation.Interaction, _options, ctx.Operation.Interaction.CancellationToken));
        var response = (Bundle)result.EnsureSuccess().Resource!;
        return await ReadBackAsync<Resource>(ctx, response.Entry[0]);
    }

    private async Task<T> ReadBackAsync<T>(ApplyContext ctx, Bundle.EntryComponent entry)
        where T : Resource
    {
        if (entry.Resource is T resource)
        {
            return resource;
        }

        var location = entry.Response!.Location!.Split('/');
        var read = await ctx.Operation.Executor.ExecuteAsync(Interactions.Read(location[0], location[1], ctx.Operation.Interaction, _options, ctx.Operation.Interaction.CancellationToken));
        return (T)read.EnsureSuccess().Resource!;
    }

    private static void Flatten(List<PlanDefinition.ActionComponent> actions, List<(PlanDefinition.ActionComponent, List<string>)> into, List<string> inheritedGoals)
    {
        foreach (var action in actions)
        {
            var goals = inheritedGoals.Concat(action.GoalId.OfType<string>()).Distinct().ToList();
            if (action.Action.Count > 0)
            {
                Flatten(action.Action, into, goals);
            }
            else
            {
                into.Add((action, goals));
            }
        }
    }

    private async Task<ActivityDefinition?> ResolveActivityAsync(PlanDefinition plan, PlanDefinition.ActionComponent action, ApplyContext ctx)
    {
        var canonical = action.Definition switch
        {
            Canonical { Value: { } c } => c,
            FhirUri { Value: { } u } => u,
            _ => null,
        };
        if (canonical is null)
        {
            return null;
        }

        if (canonical.StartsWith("ActivityDefinition/", StringComparison.Ordinal) && IdPattern().IsMatch(canonical["ActivityDefinition/".Length..]))
        {
            // A relative reference (as some published examples use) rather than a canonical URL.
            var byId = await ctx.Operation.Executor.ExecuteAsync(Interactions.Read("ActivityDefinition", canonical["ActivityDefinition/".Length..], ctx.Operation.Interaction, _options, ctx.Operation.Interaction.CancellationToken));
            return byId.Resource as ActivityDefinition
                ?? throw Interactions.Unprocessable($"The ActivityDefinition {canonical} of action '{action.Title}' was not found on this server.");
        }

        if (canonical.StartsWith('#'))
        {
            return plan.Contained.OfType<ActivityDefinition>().FirstOrDefault(a => a.Id == canonical[1..])
                ?? throw Interactions.Unprocessable($"Action '{action.Title}' refers to contained {canonical}, which is not there.");
        }

        var bar = canonical.IndexOf('|');
        var url = bar < 0 ? canonical : canonical[..bar];
        var parameters = new List<KeyValuePair<string, string>> { new("url", url) };
        if (bar >= 0)
        {
            parameters.Add(new("version", canonical[(bar + 1)..]));
        }

        var found = await ctx.Operation.Executor.ExecuteAsync(Interactions.Search("ActivityDefinition", parameters, ctx.Operation.Interaction, _options, ctx.Operation.Interaction.CancellationToken));
        var matches = ((Bundle)found.EnsureSuccess().Resource!).Entry.Select(e => e.Resource).OfType<ActivityDefinition>().ToList();
        return matches.Count switch
        {
            0 => throw Interactions.Unprocessable($"The ActivityDefinition {canonical} of action '{action.Title}' was not found on this server."),
            _ => matches.OrderByDescending(m => m.Meta?.LastUpdated).First(),
        };
    }

    /// <summary>Builds the request an ActivityDefinition describes (R4 ActivityDefinition-apply mapping).</summary>
    private static DomainResource BuildRequest(ActivityDefinition definition, ApplyContext ctx, DateTimeOffset now, PlanDefinition.ActionComponent? action)
    {
        var timing = action is null ? Timing(definition.Timing) : Timing(action) ?? Timing(definition.Timing);
        var canonical = definition.Url is null ? null : Canonical(definition.Url, definition.Version);
        var performerType = definition.Participant.FirstOrDefault()?.Role ?? action?.Participant.FirstOrDefault()?.Role;
        var priority = definition.Priority ?? action?.Priority;
        switch (definition.Kind)
        {
            case ActivityDefinition.RequestResourceType.ServiceRequest:
                var sr = new ServiceRequest
                {
                    Status = RequestStatus.Active,
                    Intent = RequestIntent.Order,
                    Code = definition.Code,
                    Subject = ctx.Subject,
                    Encounter = ctx.Encounter,
                    Requester = ctx.Requester,
                    PerformerType = performerType,
                    AuthoredOn = now.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
                    Priority = priority,
                    InstantiatesCanonical = canonical is null ? [] : [canonical],
                };
                if (timing is { } due)
                {
                    sr.Occurrence = new Period { EndElement = new FhirDateTime(now + due) };
                }

                return sr;
            case ActivityDefinition.RequestResourceType.CommunicationRequest:
                return new CommunicationRequest
                {
                    Status = RequestStatus.Active,
                    Subject = ctx.Subject,
                    Encounter = ctx.Encounter,
                    Requester = ctx.Requester,
                    Priority = priority,
                    AuthoredOn = now.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
                    Payload = definition.Description is null ? [] : [new CommunicationRequest.PayloadComponent { Content = new FhirString(definition.Description) }],
                    Occurrence = timing is { } d ? new FhirDateTime(now + d) : null,
                };
            case ActivityDefinition.RequestResourceType.MedicationRequest:
                if (definition.Product is not (CodeableConcept or ResourceReference))
                {
                    throw Interactions.Unprocessable("A MedicationRequest ActivityDefinition needs a product (the medication).");
                }

                var medicationRequest = new MedicationRequest
                {
                    Status = MedicationRequest.MedicationrequestStatus.Active,
                    Intent = MedicationRequest.MedicationRequestIntent.Order,
                    Medication = definition.Product,
                    Subject = ctx.Subject,
                    Encounter = ctx.Encounter,
                    Requester = ctx.Requester,
                    Priority = priority,
                    AuthoredOn = now.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
                    DosageInstruction = [.. definition.Dosage],
                    InstantiatesCanonical = canonical is null ? [] : [canonical],
                };
                if (definition.Product is ResourceReference { Reference: ['#', ..] local })
                {
                    // A contained Medication travels with the request, or its local reference would dangle.
                    var medication = definition.Contained.FirstOrDefault(c => c.Id == local[1..])
                        ?? throw Interactions.Unprocessable($"The product {local} of the ActivityDefinition is not contained in it.");
                    medicationRequest.Contained.Add((Resource)medication.DeepCopy());
                }

                return medicationRequest;
            case null:
            case ActivityDefinition.RequestResourceType.Task:
                return BuildTask(definition.Title ?? definition.Name ?? "Task", definition.Code, ctx, now, timing, performerType, priority, canonical);
            default:
                throw Interactions.Unprocessable($"ActivityDefinition kind '{definition.Kind}' is not supported by $apply here (Task, ServiceRequest, CommunicationRequest and MedicationRequest are).");
        }
    }

    private static FhirTask BuildTask(string description, CodeableConcept? code, ApplyContext ctx, DateTimeOffset now, TimeSpan? due, CodeableConcept? performerType, RequestPriority? priority, string? canonical)
    {
        var task = new FhirTask
        {
            Status = FhirTaskStatus.Requested,
            Intent = FhirTask.TaskIntent.Order,
            Description = description,
            Code = code,
            For = ctx.Subject,
            Encounter = ctx.Encounter,
            Requester = ctx.Requester,
            Owner = ctx.Owner,
            AuthoredOn = now.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
            Priority = priority switch
            {
                RequestPriority.Urgent => RequestPriority.Urgent,
                RequestPriority.Asap => RequestPriority.Asap,
                RequestPriority.Stat => RequestPriority.Stat,
                RequestPriority.Routine => RequestPriority.Routine,
                _ => null,
            },
            InstantiatesCanonical = canonical,
            PerformerType = performerType is null ? [] : [performerType],
        };
        if (due is { } d)
        {
            task.Restriction = new FhirTask.RestrictionComponent
            {
                Period = new Period { StartElement = new FhirDateTime(now), EndElement = new FhirDateTime(now + d) },
            };
        }

        return task;
    }

    private static void SetBasedOn(DomainResource request, string carePlanUrl)
    {
        var reference = new ResourceReference(carePlanUrl);
        switch (request)
        {
            case FhirTask t: t.BasedOn.Add(reference); break;
            case ServiceRequest s: s.BasedOn.Add(reference); break;
            case CommunicationRequest c: c.BasedOn.Add(reference); break;
            case MedicationRequest m: m.BasedOn.Add(reference); break;
        }
    }

    private static TimeSpan? Timing(PlanDefinition.ActionComponent action) => Timing(action.Timing);

    private static TimeSpan? Timing(DataType? timing) => timing switch
    {
        Duration d => ToTimeSpan(d),
        Age a => ToTimeSpan(a),
        Hl7.Fhir.Model.Timing { Repeat.Bounds: Duration d } => ToTimeSpan(d),
        Hl7.Fhir.Model.Range { High: { } high } => ToTimeSpan(high),
        _ => null,
    };

    /// <summary>A UCUM time quantity (s, min, h, d, wk, mo, a) as a TimeSpan; months are 30 days, years 365.</summary>
    internal static TimeSpan? ToTimeSpan(Quantity q)
    {
        if (q.Value is not { } v || v <= 0)
        {
            return null;
        }

        var unit = q.Code ?? q.Unit;
        double? seconds = unit switch
        {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "d" => 86400,
            "wk" => 7 * 86400,
            "mo" => 30 * 86400,
            "a" => 365 * 86400,
            _ => null,
        };
        return seconds is { } s ? TimeSpan.FromSeconds((double)v * s) : null;
    }

    private static string Canonical(string url, string? version) => version is null ? url : $"{url}|{version}";

    private static string NewUrn() => "urn:uuid:" + Guid.NewGuid();

    private static Bundle.EntryComponent Entry(string fullUrl, Resource resource) => new()
    {
        FullUrl = fullUrl,
        Resource = resource,
        Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = resource.TypeName },
    };
}

internal static class ParametersExtensions
{
    public static Parameters.ParameterComponent? GetSingle(this Parameters parameters, string name) =>
        parameters.Parameter.FirstOrDefault(p => p.Name == name);
}
