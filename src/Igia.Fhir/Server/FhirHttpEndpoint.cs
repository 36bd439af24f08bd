using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Igia.Fhir.Server;

/// <summary>Turns an HTTP request into a <see cref="FhirInteraction"/>, runs it, and writes the <see cref="FhirResponse"/> back.</summary>
internal sealed class FhirHttpEndpoint(FhirPipeline pipeline, IOptions<FhirServerOptions> options, Operations.FhirOperationRegistry operations)
{
    private readonly FhirServerOptions _options = options.Value;

    public async Task HandleAsync(HttpContext context, string prefix)
    {
        var request = context.Request;
        var format = FhirFormat.Json;
        FhirResponse response;
        FhirInteraction? interaction = null;

        // MaxBodyBytes governs FHIR requests, not the web server's own default (Kestrel's is 30 MB).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = _options.MaxBodyBytes;
        }

        try
        {
            format = NegotiateFormat(request);
            interaction = await ReadInteractionAsync(context, prefix);
            response = await pipeline.ExecuteAsync(interaction);
        }
        catch (FhirException e)
        {
            response = new FhirResponse { StatusCode = e.StatusCode, Resource = e.Outcome };
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            response = FhirResponse.Error(HttpStatusCode.RequestEntityTooLarge, OperationOutcome.IssueType.TooCostly, $"The request body is larger than {_options.MaxBodyBytes} bytes.");
        }

        await WriteResponseAsync(context, response, format, interaction, prefix);
    }

    /// <summary>The FHIR base URL of a request.</summary>
    public string BaseUrl(HttpRequest request, string prefix) =>
        _options.BaseUrl?.ToString().TrimEnd('/') ?? $"{request.Scheme}://{request.Host}{request.PathBase}{prefix}".TrimEnd('/');

    private async Task<FhirInteraction> ReadInteractionAsync(HttpContext context, string prefix)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var relative = path.Length > prefix.Length ? path[prefix.Length..].TrimStart('/') : "";
        var route = FhirRoute.Parse(request.Method, relative);

        var parameters = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in request.Query)
        {
            foreach (var value in values)
            {
                parameters.Add(new(key, value ?? ""));
            }
        }

        Resource? body = null;
        JsonNode? jsonPatch = null;
        if (route.PostSearch)
        {
            if (request.HasFormContentType)
            {
                IFormCollection form;
                try
                {
                    form = await request.ReadFormAsync(context.RequestAborted);
                }
                catch (InvalidDataException e)
                {
                    // The form reader's limits (value count, key and value length) are the client's problem.
                    throw FhirException.BadRequest($"The form body of POST _search is not acceptable: {e.Message}");
                }

                foreach (var (key, values) in form)
                {
                    foreach (var value in values)
                    {
                        parameters.Add(new(key, value ?? ""));
                    }
                }
            }
            else if (request.ContentLength > 0)
            {
                throw new FhirException(HttpStatusCode.UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, "POST _search takes application/x-www-form-urlencoded parameters.");
            }
        }
        else if (request.Method is "POST" or "PUT" or "PATCH")
        {
            (body, jsonPatch) = await ReadBodyAsync(request, route.Kind, LenientBody(route), context.RequestAborted);
        }

        var kind = route.Kind;
        if (kind == FhirInteractionKind.Batch)
        {
            kind = body is Bundle { Type: Bundle.BundleType.Transaction } ? FhirInteractionKind.Transaction
                : body is Bundle { Type: Bundle.BundleType.Batch } ? FhirInteractionKind.Batch
                : throw FhirException.BadRequest("POST to the server base takes a Bundle of type 'batch' or 'transaction'.");
        }

        return new FhirInteraction
        {
            Kind = kind,
            ResourceType = route.ResourceType,
            Id = route.Id,
            VersionId = route.VersionId,
            CompartmentType = route.CompartmentType,
            CompartmentId = route.CompartmentId,
            OperationName = route.OperationName,
            Parameters = parameters,
            Resource = body,
            JsonPatch = jsonPatch,
            Headers = ReadHeaders(request),
            User = context.User,
            HttpContext = context,
            Method = request.Method,
            RelativeUrl = relative + request.QueryString.Value,
            BaseUrl = BaseUrl(request, prefix),
            CancellationToken = context.RequestAborted,
        };
    }

    /// <summary>Whether the route is an operation that takes its body leniently (<see cref="Operations.IFhirOperation.LenientBody"/>).</summary>
    private bool LenientBody(FhirRoute route) =>
        route.Kind == FhirInteractionKind.Operation && route.OperationName is { } name
        && operations.Find(name, route.ResourceType is null ? Operations.FhirOperationLevel.System : route.Id is null ? Operations.FhirOperationLevel.Type : Operations.FhirOperationLevel.Instance, route.ResourceType)?.LenientBody == true;

    private async Task<(Resource? Body, JsonNode? JsonPatch)> ReadBodyAsync(HttpRequest request, FhirInteractionKind kind, bool lenient, CancellationToken cancellationToken)
    {
        if (request.ContentLength > _options.MaxBodyBytes)
        {
            throw new FhirException(HttpStatusCode.RequestEntityTooLarge, OperationOutcome.IssueType.TooCostly, $"The request body is larger than {_options.MaxBodyBytes} bytes.");
        }

        var bytes = await ReadLimitedAsync(request.Body, _options.MaxBodyBytes, cancellationToken);
        if (bytes.Length == 0)
        {
            if (kind == FhirInteractionKind.Operation)
            {
                return (null, null);
            }

            throw FhirException.BadRequest("The request has no body; a FHIR resource was expected.");
        }

        var mediaType = MediaTypeOf(request.ContentType);
        switch (mediaType)
        {
            case FhirFormats.JsonPatch when kind == FhirInteractionKind.Patch:
                try
                {
                    return (null, JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = FhirFormats.MaxJsonDepth }));
                }
                catch (JsonException e)
                {
                    throw FhirException.BadRequest($"The JSON Patch document is not valid JSON: {e.Message.Split(" Path:")[0]}");
                }

            case "application/fhir+json" or "application/json" or "text/json":
                return (FhirFormats.ParseJson(bytes, lenient), null);
            case "application/fhir+xml" or "application/xml" or "text/xml":
                return (FhirFormats.ParseXml(new MemoryStream(bytes), lenient), null);
            case null:
                throw new FhirException(HttpStatusCode.UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, "The request has no Content-Type; use application/fhir+json or application/fhir+xml.");
            default:
                throw new FhirException(HttpStatusCode.UnsupportedMediaType, OperationOutcome.IssueType.NotSupported,
                    $"Content-Type '{Truncate(mediaType)}' is not supported here; use application/fhir+json or application/fhir+xml{(kind == FhirInteractionKind.Patch ? " or application/json-patch+json" : "")}.");
        }
    }

    private static async Task<byte[]> ReadLimitedAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new FhirException(HttpStatusCode.RequestEntityTooLarge, OperationOutcome.IssueType.TooCostly, $"The request body is larger than {limit} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static FhirRequestHeaders ReadHeaders(HttpRequest request)
    {
        var h = request.Headers;
        var prefer = h["Prefer"].ToString();
        var returnPreference = FhirReturnPreference.Representation;
        var strict = false;
        foreach (var part in prefer.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (part)
            {
                case "return=minimal":
                    returnPreference = FhirReturnPreference.Minimal;
                    break;
                case "return=OperationOutcome":
                    returnPreference = FhirReturnPreference.OperationOutcome;
                    break;
                case "handling=strict":
                    strict = true;
                    break;
            }
        }

        DateTimeOffset? ifModifiedSince = null;
        if (!StringValues.IsNullOrEmpty(h.IfModifiedSince)
            && DateTimeOffset.TryParse(h.IfModifiedSince.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ims))
        {
            ifModifiedSince = ims;
        }

        return new FhirRequestHeaders
        {
            IfMatch = NullIfEmpty(h.IfMatch),
            IfNoneMatch = NullIfEmpty(h.IfNoneMatch),
            IfModifiedSince = ifModifiedSince,
            IfNoneExist = NullIfEmpty(h["If-None-Exist"]),
            Return = returnPreference,
            StrictHandling = strict,
        };
    }

    private static string? NullIfEmpty(StringValues v) => StringValues.IsNullOrEmpty(v) ? null : v.ToString();

    /// <summary>Picks the response format from <c>_format</c>, then <c>Accept</c>; JSON when the client does not care.</summary>
    internal static FhirFormat NegotiateFormat(HttpRequest request)
    {
        // A '+' left unescaped in the query (_format=application/fhir+xml) arrives as a space.
        var format = request.Query["_format"].ToString().Replace(' ', '+');
        if (format.Length > 0)
        {
            return MediaTypeOf(format) switch
            {
                "json" or "application/json" or "application/fhir+json" or "text/json" => FhirFormat.Json,
                "xml" or "application/xml" or "application/fhir+xml" or "text/xml" => FhirFormat.Xml,
                _ => throw new FhirException(HttpStatusCode.NotAcceptable, OperationOutcome.IssueType.NotSupported, "_format must be json or xml (or a FHIR media type)."),
            };
        }

        var accept = request.Headers.Accept.ToString();
        if (accept.Length == 0)
        {
            return FhirFormat.Json;
        }

        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var types))
        {
            return FhirFormat.Json;
        }

        foreach (var type in types.OrderByDescending(t => t.Quality ?? 1.0))
        {
            switch (type.MediaType.Value?.ToLowerInvariant())
            {
                case "application/fhir+json" or "application/json" or "text/json" or "*/*" or "application/*":
                    return FhirFormat.Json;
                case "application/fhir+xml" or "application/xml" or "text/xml":
                    return FhirFormat.Xml;
            }
        }

        throw new FhirException(HttpStatusCode.NotAcceptable, OperationOutcome.IssueType.NotSupported, "Accept names no format this server produces (application/fhir+json, application/fhir+xml).");
    }

    private static string? MediaTypeOf(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';');
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim().ToLowerInvariant();
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";

    private async Task WriteResponseAsync(HttpContext context, FhirResponse response, FhirFormat format, FhirInteraction? interaction, string prefix)
    {
        var http = context.Response;
        http.StatusCode = (int)response.StatusCode;
        if (response.VersionId is not null)
        {
            http.Headers.ETag = $"W/\"{response.VersionId}\"";
        }

        if (response.LastModified is { } lastModified)
        {
            http.Headers.LastModified = lastModified.ToString("R", CultureInfo.InvariantCulture);
        }

        if (response.Location is not null)
        {
            var absolute = $"{BaseUrl(context.Request, prefix)}/{response.Location}";
            if (response.StatusCode == HttpStatusCode.Created)
            {
                http.Headers.Location = absolute;
            }

            http.Headers.ContentLocation = absolute;
        }

        foreach (var (name, value) in response.Headers)
        {
            http.Headers[name] = value;
        }

        if (response.StatusCode is HttpStatusCode.NotModified or HttpStatusCode.NoContent
            || (response.UnparsedJson is null && response.UnparsedBundle is null && response.Resource is null))
        {
            return;
        }

        http.ContentType = (format == FhirFormat.Json ? FhirFormats.FhirJson : FhirFormats.FhirXml) + "; charset=utf-8";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        // The shaping parameters come from the interaction, so that POST _search form parameters count like query ones.
        var pretty = ShapingParameter(context, interaction, "_pretty") == "true";
        string? summary = null;
        string[]? elements = null;
        if (response.IsSuccess && interaction?.Kind is FhirInteractionKind.Read or FhirInteractionKind.VRead or FhirInteractionKind.Search or FhirInteractionKind.History)
        {
            summary = ShapingParameter(context, interaction, "_summary") is { Length: > 0 } s && s != "false" && s != "count" ? s : null;
            elements = ShapingParameter(context, interaction, "_elements") is { Length: > 0 } e
                ? e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : null;
        }

        if (format == FhirFormat.Json && !pretty && summary is null && elements is null)
        {
            // The stored JSON is exactly what the serializer would write: send it as it is (a search Bundle: spliced into
            // the Bundle's frame), unless a filter asked for the object meanwhile.
            var stored = response.UnparsedJson ?? response.UnparsedBundle?.ToJson();
            if (stored is not null)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(stored);
                http.ContentLength = bytes.Length;
                await http.Body.WriteAsync(bytes, context.RequestAborted);
                return;
            }
        }

        var body = response.Resource!;
        if (elements is { Length: > 0 } && body is not OperationOutcome)
        {
            // Per resource, keeping id, meta and mandatory elements, tagged SUBSETTED (search.html#elements).
            body = ElementsSubset.Apply(body, elements, interaction!.Kind is FhirInteractionKind.Search or FhirInteractionKind.History);
            elements = null;
        }

        await FhirFormats.WriteAsync(http.Body, body, format, new FhirWriteOptions(pretty, summary, elements), context.RequestAborted);
    }

    /// <summary>A shaping parameter (<c>_pretty</c>, <c>_summary</c>, <c>_elements</c>): its first value in the interaction's parameters (query and POST _search form), else in the query.</summary>
    private static string? ShapingParameter(HttpContext context, FhirInteraction? interaction, string name)
    {
        if (interaction is not null)
        {
            foreach (var (key, value) in interaction.Parameters)
            {
                if (key == name)
                {
                    return value;
                }
            }

            return null;
        }

        return context.Request.Query[name].ToString() is { Length: > 0 } v ? v : null;
    }
}
