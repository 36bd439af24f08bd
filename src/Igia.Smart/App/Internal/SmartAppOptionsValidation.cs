using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;
using Microsoft.Extensions.Options;

namespace Igia.Smart.App.Internal;

internal sealed class SmartAppOptionsValidator : IValidateOptions<SmartAppOptions>
{
    public ValidateOptionsResult Validate(string? name, SmartAppOptions options)
    {
        var errors = new List<string>();
        foreach (var (what, path) in new[] { ("LaunchPath", options.LaunchPath), ("CallbackPath", options.CallbackPath) })
        {
            if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Contains('?', StringComparison.Ordinal) || path.Contains('#', StringComparison.Ordinal))
            {
                errors.Add($"SmartAppOptions.{what} must be a path starting with '/' (without query or fragment).");
            }
        }

        if (string.Equals(options.LaunchPath, options.CallbackPath, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add("SmartAppOptions.LaunchPath and CallbackPath must differ.");
        }

        if (string.IsNullOrEmpty(options.DefaultReturnUrl) || !SmartLaunchHandler.IsLocalUrl(options.DefaultReturnUrl))
        {
            errors.Add("SmartAppOptions.DefaultReturnUrl must be a local URL (starting with a single '/').");
        }

        if (string.IsNullOrWhiteSpace(options.CookieName) || options.CookieName.Any(c => c <= ' ' || c >= 0x7F || c is ';' or ',' or '='))
        {
            errors.Add("SmartAppOptions.CookieName must be a non-empty cookie name (printable ASCII, no space, ';', ',' or '=').");
        }

        if (string.IsNullOrWhiteSpace(options.SessionParameterName))
        {
            errors.Add("SmartAppOptions.SessionParameterName must not be empty.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class SmartServerOptionsValidator(SmartServerNames names, IOptions<SmartProtocolOptions> protocol) : IValidateOptions<SmartServerOptions>
{
    public ValidateOptionsResult Validate(string? name, SmartServerOptions options)
    {
        if (name is null || !names.Names.Contains(name, StringComparer.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var errors = new List<string>();
        var prefix = $"SMART server '{name}': ";
        if (options.FhirBaseUrl is not { IsAbsoluteUri: true } baseUrl || (baseUrl.Scheme != Uri.UriSchemeHttps && baseUrl.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add(prefix + "FhirBaseUrl must be an absolute http(s) URL.");
        }
        else if (protocol.Value.RequireHttps && !SmartHttp.IsSecure(baseUrl))
        {
            errors.Add(prefix + "FhirBaseUrl uses plain HTTP off loopback; use HTTPS (or set SmartProtocolOptions.RequireHttps = false for development).");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            errors.Add(prefix + "ClientId is required.");
        }

        switch (options.ClientAuthentication)
        {
            case SmartClientAuthentication.Public:
                if (options.ClientSecret is not null || options.SigningKey is not null)
                {
                    errors.Add(prefix + "a Public client has no ClientSecret or SigningKey; set ClientAuthentication to ClientSecretBasic or PrivateKeyJwt.");
                }

                break;
            case SmartClientAuthentication.ClientSecretBasic:
                if (string.IsNullOrEmpty(options.ClientSecret))
                {
                    errors.Add(prefix + "ClientSecretBasic needs a ClientSecret.");
                }

                break;
            case SmartClientAuthentication.PrivateKeyJwt:
                if (options.SigningKey is null)
                {
                    errors.Add(prefix + "PrivateKeyJwt needs a SigningKey (SmartSigningKey.FromPem, FromJwk or FromCertificate).");
                }

                break;
            default:
                errors.Add(prefix + "ClientAuthentication is not a known value.");
                break;
        }

        foreach (var (what, scopes) in new[] { ("Scopes", options.Scopes), ("StandaloneScopes", options.StandaloneScopes) })
        {
            if (what == "Scopes" && string.IsNullOrWhiteSpace(scopes))
            {
                errors.Add(prefix + "Scopes is required (e.g. \"openid fhirUser launch patient/*.rs offline_access\").");
                continue;
            }

            try
            {
                SmartScope.ParseList(scopes);
            }
            catch (FormatException e)
            {
                errors.Add(prefix + what + ": " + e.Message);
            }
        }

        if (options.RedirectUri is { } redirect && (!redirect.IsAbsoluteUri || !string.IsNullOrEmpty(redirect.Fragment)))
        {
            errors.Add(prefix + "RedirectUri must be absolute and have no fragment.");
        }

        if (options.AssertionLifetime <= TimeSpan.Zero || options.AssertionLifetime > SmartClientAssertion.MaxLifetime)
        {
            errors.Add(prefix + "AssertionLifetime must be positive and at most five minutes.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
