// Hand-written: Firely evaluates the FHIRPath and describes the model (ClassMapping), but has no FHIRPath Patch applier.
using System.Collections;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;

namespace Igia.Fhir.Patch;

/// <summary>
/// Applies a FHIRPath Patch (a Parameters resource, http://hl7.org/fhir/R4/fhirpatch.html): its operations add, insert,
/// delete, replace and move are applied in order to a copy of the resource.
/// </summary>
internal static class FhirPathPatch
{
    private static readonly ModelInspector Model = ModelInfo.ModelInspector;

    // The parts each operation type needs, besides 'type' and 'path'; no other parts are allowed.
    private static readonly Dictionary<string, string[]> PartsOf = new()
    {
        ["add"] = ["name", "value"],
        ["insert"] = ["value", "index"],
        ["delete"] = [],
        ["replace"] = ["value"],
        ["move"] = ["source", "destination"],
    };

    /// <summary>Applies <paramref name="patch"/> to a copy of <paramref name="input"/>; neither argument is changed.</summary>
    /// <returns>The patched copy, checked to be valid FHIR.</returns>
    /// <exception cref="FhirPatchException">The patch is malformed, an operation cannot be applied, or the result is not valid FHIR.</exception>
    public static Resource Apply(Resource input, Parameters patch)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(patch);

        var resource = (Resource)input.DeepCopy();
        for (var i = 0; i < patch.Parameter.Count; i++)
        {
            var operation = Operation.Read(patch.Parameter[i], i);
            switch (operation.Type)
            {
                case "add": Add(resource, operation); break;
                case "insert": Insert(resource, operation); break;
                case "delete": Delete(resource, operation); break;
                case "replace": Replace(resource, operation); break;
                case "move": Move(resource, operation); break;
            }
        }

        // The spec requires an error when the outcome is not a valid resource; the round trip also drops elements a delete left empty.
        return PatchedResource.Reparse(resource);
    }

    private static void Add(Resource resource, Operation op)
    {
        var container = SelectOne(resource, op, IndexElements(resource));
        var property = FindProperty(Model.FindOrImportClassMapping(container)!, op.Name!, op);
        Set(container, property, CreateValue(op.Value!, property, op), op);
    }

    private static void Insert(Resource resource, Operation op)
    {
        var (list, property) = SelectList(resource, op);
        if (op.Index > list.Count)
        {
            throw op.Error($"index {op.Index} is out of range; the list has {list.Count} element(s), so the index must be 0 to {list.Count}.");
        }

        list.Insert(op.Index!.Value, CreateValue(op.Value!, property, op));
    }

    private static void Delete(Resource resource, Operation op)
    {
        var locations = IndexElements(resource);
        var matches = Evaluate(resource, op, locations);
        if (matches.Count == 0)
        {
            return; // The spec: deleting an element that is not there is not an error.
        }

        if (matches.Count > 1)
        {
            throw op.Error($"the path matches {matches.Count} elements; a delete must match at most one.");
        }

        var location = LocationOf(matches[0], locations, op);
        if (location.Position is { } position)
        {
            List(location.Parent, location.Property).RemoveAt(position);
        }
        else
        {
            location.Parent.SetValue(location.Property.Name, null);
        }
    }

    private static void Replace(Resource resource, Operation op)
    {
        var locations = IndexElements(resource);
        var location = LocationOf(SelectOne(resource, op, locations), locations, op);
        var value = CreateValue(op.Value!, location.Property, op);
        if (location.Position is { } position)
        {
            List(location.Parent, location.Property)[position] = value;
        }
        else
        {
            location.Parent.SetValue(location.Property.Name, value);
        }
    }

    private static void Move(Resource resource, Operation op)
    {
        var (list, _) = SelectList(resource, op);
        foreach (var (part, index) in new[] { ("source", op.Source!.Value), ("destination", op.Destination!.Value) })
        {
            if (index >= list.Count)
            {
                throw op.Error($"{part} {index} is out of range; the list has {list.Count} element(s), so it must be 0 to {list.Count - 1}.");
            }
        }

        var item = list[op.Source!.Value];
        list.RemoveAt(op.Source.Value);
        list.Insert(op.Destination!.Value, item);
    }

    // ---- paths ----------------------------------------------------------------------------------------------------------

    /// <summary>Where an element sits: its parent, the element's property and, for a repeating element, its list position.</summary>
    private readonly record struct Location(Base Parent, PropertyMapping Property, int? Position);

    /// <summary>The parent, element name and list position of every element below the resource, by reference.</summary>
    private static Dictionary<Base, (Base Parent, string Name, int? Position)> IndexElements(Resource resource)
    {
        var index = new Dictionary<Base, (Base, string, int?)>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Base>([resource]);
        while (pending.TryPop(out var parent))
        {
            foreach (var (name, value) in parent.EnumerateElements())
            {
                if (value is Base child)
                {
                    index[child] = (parent, name, null);
                    pending.Push(child);
                }
                else if (value is IEnumerable<Base> children)
                {
                    var position = 0;
                    foreach (var item in children)
                    {
                        index[item] = (parent, name, position++);
                        pending.Push(item);
                    }
                }
            }
        }

        return index;
    }

    /// <summary>Evaluates the operation's path with Firely's FHIRPath engine; every match must be an element of this resource.</summary>
    private static List<Base> Evaluate(Resource resource, Operation op, Dictionary<Base, (Base, string, int?)> locations)
    {
        List<Base> matches;
        try
        {
            matches = resource.Select(op.Path).OfType<Base>().ToList();
        }
        catch (FormatException e)
        {
            throw op.Error($"the path is not valid FHIRPath ({e.Message}).");
        }
        catch (Exception e) when (e is not FhirPatchException)
        {
            throw op.Error("the path could not be evaluated.");
        }

        if (matches.Any(m => !ReferenceEquals(m, resource) && !locations.ContainsKey(m)))
        {
            throw op.Error("the path must select elements of the resource being patched, not computed values or elements of other resources.");
        }

        return matches;
    }

    private static Base SelectOne(Resource resource, Operation op, Dictionary<Base, (Base, string, int?)> locations) =>
        Evaluate(resource, op, locations) switch
        {
            [] => throw op.Error("the path matches nothing."),
            [var one] => one,
            var many => throw op.Error($"the path matches {many.Count} elements; it must match exactly one."),
        };

    private static Location LocationOf(Base element, Dictionary<Base, (Base, string, int?)> locations, Operation op)
    {
        if (!locations.TryGetValue(element, out var location))
        {
            throw op.Error($"the path selects the resource itself; a {op.Type} needs an element inside it.");
        }

        var (parent, name, position) = location;
        var property = Model.FindOrImportClassMapping(parent)?.FindMappedElementByName(name)
            ?? throw new InvalidOperationException($"Firely has no mapping for the element '{name}' it enumerated.");
        return new Location(parent, property, position);
    }

    /// <summary>For insert and move: the path must select all elements of one repeating element (e.g. Patient.identifier).</summary>
    private static (IList List, PropertyMapping Property) SelectList(Resource resource, Operation op)
    {
        var locations = IndexElements(resource);
        var matches = Evaluate(resource, op, locations);
        if (matches.Count == 0)
        {
            throw op.Error("the path matches nothing; it must select a list that has elements (use add to add to an empty list).");
        }

        var located = matches.Select(m => LocationOf(m, locations, op)).ToList();
        var first = located[0];
        if (first.Position is null || located.Any(l => !ReferenceEquals(l.Parent, first.Parent) || l.Property != first.Property))
        {
            throw op.Error("the path must select the elements of a single repeating element.");
        }

        var list = List(first.Parent, first.Property);
        if (list.Count != matches.Count)
        {
            throw op.Error($"the path selects {matches.Count} of the {list.Count} elements of the list; it must select the whole list.");
        }

        return (list, first.Property);
    }

    // ---- values ---------------------------------------------------------------------------------------------------------

    /// <summary>The live list behind a repeating element (Firely's list properties create it on first read).</summary>
    private static IList List(Base container, PropertyMapping property) =>
        property.NativeProperty?.GetValue(container) as IList
        ?? throw new InvalidOperationException($"The repeating element '{property.Name}' has no list.");

    private static PropertyMapping FindProperty(ClassMapping type, string name, Operation op)
    {
        var property = type.FindMappedElementByName(name) ?? type.FindMappedElementByChoiceName(name);
        return property is null || property.RepresentsValueElement
            ? throw op.Error($"'{name}' is not an element of {type.Name}.")
            : property;
    }

    /// <summary>Appends to a repeating element, or sets a single element that has no value yet.</summary>
    private static void Set(Base container, PropertyMapping property, Base value, Operation op)
    {
        if (property.IsCollection)
        {
            List(container, property).Add(value);
        }
        else if (container.TryGetValue(property.Name, out _))
        {
            throw op.Error($"the element '{property.Name}' already has a value; use replace to change it.");
        }
        else
        {
            container.SetValue(property.Name, value);
        }
    }

    /// <summary>A new element for <paramref name="property"/> from a value part: a typed value (value[x]), a resource, or parts.</summary>
    private static Base CreateValue(Parameters.ParameterComponent part, PropertyMapping property, Operation op)
    {
        if (part.Part.Count > 0)
        {
            return part.Value is null && part.Resource is null
                ? CreateFromParts(part.Part, property, op)
                : throw op.Error($"the part '{part.Name}' has both a value and parts.");
        }

        Base value = (Base?)part.Value ?? part.Resource ?? throw op.Error($"the part '{part.Name}' has no value.");
        return Convert(value.DeepCopy(), property, op);
    }

    /// <summary>An anonymous complex value (e.g. a backbone element such as Patient.contact) given as one part per child element.</summary>
    private static Base CreateFromParts(List<Parameters.ParameterComponent> parts, PropertyMapping property, Operation op)
    {
        var type = property.ImplementingType;
        if (property.Choice != ChoiceType.None || type.IsAbstract || type.IsAssignableTo(typeof(PrimitiveType)))
        {
            throw op.Error($"the element '{property.Name}' needs a typed value (value[x]), not parts.");
        }

        var mapping = Model.FindOrImportClassMapping(type)!;
        var instance = mapping.CreateInstance();
        foreach (var part in parts)
        {
            var child = FindProperty(mapping, part.Name ?? "", op);
            Set(instance, child, CreateValue(part, child, op), op);
        }

        return instance;
    }

    /// <summary>
    /// Checks the value's type against the element. A primitive of another type is accepted when its JSON string literal is
    /// valid for the element's type (e.g. a code given as valueString, a date for a dateTime); any other mismatch is refused.
    /// </summary>
    private static Base Convert(Base value, PropertyMapping property, Operation op)
    {
        var fits = property.Choice == ChoiceType.None
            ? property.ImplementingType.IsInstanceOfType(value)
            : property.FhirType.Any(t => t.IsInstanceOfType(value));
        if (fits)
        {
            return value;
        }

        var expected = string.Join(" or ", property.FhirType.Select(t => Model.GetFhirTypeNameForType(t) ?? t.Name));
        if (property.Choice == ChoiceType.None
            && property.ImplementingType.IsAssignableTo(typeof(PrimitiveType))
            && value is PrimitiveType { JsonValue: string literal } source)
        {
            var target = (PrimitiveType)Model.FindOrImportClassMapping(property.ImplementingType)!.CreateInstance();
            target.JsonValue = literal;
            target.ElementId = source.ElementId;
            target.Extension.AddRange(source.Extension);
            return target.HasValidValue()
                ? target
                : throw op.Error($"the {source.TypeName} value is not a valid {expected} for the element '{property.Name}'.");
        }

        throw op.Error($"a value of type {value.TypeName} cannot be used for the element '{property.Name}', which is of type {expected}.");
    }

    // ---- the operation parameter ----------------------------------------------------------------------------------------

    /// <summary>One 'operation' parameter of the patch, read and checked for the parts its type needs.</summary>
    private sealed record Operation(string Where, string Type, string Path)
    {
        public string? Name { get; private init; }

        public Parameters.ParameterComponent? Value { get; private init; }

        public int? Index { get; private init; }

        public int? Source { get; private init; }

        public int? Destination { get; private init; }

        public FhirPatchException Error(string problem) => new($"{Where}: {problem}");

        public static Operation Read(Parameters.ParameterComponent parameter, int position)
        {
            var where = $"Operation {position}";
            if (parameter.Name != "operation")
            {
                throw new FhirPatchException($"{where}: each parameter of a FHIRPath Patch must be named 'operation'.");
            }

            if (parameter.Value is not null || parameter.Resource is not null)
            {
                throw new FhirPatchException($"{where}: an operation has parts only, no value or resource of its own.");
            }

            var parts = new Dictionary<string, Parameters.ParameterComponent>();
            foreach (var part in parameter.Part)
            {
                if (!parts.TryAdd(part.Name ?? "", part))
                {
                    throw new FhirPatchException($"{where}: the part '{part.Name}' is given more than once.");
                }
            }

            var type = Text(parts, "type", where)
                ?? throw new FhirPatchException($"{where}: the part 'type' is missing.");
            if (!PartsOf.TryGetValue(type, out var needed))
            {
                throw new FhirPatchException($"{where}: unknown operation type '{type}'; expected add, insert, delete, replace or move.");
            }

            var path = Text(parts, "path", where)
                ?? throw new FhirPatchException($"{where} ({type}): the part 'path' is missing.");
            where = $"{where} ({type} at '{path}')";
            if (parts.Keys.Except(["type", "path", .. needed]).FirstOrDefault() is { } extra)
            {
                throw new FhirPatchException($"{where}: the part '{extra}' is not used by {type}.");
            }

            if (needed.FirstOrDefault(n => !parts.ContainsKey(n)) is { } missing)
            {
                throw new FhirPatchException($"{where}: the part '{missing}' is missing.");
            }

            return new Operation(where, type, path)
            {
                Name = Text(parts, "name", where),
                Value = parts.GetValueOrDefault("value"),
                Index = Number(parts, "index", where),
                Source = Number(parts, "source", where),
                Destination = Number(parts, "destination", where),
            };
        }

        private static string? Text(Dictionary<string, Parameters.ParameterComponent> parts, string name, string where) =>
            parts.GetValueOrDefault(name) switch
            {
                null => null,
                { Value: PrimitiveType { JsonValue: string { Length: > 0 } text } } => text,
                _ => throw new FhirPatchException($"{where}: the part '{name}' must have a non-empty string value (e.g. valueString)."),
            };

        private static int? Number(Dictionary<string, Parameters.ParameterComponent> parts, string name, string where) =>
            parts.GetValueOrDefault(name) switch
            {
                null => null,
                { Value: Integer { Value: >= 0 and var number } } => number,
                _ => throw new FhirPatchException($"{where}: the part '{name}' must be a valueInteger of 0 or more."),
            };
    }
}
