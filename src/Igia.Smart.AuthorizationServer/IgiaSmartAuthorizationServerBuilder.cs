using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Igia.Smart.AuthorizationServer;

/// <summary>Further configuration of the SMART authorization server; calls chain.</summary>
/// <param name="Services">The services.</param>
public sealed record IgiaSmartAuthorizationServerBuilder(IServiceCollection Services)
{
    /// <summary>Replaces the patient picker's search (default: Patients in the Igia FHIR store).</summary>
    public IgiaSmartAuthorizationServerBuilder UsePatientPicker<T>() where T : class, ISmartPatientPicker
    {
        Services.Replace(ServiceDescriptor.Scoped<ISmartPatientPicker, T>());
        return this;
    }

    /// <summary>Replaces the user store of the login page (default: <see cref="SmartAuthorizationServerOptions.Users"/>).</summary>
    public IgiaSmartAuthorizationServerBuilder UseUserStore<T>() where T : class, ISmartUserStore
    {
        Services.Replace(ServiceDescriptor.Singleton<ISmartUserStore, T>());
        return this;
    }

    /// <summary>Replaces where EHR launch contexts are kept (default: process memory), e.g. with a shared store for several instances.</summary>
    public IgiaSmartAuthorizationServerBuilder UseLaunchContexts<T>() where T : class, ISmartLaunchContexts
    {
        Services.Replace(ServiceDescriptor.Singleton<ISmartLaunchContexts, T>());
        return this;
    }
}
