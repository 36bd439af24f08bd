using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Hl7.Fhir.Model;
using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Client;

/// <summary>One Activity per interaction and the metrics, tagged with interaction and resource type only.</summary>
public sealed class ClientTelemetryTests
{
    private sealed class Capture : IDisposable
    {
        private readonly ActivityListener _activities;
        private readonly MeterListener _meters;

        public Capture(string clientName, IMeterFactory meterFactory)
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = s => s.Name == "Igia.Fhir.Client",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (Equals(a.GetTagItem("fhir.client.name"), clientName))
                    {
                        Activities.Enqueue(a);
                    }
                },
            };
            ActivitySource.AddActivityListener(_activities);
            _meters = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == "Igia.Fhir.Client" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meters.SetMeasurementEventCallback<long>((i, value, tags, _) => Measurements.Enqueue((i.Name, value, tags.ToArray())));
            _meters.SetMeasurementEventCallback<double>((i, value, tags, _) => Measurements.Enqueue((i.Name, value, tags.ToArray())));
            _meters.Start();
        }

        public ConcurrentQueue<Activity> Activities { get; } = new();

        public ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Measurements { get; } = new();

        public void Dispose()
        {
            _activities.Dispose();
            _meters.Dispose();
        }
    }

    [Fact]
    public async Task ReadAsync_OverRealServer_EmitsOneActivityAndMetricsWithoutIds()
    {
        await using var host = await FhirTestHost.StartAsync();
        var patient = await host.CreateAsync(new Patient { Name = [new HumanName { Family = "Secretname" }] });
        await using var services = ClientTestServices.Build(host.BaseUrl, name: "telemetry-read");
        using var capture = new Capture("telemetry-read", services.GetRequiredService<IMeterFactory>());
        using var client = services.Client("telemetry-read");

        await client.ReadAsync<Patient>($"Patient/{patient.Id}");
        await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/unknown-id-123"));

        var activities = capture.Activities.ToArray();
        Assert.Equal(2, activities.Length);
        Assert.All(activities, a =>
        {
            Assert.Equal("read Patient", a.DisplayName);
            Assert.Equal(ActivityKind.Client, a.Kind);
            Assert.Equal("read", a.GetTagItem("fhir.interaction"));
            Assert.Equal("Patient", a.GetTagItem("fhir.resource_type"));
            Assert.DoesNotContain(a.TagObjects, t => t.Value?.ToString()?.Contains(patient.Id) == true || t.Value?.ToString()?.Contains("unknown-id") == true);
        });
        Assert.Equal(200, activities[0].GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Error, activities[1].Status);
        Assert.Equal("404", activities[1].GetTagItem("error.type"));

        var requests = capture.Measurements.Where(m => m.Instrument == "igia.fhir.client.requests").ToArray();
        Assert.Equal(2, requests.Length);
        Assert.All(requests, m => Assert.Contains(m.Tags, t => t.Key == "fhir.interaction" && (string?)t.Value == "read"));
        Assert.Equal(2, capture.Measurements.Count(m => m.Instrument == "igia.fhir.client.request.duration"));
        Assert.DoesNotContain(capture.Measurements.SelectMany(m => m.Tags), t => t.Value?.ToString()?.Contains(patient.Id) == true);
    }

    [Fact]
    public async Task ReadAsync_RetriedAfter503_CountsTheRetry()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n == 1)
            {
                await FaultServer.WriteOutcomeAsync(context, 503, "busy");
                return;
            }

            await FaultServer.WriteAsync(context, new Patient { Id = "p1" });
        });
        await using var services = ClientTestServices.Build(server.BaseUrl, name: "telemetry-retry");
        using var capture = new Capture("telemetry-retry", services.GetRequiredService<IMeterFactory>());
        using var client = services.Client("telemetry-retry");

        await client.ReadAsync<Patient>("Patient/p1");

        var retry = Assert.Single(capture.Measurements, m => m.Instrument == "igia.fhir.client.retries");
        Assert.Equal(1, retry.Value);
        Assert.Contains(retry.Tags, t => t.Key == "fhir.retry.reason" && (string?)t.Value == "503");
        Assert.Equal(2, Assert.Single(capture.Activities).GetTagItem("fhir.attempts"));
    }

    [Fact]
    public async Task TransactionAsync_AndOperation_AreNamedByInteraction()
    {
        await using var host = await FhirTestHost.StartAsync(configureFhir: f => f.AddOperation<TestValidateOperation>());
        await using var services = ClientTestServices.Build(host.BaseUrl, name: "telemetry-kinds");
        using var capture = new Capture("telemetry-kinds", services.GetRequiredService<IMeterFactory>());
        using var client = services.Client("telemetry-kinds");

        await client.TransactionAsync(b => b.Create(new Patient { Active = true }));
        await client.BatchAsync(b => b.Create(new Patient { Active = true }));
        await client.ValidateAsync(new Patient { Active = true });

        Assert.Equal(["transaction", "batch", "$validate Patient"], capture.Activities.Select(a => a.DisplayName));
    }
}
