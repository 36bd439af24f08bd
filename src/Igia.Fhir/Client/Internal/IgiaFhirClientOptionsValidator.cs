using System.ComponentModel.DataAnnotations;
using Hl7.Fhir.Rest;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Client.Internal;

/// <summary>Validates <see cref="IgiaFhirClientOptions"/> (data annotations on it and its nested options, plus the rules that span fields).</summary>
internal sealed class IgiaFhirClientOptionsValidator : IValidateOptions<IgiaFhirClientOptions>
{
    public ValidateOptionsResult Validate(string? name, IgiaFhirClientOptions options)
    {
        var errors = new List<string>();
        var prefix = $"FHIR client '{name}': ";
        Annotate(options, nameof(IgiaFhirClientOptions), errors);
        Annotate(options.Retry, nameof(IgiaFhirClientOptions.Retry), errors);
        Annotate(options.CircuitBreaker, nameof(IgiaFhirClientOptions.CircuitBreaker), errors);

        if (options.BaseUrl is { } url)
        {
            if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"{nameof(IgiaFhirClientOptions.BaseUrl)} must be an absolute http or https URL.");
            }
            else if (url.Query.Length > 0 || url.Fragment.Length > 0)
            {
                errors.Add($"{nameof(IgiaFhirClientOptions.BaseUrl)} must not have a query or fragment.");
            }
        }

        if (options.Format is not (ResourceFormat.Json or ResourceFormat.Xml))
        {
            errors.Add($"{nameof(IgiaFhirClientOptions.Format)} must be Json or Xml.");
        }

        if (options.PreferReturn is { } prefer && !Enum.IsDefined(prefer))
        {
            errors.Add($"{nameof(IgiaFhirClientOptions.PreferReturn)} must be Minimal, Representation, OperationOutcome or null.");
        }

        if (options.Retry.SafeOperations.Any(o => string.IsNullOrWhiteSpace(o) || o.StartsWith('$')))
        {
            errors.Add("Retry.SafeOperations holds operation names without '$'.");
        }

        if (options.AttemptTimeout > options.TotalTimeout)
        {
            errors.Add($"{nameof(IgiaFhirClientOptions.AttemptTimeout)} ({options.AttemptTimeout}) must not be longer than {nameof(IgiaFhirClientOptions.TotalTimeout)} ({options.TotalTimeout}).");
        }

        if (options.Retry.BaseDelay > options.Retry.MaxDelay)
        {
            errors.Add($"Retry.{nameof(FhirClientRetryOptions.BaseDelay)} must not be longer than Retry.{nameof(FhirClientRetryOptions.MaxDelay)}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => prefix + e));
    }

    private static void Annotate(object instance, string path, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true))
        {
            foreach (var result in results)
            {
                var members = string.Join(", ", result.MemberNames.Select(m => path == nameof(IgiaFhirClientOptions) ? m : $"{path}.{m}"));
                errors.Add($"{members}: {result.ErrorMessage}");
            }
        }
    }
}
