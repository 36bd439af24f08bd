using System.Collections.Concurrent;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Masking;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Audit.Tests.Masking;

/// <summary>The datamask: what leaves for text logs and syslog has no names, birth dates, free text, search values or tokens.</summary>
public sealed class AuditMaskerTests
{
    private static AuditEvent Sample() => new()
    {
        Id = "e1",
        Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
        OutcomeDesc = "HTTP 404: Patient/p1 (Peter Chalmers) is not known.",
        Agent =
        [
            new AuditEvent.AgentComponent { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP"), Who = new ResourceReference { Reference = "Practitioner/dr-1", Display = "Dr. Mary Jones" }, Name = "Mary Jones", Requestor = true },
            new AuditEvent.AgentComponent { Type = new CodeableConcept("http://dicom.nema.org/resources/ontology/DCM", "110153"), Who = new ResourceReference { Display = "10.0.0.7" }, Requestor = false },
        ],
        Entity =
        [
            new AuditEvent.EntityComponent { What = new ResourceReference { Reference = "Patient/p1", Display = "Peter Chalmers" }, Description = "free text", Detail = [new AuditEvent.DetailComponent { Type = "note", Value = new FhirString("secret") }] },
            new AuditEvent.EntityComponent { Query = Encoding.UTF8.GetBytes("GET https://ehr/fhir/Patient?family=Chalmers&birthdate=1974-12-25&_count=10&patient:Patient=p1&identifier=123-45-6789") },
        ],
    };

    [Fact]
    public void Apply_Defaults_RemovesNamesFreeTextAndSearchValues()
    {
        var masked = new AuditMasker(new AuditMaskingOptions()).Apply(Sample());

        var json = System.Text.Json.JsonSerializer.Serialize(masked, AuditTestHost.Json);
        foreach (var phi in new[] { "Chalmers", "Peter", "Mary", "1974", "6789", "free text", "secret" })
        {
            Assert.DoesNotContain(phi, json);
        }

        Assert.Equal("Practitioner/dr-1", masked.Agent[0].Who.Reference);
        Assert.Equal("10.0.0.7", masked.Agent[1].Who.Display);
        Assert.Equal("Patient/p1", masked.Entity[0].What.Reference);
        Assert.Equal("GET https://ehr/fhir/Patient?family=***&birthdate=***&_count=10&patient:Patient=p1&identifier=***", Encoding.UTF8.GetString(masked.Entity[1].Query));
        Assert.Equal("***", masked.OutcomeDesc);
    }

    [Fact]
    public void Apply_Always_LeavesTheOriginalUnchanged()
    {
        var original = Sample();

        _ = new AuditMasker(new AuditMaskingOptions()).Apply(original);

        Assert.Equal("Peter Chalmers", original.Entity[0].What.Display);
    }

    [Fact]
    public void Apply_KeepNamesAndFreeText_KeepsThem()
    {
        var options = new AuditMaskingOptions { KeepNames = true, KeepFreeText = true };
        options.AllowedSearchParameters.Add("family");

        var masked = new AuditMasker(options).Apply(Sample());

        Assert.Equal("Dr. Mary Jones", masked.Agent[0].Who.Display);
        Assert.StartsWith("HTTP 404", masked.OutcomeDesc);
        Assert.Contains("family=Chalmers&birthdate=***", Encoding.UTF8.GetString(masked.Entity[1].Query));
    }

    [Theory]
    [InlineData("Authorization: Bearer abc.def-ghi", "Authorization: ***")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl leaked", "token *** leaked")]
    public void MaskTokens_TokenInText_IsReplaced(string text, string expected) =>
        Assert.Equal(expected, AuditMasker.MaskTokens(text));

    /// <summary>Collects log messages.</summary>
    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, string Message)> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Collecting(categoryName, Messages);

        public void Dispose()
        {
        }

        private sealed class Collecting(string category, ConcurrentQueue<(string, string)> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue((category, formatter(state, exception)));
        }
    }

    [Fact]
    public async Task WriteToLogger_Search_LogsAMaskedLine()
    {
        var provider = new CollectingLoggerProvider();
        await using var host = await AuditTestHost.StartAsync(
            configureAudit: a => a.WriteToLogger(),
            configureServices: s =>
            {
                s.AddSingleton<ILoggerProvider>(provider);
                s.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(null, "Igia.Audit.Events", LogLevel.Information, null)));
            });
        using (await host.SendAsync(HttpMethod.Get, "Patient?name=Chalmers&birthdate=1974-12-25", principal: TestAuthenticationHandler.Principal())) { }

        await AuditLogContent.WaitUntilAsync(() => provider.Messages.Any(m => m.Category == "Igia.Audit.Events"), TimeSpan.FromSeconds(30), "the audit line is logged");
        var line = provider.Messages.First(m => m.Category == "Igia.Audit.Events").Message;
        Assert.Contains("subtype=search-type", line);
        Assert.Contains("name=***&birthdate=***", line);
        Assert.DoesNotContain("Chalmers", line);
        Assert.DoesNotContain("1974", line);
    }
}
