using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>Keeps every log line (all levels, with exception text) so that tests can check no secret was ever logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public string AllText => string.Join("\n", Lines);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)}";
            if (exception is not null)
            {
                line += " | " + exception;
            }

            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                line += " | " + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"));
            }

            owner.Lines.Enqueue(line);
        }
    }
}
