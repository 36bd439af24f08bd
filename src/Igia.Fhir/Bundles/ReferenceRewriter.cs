using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Fhir.Bundles;

/// <summary>
/// Rewrites the references inside a transaction entry: fullUrls of other entries (<c>urn:uuid:</c>, absolute)
/// to the ids assigned to them, and conditional references (<c>Patient?identifier=…</c>) to the one resource they match.
/// Written by hand: Firely has no transaction reference resolution.
/// </summary>
internal static class ReferenceRewriter
{
    public static async System.Threading.Tasks.Task RewriteAsync(Resource resource, IReadOnlyDictionary<string, string> fullUrls, Func<string, string, Task<string>> resolveConditional, int entryIndex)
    {
        foreach (var reference in References(resource))
        {
            var value = reference.Reference;
            if (string.IsNullOrEmpty(value) || value.StartsWith('#'))
            {
                continue;
            }

            if (fullUrls.TryGetValue(value, out var target))
            {
                reference.Reference = target;
            }
            else if (value.StartsWith("urn:uuid:", StringComparison.Ordinal) || value.StartsWith("urn:oid:", StringComparison.Ordinal))
            {
                throw FhirException.BadRequest($"Transaction entry {entryIndex}: the reference '{value}' matches no fullUrl in the Bundle.");
            }
            else if (value.IndexOf('?') is > 0 and var q && !value.AsSpan(0, q).Contains("://", StringComparison.Ordinal))
            {
                var type = value[..q];
                if (!ModelInfo.IsKnownResource(type))
                {
                    throw FhirException.BadRequest($"Transaction entry {entryIndex}: the conditional reference names an unknown resource type.");
                }

                reference.Reference = await resolveConditional(type, value[(q + 1)..]);
            }
        }
    }

    /// <summary>Every Reference in the resource, contained resources included.</summary>
    private static IEnumerable<ResourceReference> References(Base node)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            if (value is IEnumerable<Base> list)
            {
                foreach (var item in list)
                {
                    foreach (var r in Visit(item))
                    {
                        yield return r;
                    }
                }
            }
            else if (value is Base child)
            {
                foreach (var r in Visit(child))
                {
                    yield return r;
                }
            }
        }

        static IEnumerable<ResourceReference> Visit(Base child)
        {
            if (child is ResourceReference reference)
            {
                yield return reference;
            }

            if (child is not PrimitiveType)
            {
                foreach (var r in References(child))
                {
                    yield return r;
                }
            }
        }
    }
}
