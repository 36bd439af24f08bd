using Hl7.Fhir.Model;

namespace Igia.Fhir.Operations;

/// <summary>The operations registered in DI, looked up by name, level and resource type.</summary>
internal sealed class FhirOperationRegistry(IEnumerable<IFhirOperation> operations)
{
    private readonly IFhirOperation[] _operations = operations.ToArray();

    public IReadOnlyList<IFhirOperation> All => _operations;

    public IFhirOperation? Find(string name, FhirOperationLevel level, string? resourceType) =>
        _operations.FirstOrDefault(o => o.Name == name && o.Levels.HasFlag(level)
            && (level == FhirOperationLevel.System || o.ResourceTypes.Count == 0 || o.ResourceTypes.Contains(resourceType!)));

    /// <summary>Builds operation input from a GET query: each parameter becomes a string-valued Parameters entry.</summary>
    public static Parameters ParametersFromQuery(IEnumerable<KeyValuePair<string, string>> query)
    {
        var parameters = new Parameters();
        foreach (var (name, value) in query)
        {
            if (name is "_format" or "_pretty")
            {
                continue;
            }

            parameters.Parameter.Add(new Parameters.ParameterComponent { Name = name, Value = new FhirString(value) });
        }

        return parameters;
    }
}
