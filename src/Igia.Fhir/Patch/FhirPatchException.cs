// Hand-written: a plain exception type; Firely has no patch engine and hence no patch error to reuse.
namespace Igia.Fhir.Patch;

/// <summary>
/// Thrown when a patch document (FHIRPath Patch or JSON Patch) is malformed or cannot be applied to a resource.
/// The message says precisely what is wrong, naming operation indexes, paths and element names; it never quotes data
/// values of the resource or of the patch, so it can be returned to clients and logged.
/// </summary>
public sealed class FhirPatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, without data values.</param>
    public FhirPatchException(string message)
        : base(message)
    {
    }
}
