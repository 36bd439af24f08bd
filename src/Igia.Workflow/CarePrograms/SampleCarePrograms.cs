using Hl7.Fhir.Model;

namespace Igia.Workflow.CarePrograms;

/// <summary>Ready-made care program templates, e.g. to seed a sandbox or to start a deployment's own from.</summary>
public static class SampleCarePrograms
{
    /// <summary>Canonical URL of <see cref="DiabetesFollowUp"/>.</summary>
    public const string DiabetesFollowUpUrl = "http://igia.dev/fhir/PlanDefinition/diabetes-follow-up";

    /// <summary>
    /// A type 2 diabetes follow-up program: an HbA1c goal, a nurse outreach call due within 3 days, an HbA1c lab order
    /// due within 14 days, and a diet counselling referral within 30 days. Store the ActivityDefinitions and the
    /// PlanDefinition (ids and URLs are fixed), then <c>POST PlanDefinition/diabetes-follow-up/$apply?subject=Patient/…</c>.
    /// </summary>
    public static (PlanDefinition Plan, IReadOnlyList<ActivityDefinition> Activities) DiabetesFollowUp()
    {
        var call = new ActivityDefinition
        {
            Id = "diabetes-outreach-call",
            Url = "http://igia.dev/fhir/ActivityDefinition/diabetes-outreach-call",
            Version = "1.0.0",
            Name = "DiabetesOutreachCall",
            Title = "Outreach call after diabetes diagnosis",
            Status = PublicationStatus.Active,
            Kind = ActivityDefinition.RequestResourceType.Task,
            Code = new CodeableConcept("http://snomed.info/sct", "185317003", "Telephone encounter"),
            Timing = new Duration { Value = 3, Unit = "days", System = "http://unitsofmeasure.org", Code = "d" },
            Participant = [new ActivityDefinition.ParticipantComponent
            {
                Type = ActionParticipantType.Practitioner,
                Role = new CodeableConcept("http://snomed.info/sct", "224535009", "Registered nurse"),
            }],
        };
        var hba1c = new ActivityDefinition
        {
            Id = "diabetes-hba1c-order",
            Url = "http://igia.dev/fhir/ActivityDefinition/diabetes-hba1c-order",
            Version = "1.0.0",
            Name = "DiabetesHbA1cOrder",
            Title = "HbA1c test",
            Status = PublicationStatus.Active,
            Kind = ActivityDefinition.RequestResourceType.ServiceRequest,
            Code = new CodeableConcept("http://loinc.org", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
            Timing = new Duration { Value = 14, Unit = "days", System = "http://unitsofmeasure.org", Code = "d" },
        };
        var diet = new ActivityDefinition
        {
            Id = "diabetes-diet-counselling",
            Url = "http://igia.dev/fhir/ActivityDefinition/diabetes-diet-counselling",
            Version = "1.0.0",
            Name = "DiabetesDietCounselling",
            Title = "Diet counselling referral",
            Status = PublicationStatus.Active,
            Kind = ActivityDefinition.RequestResourceType.Task,
            Code = new CodeableConcept("http://snomed.info/sct", "11816003", "Diet education"),
            Timing = new Duration { Value = 30, Unit = "days", System = "http://unitsofmeasure.org", Code = "d" },
            Participant = [new ActivityDefinition.ParticipantComponent
            {
                Type = ActionParticipantType.Practitioner,
                Role = new CodeableConcept("http://snomed.info/sct", "159033005", "Dietitian"),
            }],
        };
        var plan = new PlanDefinition
        {
            Id = "diabetes-follow-up",
            Url = DiabetesFollowUpUrl,
            Version = "1.0.0",
            Name = "DiabetesFollowUp",
            Title = "Type 2 diabetes follow-up",
            Status = PublicationStatus.Active,
            Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/plan-definition-type", "clinical-protocol", "Clinical Protocol"),
            Description = "Follow-up of a newly diagnosed type 2 diabetes: outreach call, HbA1c and diet counselling.",
            Goal =
            [
                new PlanDefinition.GoalComponent
                {
                    ElementId = "hba1c-goal",
                    Category = new CodeableConcept("http://terminology.hl7.org/CodeSystem/goal-category", "dietary", "Dietary"),
                    Description = new CodeableConcept { Text = "HbA1c below 7%" },
                    Priority = new CodeableConcept("http://terminology.hl7.org/CodeSystem/goal-priority", "high-priority", "High Priority"),
                    Target =
                    [
                        new PlanDefinition.TargetComponent
                        {
                            Measure = new CodeableConcept("http://loinc.org", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
                            Detail = new Quantity { Value = 7, Unit = "%", System = "http://unitsofmeasure.org", Code = "%", Comparator = Quantity.QuantityComparator.LessThan },
                            Due = new Duration { Value = 90, Unit = "days", System = "http://unitsofmeasure.org", Code = "d" },
                        },
                    ],
                },
            ],
            Action =
            [
                new PlanDefinition.ActionComponent { Title = call.Title, GoalId = ["hba1c-goal"], Definition = new Canonical(call.Url + "|1.0.0") },
                new PlanDefinition.ActionComponent { Title = hba1c.Title, GoalId = ["hba1c-goal"], Definition = new Canonical(hba1c.Url) },
                new PlanDefinition.ActionComponent { Title = diet.Title, GoalId = ["hba1c-goal"], Definition = new Canonical(diet.Url) },
            ],
        };
        return (plan, [call, hba1c, diet]);
    }
}
