using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Fhir.Tests.Server;

/// <summary>Proves the pipeline's extension points: filters see every interaction (Bundle entries too), can reject and redact; operations are served at every level.</summary>
public sealed class ExtensionPointTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;
    private RecordingFilter _filter = null!;

    public async System.Threading.Tasks.Task InitializeAsync()
    {
        _host = await FhirTestHost.StartAsync(configureFhir: fhir => fhir.AddFilter<RecordingFilter>().AddOperation<EchoOperation>().AddOperation<TouchOperation>());
        _filter = _host.App.Services.GetServices<IFhirInteractionFilter>().OfType<RecordingFilter>().Single();
    }

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async System.Threading.Tasks.Task Filter_SeesEachTransactionEntry_WithParentSet()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { Resource = new Patient { Id = "ext-a" }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/ext-a" } },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = "Patient/ext-a" } },
            ],
        };
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = _filter.Seen.ToArray();
        Assert.Contains(seen, s => s.Kind == FhirInteractionKind.Transaction && !s.IsEntry);
        Assert.Contains(seen, s => s.Kind == FhirInteractionKind.Update && s.IsEntry && s.Type == "Patient");
        Assert.Contains(seen, s => s.Kind == FhirInteractionKind.Read && s.IsEntry && s.Type == "Patient");
    }

    [Fact]
    public async System.Threading.Tasks.Task Filter_RejectingATransactionEntry_FailsTheWholeTransaction()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { Resource = new Patient { Id = "ext-ok" }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/ext-ok" } },
                new Bundle.EntryComponent { Resource = new Patient { Id = "ext-no", Name = [new HumanName { Family = RecordingFilter.Forbidden }] }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/ext-no" } },
            ],
        };
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var outcome = await FhirTestHost.ReadAsync<OperationOutcome>(response);
        Assert.Contains("refused by test filter", outcome.Issue[0].Diagnostics);
        using var read = await _host.Client.GetAsync("Patient/ext-ok");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Filter_RejectingADirectRequest_Returns403AndStoresNothing()
    {
        using var response = await _host.Client.PutAsync("Patient/ext-direct", FhirTestHost.JsonContent(new Patient { Id = "ext-direct", Name = [new HumanName { Family = RecordingFilter.Forbidden }] }));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var read = await _host.Client.GetAsync("Patient/ext-direct");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Filter_CanRedactWhatARead_Returns()
    {
        await _host.Client.PutAsync("Patient/ext-secret", FhirTestHost.JsonContent(new Patient { Id = "ext-secret", BirthDate = "1970-01-01", Name = [new HumanName { Family = "Kept" }] }));
        var patient = await _host.GetAsync<Patient>("Patient/ext-secret");
        Assert.Null(patient.BirthDate);
        Assert.Equal("Kept", patient.Name[0].Family);
    }

    [Theory]
    [InlineData("$echo?message=hi")]
    [InlineData("Patient/$echo?message=hi")]
    public async System.Threading.Tasks.Task Operation_ByGet_AtSystemAndTypeLevel_ReturnsParameters(string url)
    {
        var result = await _host.GetAsync<Parameters>(url);
        Assert.Equal("hi", ((FhirString)result.GetSingle("message").Value).Value);
    }

    [Fact]
    public async System.Threading.Tasks.Task Operation_ByPost_AtInstanceLevel_SeesTheInstance()
    {
        await _host.Client.PutAsync("Patient/ext-op", FhirTestHost.JsonContent(new Patient { Id = "ext-op" }));
        var input = new Parameters();
        input.Add("message", new FhirString("posted"));
        using var response = await _host.Client.PostAsync("Patient/ext-op/$echo", FhirTestHost.JsonContent(input));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await FhirTestHost.ReadAsync<Parameters>(response);
        Assert.Equal("posted", ((FhirString)result.GetSingle("message").Value).Value);
        Assert.Equal("Patient/ext-op", ((FhirString)result.GetSingle("target").Value).Value);
    }

    [Fact]
    public async System.Threading.Tasks.Task Operation_ThatChangesState_RefusesGet()
    {
        using var response = await _host.Client.GetAsync("$touch");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        using var post = await _host.Client.PostAsync("$touch", new StringContent("", Encoding.UTF8, "application/fhir+json"));
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Operation_Unknown_Returns404WithOutcome()
    {
        using var response = await _host.Client.GetAsync("Patient/$nope");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var outcome = await FhirTestHost.ReadAsync<OperationOutcome>(response);
        Assert.Contains("$nope", outcome.Issue[0].Diagnostics);
    }

    [Fact]
    public async System.Threading.Tasks.Task Capabilities_ListRegisteredOperations()
    {
        var cs = await _host.GetAsync<CapabilityStatement>("metadata");
        Assert.Contains(cs.Rest[0].Operation, o => o.Name == "echo");
        Assert.Contains(cs.Rest[0].Resource.Single(r => r.Type == "Patient").Operation, o => o.Name == "echo");
        Assert.DoesNotContain(cs.Rest[0].Resource.Single(r => r.Type == "Observation").Operation, o => o.Name == "echo");
    }

    [Fact]
    public async System.Threading.Tasks.Task Operation_InvokedThroughPipeline_IsSeenByFilters()
    {
        await _host.GetAsync<Parameters>("$echo?message=x");
        Assert.Contains(_filter.Seen, s => s.Kind == FhirInteractionKind.Operation && s.Operation == "echo");
    }

    public sealed record Seen(FhirInteractionKind Kind, string? Type, bool IsEntry, string? Operation);

    public sealed class RecordingFilter : IFhirInteractionFilter
    {
        public const string Forbidden = "Forbidden";

        public ConcurrentQueue<Seen> Seen { get; } = new();

        public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
        {
            Seen.Enqueue(new Seen(interaction.Kind, interaction.ResourceType, interaction.Parent is not null, interaction.OperationName));
            if (interaction.Resource is Patient { Name: [{ Family: Forbidden }, ..] })
            {
                return FhirResponse.Error(HttpStatusCode.Forbidden, OperationOutcome.IssueType.Forbidden, "refused by test filter");
            }

            var response = await next(interaction);
            if (response.Resource is Patient patient && interaction.Kind == FhirInteractionKind.Read)
            {
                patient.BirthDate = null;
            }

            return response;
        }
    }

    public sealed class EchoOperation : IFhirOperation
    {
        public string Name => "echo";

        public FhirOperationLevel Levels => FhirOperationLevel.System | FhirOperationLevel.Type | FhirOperationLevel.Instance;

        public IReadOnlyCollection<string> ResourceTypes => ["Patient"];

        public ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
        {
            var output = new Parameters();
            output.Add("message", context.Parameters.GetSingleValue<FhirString>("message") ?? new FhirString("none"));
            if (context.Interaction.Id is not null)
            {
                output.Add("target", new FhirString($"{context.Interaction.ResourceType}/{context.Interaction.Id}"));
            }

            return ValueTask.FromResult(new FhirResponse { Resource = output });
        }
    }

    public sealed class TouchOperation : IFhirOperation
    {
        public string Name => "touch";

        public FhirOperationLevel Levels => FhirOperationLevel.System;

        public bool AffectsState => true;

        public ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context) =>
            ValueTask.FromResult(new FhirResponse { Resource = FhirResponse.Outcome(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, "touched") });
    }
}
