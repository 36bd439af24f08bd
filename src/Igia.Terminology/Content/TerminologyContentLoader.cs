using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Igia.Terminology.Content;

/// <summary>
/// Loads the configured content (packages, the core specification, files) in the background at start-up, logging progress;
/// operations wait for it (up to <see cref="TerminologyOptions.LoadWaitTimeout"/>), the health check reports it.
/// </summary>
internal sealed class TerminologyContentLoader(
    TerminologyResources resources,
    IEnumerable<ContentSource> sources,
    TerminologyLoadState state,
    ILogger<TerminologyContentLoader> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Run(() => Load(stoppingToken), stoppingToken);

    private void Load(CancellationToken stoppingToken)
    {
        var all = sources.OrderBy(s => s.Order).ToList();
        var context = new ContentSource.ContentLoadContext();
        var total = Stopwatch.StartNew();
        logger.LogInformation("Loading terminology content from {Count} source(s)", all.Count);
        for (var i = 0; i < all.Count; i++)
        {
            var source = all[i];
            var watch = Stopwatch.StartNew();
            try
            {
                var added = source.Load(resources, context, stoppingToken);
                logger.LogInformation("Terminology content {Index}/{Count}: {Source}: {Added} resources in {Elapsed} ms", i + 1, all.Count, source.Description, added, watch.ElapsedMilliseconds);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                state.Errors.Add($"{source.Description}: {e.Message}");
                logger.LogError(e, "Terminology content {Index}/{Count}: {Source} failed to load", i + 1, all.Count, source.Description);
            }
        }

        foreach (var w in context.Warnings)
        {
            state.Warnings.Add(w);
            logger.LogWarning("Terminology content: {Warning}", w);
        }

        logger.LogInformation("Terminology content loaded in {Elapsed} ms: {CodeSystems} code systems, {ValueSets} value sets, {ConceptMaps} concept maps",
            total.ElapsedMilliseconds, resources.CodeSystemCount, resources.ValueSetCount, resources.ConceptMapCount);
        resources.MarkLoaded();
    }
}

/// <summary>What went wrong or was missing while loading content, for the health check.</summary>
internal sealed class TerminologyLoadState
{
    public System.Collections.Concurrent.ConcurrentBag<string> Errors { get; } = [];

    public System.Collections.Concurrent.ConcurrentBag<string> Warnings { get; } = [];
}
