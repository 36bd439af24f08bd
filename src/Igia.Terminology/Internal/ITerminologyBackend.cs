using Hl7.Fhir.Model;

namespace Igia.Terminology.Internal;

/// <summary>Something that performs terminology operations: the local engine or a remote server (optionally cached).</summary>
internal interface ITerminologyBackend
{
    /// <summary>A name for logs, metrics and health checks.</summary>
    string Name { get; }

    /// <summary>Runs an operation; errors are <see cref="TerminologyOperationException"/>.</summary>
    Task<Resource> ExecuteAsync(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context, CancellationToken cancellationToken);
}
