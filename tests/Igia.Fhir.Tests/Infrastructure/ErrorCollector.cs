using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Tests.Infrastructure;

/// <summary>Collects the errors a test host logs, so that a failed request's message can say what the server logged.</summary>
internal sealed class ErrorCollector : ILoggerProvider, ILogger
{
    /// <summary>The logged errors (category, message, exception type and stack).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Errors.Enqueue(formatter(state, exception) + (exception is null ? "" : "\n" + exception));
        }
    }
}
