using Hl7.Fhir.Model;

namespace Igia.Fhir.Serialization;

/// <summary>
/// <c>_elements</c> (search.html#elements): keeps only the named top-level elements of a resource, plus <c>id</c>,
/// <c>meta</c> and the elements the resource type makes mandatory (min cardinality 1), and marks the copy with the
/// <c>SUBSETTED</c> tag. Firely's <c>SerializationFilter.ForElements</c> filters a whole document by name, which for a
/// searchset Bundle also drops each entry's id and meta; this works per resource on the model instead (Firely has no
/// per-resource form of it).
/// </summary>
internal static class ElementsSubset
{
    /// <summary>The tag of a resource that is not complete (R4 v3-ObservationValue SUBSETTED).</summary>
    public static readonly Coding SubsettedTag = new("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "SUBSETTED");

    /// <summary>
    /// Applies <paramref name="elements"/> (names such as <c>name</c> or <c>Patient.name</c>) to a read result, or to each
    /// matched entry of a search or history Bundle. Included resources and OperationOutcome entries are left whole.
    /// </summary>
    public static Resource Apply(Resource resource, IReadOnlyList<string> elements, bool isBundleOfResults)
    {
        if (!isBundleOfResults || resource is not Bundle bundle)
        {
            return Subset(resource, elements);
        }

        var copy = (Bundle)bundle.DeepCopy();
        foreach (var entry in copy.Entry)
        {
            if (entry.Resource is { } entryResource && entry.Search?.Mode is null or Bundle.SearchEntryMode.Match)
            {
                entry.Resource = Subset(entryResource, elements);
            }
        }

        return copy;
    }

    /// <summary>A copy of <paramref name="resource"/> with only the named, mandatory, id and meta elements, tagged SUBSETTED.</summary>
    public static Resource Subset(Resource resource, IReadOnlyList<string> elements)
    {
        var type = resource.TypeName;
        var keep = new HashSet<string>(StringComparer.Ordinal) { "id", "meta" };
        foreach (var element in elements)
        {
            var dot = element.IndexOf('.');
            if (dot < 0)
            {
                keep.Add(element);
            }
            else if (string.Equals(element[..dot], type, StringComparison.Ordinal))
            {
                keep.Add(element[(dot + 1)..]);
            }
        }

        var mapping = ModelInfo.ModelInspector.FindClassMapping(resource.GetType())
            ?? throw new InvalidOperationException($"No class mapping for {type}.");
        var subset = (Resource)Activator.CreateInstance(resource.GetType())!;
        foreach (var property in mapping.PropertyMappings)
        {
            if ((keep.Contains(property.Name) || property.IsMandatoryElement) && resource.TryGetValue(property.Name, out var value) && value is not null)
            {
                subset.SetValue(property.Name, value is Base b ? b.DeepCopy() : value);
            }
        }

        subset.Meta ??= new Meta();
        if (!subset.Meta.Tag.Any(t => t.System == SubsettedTag.System && t.Code == SubsettedTag.Code))
        {
            subset.Meta.Tag.Add((Coding)SubsettedTag.DeepCopy());
        }

        return subset;
    }
}
