namespace Igia.Fhir.Client;

/// <summary>Creates the FHIR clients registered with <c>AddIgiaFhirClient</c>. Safe to use from any number of tasks.</summary>
public interface IIgiaFhirClientFactory
{
    /// <summary>
    /// Creates a new, lightweight client for the registration <paramref name="name"/>, over a pooled handler chain. Dispose it
    /// (or let it go) when done; create one per unit of work rather than keeping one for the life of the application.
    /// </summary>
    /// <param name="name">The name given to <c>AddIgiaFhirClient</c>.</param>
    /// <exception cref="InvalidOperationException">No client of that name is registered.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The client's options are invalid.</exception>
    IgiaFhirClient CreateClient(string name);
}
