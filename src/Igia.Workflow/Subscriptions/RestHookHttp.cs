using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// The HTTP stack of the <c>Igia.Workflow.RestHook</c> client: a primary <see cref="SocketsHttpHandler"/> that follows
/// no redirects, uses no proxy and connects only to addresses the allow-list admits (checked on the resolved IP in
/// <see cref="SocketsHttpHandler.ConnectCallback"/>, so DNS rebinding cannot point an allowed name at an internal
/// service), and a handler that checks every request's URL against the allow-list before it is sent.
/// </summary>
internal static partial class RestHookHttp
{
    public static SocketsHttpHandler CreatePrimaryHandler(EndpointPolicy policy) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false, // a proxy would make the connect-time check judge the proxy, not the endpoint
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2), // re-resolve names now and then
        ConnectCallback = (context, ct) => ConnectAsync(policy, context, ct),
    };

    /// <summary>Resolves the host and connects to the first address the allow-list admits.</summary>
    internal static async ValueTask<Stream> ConnectAsync(EndpointPolicy policy, SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var uri = context.InitialRequestMessage.RequestUri!;
        var allowPrivate = policy.AllowsPrivateAddresses(uri);
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        SocketException? last = null;
        IPAddress? refused = null;
        foreach (var address in addresses)
        {
            if (EndpointPolicy.Refuses(address, allowPrivate))
            {
                refused ??= address;
                continue;
            }

            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        if (last is not null)
        {
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"Could not connect to {uri.Scheme}://{uri.Authority}.", last);
        }

        throw new EndpointRefusedException(refused is null
            ? $"{uri.Scheme}://{uri.Authority} resolves to no address."
            : $"Refused to connect to {uri.Scheme}://{uri.Authority}: it resolves to {refused}, and {EndpointPolicy.Describe(refused)}.");
    }

    /// <summary>Checks each request against the allow-list before it is sent (the allow-list may have changed since the Subscription was written).</summary>
    internal sealed partial class AllowListHandler(EndpointPolicy policy, ILogger<AllowListHandler> logger) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var reason = "The request has no URL.";
            if (request.RequestUri is not { } uri || !policy.Allows(uri, out reason))
            {
                LogRefused(logger, reason);
                throw new EndpointRefusedException(reason);
            }

            return base.SendAsync(request, cancellationToken);
        }

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
            SendAsync(request, cancellationToken).GetAwaiter().GetResult();

        [LoggerMessage(Level = LogLevel.Warning, Message = "Rest-hook notification not sent: {Reason}")]
        private static partial void LogRefused(ILogger logger, string reason);
    }
}

/// <summary>A notification the endpoint allow-list refused (a failed delivery: retried with back-off, counted towards the error state).</summary>
internal sealed class EndpointRefusedException(string message) : HttpRequestException(HttpRequestError.ConnectionError, message);
