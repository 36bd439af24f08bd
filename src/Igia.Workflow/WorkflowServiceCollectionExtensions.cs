using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Workflow.CarePrograms;
using Igia.Workflow.Engine;
using Igia.Workflow.Sla;
using Igia.Workflow.Subscriptions;
using Igia.Workflow;
using Igia.Workflow.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Quartz;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Igia.Workflow.</summary>
public static class IgiaWorkflowServiceCollectionExtensions
{
    /// <summary>
    /// Adds FHIR care workflow to an Igia FHIR server (call <c>AddIgiaFhirServer</c> too): the Task state machine,
    /// <c>PlanDefinition/$apply</c> and <c>ActivityDefinition/$apply</c>, SLA timers with escalation, and R4 Subscriptions
    /// Backport rest-hook notifications, run as Quartz.NET jobs: embedded on a SQLite file by default, or clustered on
    /// PostgreSQL (<see cref="WorkflowOptions.PostgreSqlJobStore"/>). <see cref="WorkflowOptions.DatabasePath"/>,
    /// <see cref="WorkflowOptions.PostgreSqlJobStore"/>, <see cref="WorkflowOptions.ClusterCheckinInterval"/> and
    /// <see cref="WorkflowOptions.PollInterval"/> are read from <paramref name="configure"/> here, because they shape the
    /// scheduler's registration.
    /// </summary>
    public static IgiaWorkflowBuilder AddIgiaWorkflow(this IServiceCollection services, Action<WorkflowOptions>? configure = null)
    {
        var options = services.AddOptions<WorkflowOptions>().ValidateDataAnnotations().ValidateOnStart()
            .Validate(o => EndpointPolicy.Validate(o.Subscriptions.AllowedEndpoints) is null, "WorkflowOptions.Subscriptions.AllowedEndpoints has an entry that is not an http(s) URL of scheme, host, optional port (':*' = any) and optional path.");
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirWriteValidator, TaskStateMachineValidator>());
        services.TryAddSingleton<CareProgramApplier>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirOperation, PlanDefinitionApplyOperation>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirOperation, ActivityDefinitionApplyOperation>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirWriteValidator, SubscriptionValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirOperation, SubscriptionStatusOperation>());
        services.TryAddSingleton<SlaService>();
        services.TryAddSingleton<WorkflowSignal>();
        services.TryAddSingleton(sp => new WorkflowDatabase(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<WorkflowOptions>>().Value));
        services.TryAddSingleton<WorkflowEngine>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirInteractionFilter, WakeFilter>());
        services.TryAddSingleton(sp => new EndpointPolicy(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<WorkflowOptions>>().Value.Subscriptions.AllowedEndpoints));
        services.AddTransient<RestHookHttp.AllowListHandler>();
        services.TryAddSingleton<SubscriberAccess>();
        services.TryAddSingleton<ChangeLogTrimmer>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirInteractionFilter, SubscriberCaptureFilter>());
        services.AddHttpClient(WorkflowEngine.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => RestHookHttp.CreatePrimaryHandler(sp.GetRequiredService<EndpointPolicy>()))
            .AddHttpMessageHandler<RestHookHttp.AllowListHandler>();

        var scheduler = new WorkflowOptions();
        configure?.Invoke(scheduler);
        AddScheduler(services, scheduler);
        return new IgiaWorkflowBuilder(services);
    }

    private static void AddScheduler(IServiceCollection services, WorkflowOptions options)
    {
        var path = Path.GetFullPath(options.DatabasePath);
        // Before the scheduler's hosted service: Quartz opens the file as it starts, and SQLite creates no folders.
        services.AddHostedService(_ => new WorkflowFolder(Path.GetDirectoryName(path)!));
        services.AddQuartz(q =>
        {
            // Re-query the store at least every second when idle: timers armed by another node (or a clock moved by hand) are seen promptly.
            q.ConfigureScheduler(o => o.IdleWaitTime = TimeSpan.FromSeconds(1));
            q.UsePersistentStore(store =>
            {
                if (options.PostgreSqlJobStore is { } postgres)
                {
                    store.UsePostgres(NpgsqlFactory.Instance, postgres);
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = options.ClusterCheckinInterval;
                        c.CheckinMisfireThreshold = options.ClusterCheckinInterval * 2;
                    });
                }
                else
                {
                    store.UseSqlite(QuartzSqliteFactory.Instance, new SqliteConnectionStringBuilder { DataSource = path, DefaultTimeout = 30 }.ToString());
                }

                // Quartz.NET creates its tables from its own DDL (create_sqlite.sql / create_postgres.sql, embedded in Quartz.dll) when missing.
                store.ProvisionSchema();
                store.ConfigureStore(o => o.StoreJobDataAsStrings = true);
            });
            q.AddJob<ChangeFeedJob>(j => j.WithIdentity(WorkflowSignal.PumpJob).StoreDurably().RequestRecovery());
            q.AddJob<SlaTimerJob>(j => j.WithIdentity(WorkflowSignal.SlaJob).StoreDurably().RequestRecovery());
            // Registers the delivery job type with the container; the per-Subscription jobs are added at run time under their own keys.
            q.AddJob<DeliveryJob>(j => j.WithIdentity(WorkflowSignal.DeliveryTemplateJob).StoreDurably());
            q.AddTrigger<ChangeFeedJob>(t => t.WithIdentity(WorkflowSignal.PollTrigger).ForJob(WorkflowSignal.PumpJob).StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create().WithInterval(options.PollInterval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
    }

    private sealed class WorkflowFolder(string folder) : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(folder);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
