using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Terminology.Internal;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;

namespace Igia.Terminology.Remote;

/// <summary>
/// Caches the successful answers of another backend (a remote server) for a while, in the in-process
/// <see cref="IMemoryCache"/> or in an <see cref="IDistributedCache"/> shared by several instances. The key is the operation,
/// the instance id, the language and a hash of the request's Parameters as FHIR JSON; errors are never cached. Cached
/// resources are copies, so callers may change what they get.
/// </summary>
internal sealed class CachingTerminologyBackend : ITerminologyBackend
{
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
    private readonly ITerminologyBackend _inner;
    private readonly IMemoryCache? _memory;
    private readonly IDistributedCache? _distributed;
    private readonly TimeSpan _duration;

    public CachingTerminologyBackend(ITerminologyBackend inner, TimeSpan duration, IMemoryCache? memory, IDistributedCache? distributed)
    {
        if (memory is null && distributed is null)
        {
            throw new ArgumentException("A memory or a distributed cache is needed.", nameof(memory));
        }

        _inner = inner;
        _duration = duration;
        _memory = memory;
        _distributed = distributed;
    }

    public string Name => _inner.Name;

    public ITerminologyBackend Inner => _inner;

    public async Task<Resource> ExecuteAsync(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context, CancellationToken cancellationToken)
    {
        var key = Key(operation, parameters, context);
        if (_memory is not null)
        {
            if (_memory.TryGetValue(key, out Resource? hit) && hit is not null)
            {
                TerminologyTelemetry.CacheHits.Add(1, new KeyValuePair<string, object?>("backend", Name));
                return (Resource)hit.DeepCopy();
            }
        }
        else if (await _distributed!.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } bytes)
        {
            if (JsonSerializer.Deserialize<Resource>(bytes, Json) is { } cached)
            {
                TerminologyTelemetry.CacheHits.Add(1, new KeyValuePair<string, object?>("backend", Name));
                return cached;
            }
        }

        TerminologyTelemetry.CacheMisses.Add(1, new KeyValuePair<string, object?>("backend", Name));
        var result = await _inner.ExecuteAsync(operation, parameters, context, cancellationToken).ConfigureAwait(false);
        if (_memory is not null)
        {
            _memory.Set(key, (Resource)result.DeepCopy(), new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = _duration, Size = 1 });
        }
        else
        {
            await _distributed!.SetAsync(key, JsonSerializer.SerializeToUtf8Bytes(result, Json),
                new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = _duration }, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    internal string Key(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(parameters, Json);
        var hash = Convert.ToHexString(SHA256.HashData(body));
        var b = new StringBuilder("igia-terminology:").Append(Name).Append(':').Append(operation).Append(':')
            .Append(context.Id).Append(':').Append(context.AcceptLanguage).Append(':').Append(hash);
        return b.ToString();
    }
}
