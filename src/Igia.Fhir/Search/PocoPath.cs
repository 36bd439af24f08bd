using System.Collections;
using System.Collections.Concurrent;

using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using FhirPathExpression = Hl7.FhirPath.Expressions.Expression;

namespace Igia.Fhir.Search;

/// <summary>Evaluates a compiled path on <paramref name="self"/> (<c>$this</c>), appending results to <paramref name="output"/>.</summary>
internal delegate void PathEvaluator(object self, PathContext context, List<object> output);

/// <summary>What a path evaluation needs besides its focus: the resource being indexed (for <c>%resource</c> and contained references).</summary>
/// <param name="Root">The resource being indexed.</param>
internal sealed record PathContext(Resource Root);

/// <summary>
/// A direct compiler for the subset of FHIRPath that search parameter expressions use (member access, <c>|</c>, <c>as</c>/<c>ofType</c>/<c>is</c>,
/// <c>where(...)</c> with <c>=</c>, <c>!=</c>, <c>and</c>, <c>or</c>, <c>resolve()</c>, <c>exists()</c>, <c>first()</c>, <c>extension(url)</c>, indexers).
/// It walks the Firely POCOs with compiled property getters, which is much faster than the general evaluator. Expressions it cannot
/// compile return null and are evaluated by Firely's FHIRPath engine instead.
/// </summary>
internal static class PocoPath
{
    private static readonly FhirPathCompiler Parser = new();
    private static readonly ConcurrentDictionary<(Type, string), Func<object, object?>?> Getters = new();
    private static readonly ConcurrentDictionary<string, Resource?> Stubs = new(StringComparer.Ordinal);

    /// <summary>Compiles <paramref name="expression"/>, or returns null when it uses something this compiler does not handle.</summary>
    public static PathEvaluator? TryCompile(string expression)
    {
        try
        {
            return Compile(Parser.Parse(expression));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    private static PathEvaluator? Compile(FhirPathExpression e) => e switch
    {
        BracketExpression bracket => Compile(bracket.Operand),
        AxisExpression { AxisName: "that" } => static (self, _, output) => output.Add(self),
        VariableRefExpression { Name: "resource" or "rootResource" or "context" } => static (_, context, output) => output.Add(context.Root),
        ConstantExpression { Value: { } value } => (_, _, output) => output.Add(value),
        ChildExpression child => Child(child),
        IndexerExpression indexer => Indexer(indexer),
        BinaryExpression binary => Binary(binary),
        UnaryExpression => null,
        FunctionCallExpression function => Function(function),
        _ => null,
    };

    private static PathEvaluator? Child(ChildExpression child)
    {
        var focus = Compile(child.Focus);
        if (focus is null)
        {
            return null;
        }

        var name = child.ChildName;
        if (name.Length > 0 && char.IsUpper(name[0]))
        {
            // A type name at the start of a path (Observation.code): filters the focus by type.
            var type = name is "Resource" ? typeof(Resource) : name is "DomainResource" ? typeof(DomainResource) : ModelInfo.GetTypeForFhirType(name);
            if (type is null)
            {
                return null;
            }

            return (self, context, output) =>
            {
                var items = Eval(focus, self, context);
                foreach (var item in items)
                {
                    if (type.IsInstanceOfType(item))
                    {
                        output.Add(item);
                    }
                }
            };
        }

        return (self, context, output) =>
        {
            var items = Eval(focus, self, context);
            foreach (var item in items)
            {
                AddChildren(item, name, output);
            }
        };
    }

    private static void AddChildren(object item, string name, List<object> output)
    {
        if (item is not Base)
        {
            return;
        }

        var getter = Getters.GetOrAdd((item.GetType(), name), static key => CreateGetter(key.Item1, key.Item2));
        if (getter?.Invoke(item) is not { } value)
        {
            return;
        }

        if (value is IList list and not Base)
        {
            foreach (var element in list)
            {
                if (element is not null)
                {
                    output.Add(element);
                }
            }
        }
        else
        {
            output.Add(value);
        }
    }

    private static Func<object, object?>? CreateGetter(Type type, string name)
    {
        var mapping = ModelInfo.ModelInspector.FindOrImportClassMapping(type)?.FindMappedElementByName(name);
        var property = mapping?.NativeProperty;
        if (property?.GetMethod is null)
        {
            return null;
        }

        var instance = System.Linq.Expressions.Expression.Parameter(typeof(object), "instance");
        var body = System.Linq.Expressions.Expression.Convert(
            System.Linq.Expressions.Expression.Property(System.Linq.Expressions.Expression.Convert(instance, property.DeclaringType!), property),
            typeof(object));
        return System.Linq.Expressions.Expression.Lambda<Func<object, object?>>(body, instance).Compile();
    }

    private static PathEvaluator? Indexer(IndexerExpression indexer)
    {
        var focus = Compile(indexer.Focus);
        if (focus is null || indexer.Index is not ConstantExpression { Value: int index })
        {
            return null;
        }

        return (self, context, output) =>
        {
            var items = Eval(focus, self, context);
            if (index >= 0 && index < items.Count)
            {
                output.Add(items[index]);
            }
        };
    }

    private static PathEvaluator? Binary(BinaryExpression binary)
    {
        var args = binary.Arguments.ToList();
        if (args.Count != 2)
        {
            return null;
        }

        switch (binary.Op)
        {
            case "as":
                return TypeFilter(Compile(args[0]), TypeNameOf(args[1]));
            case "is":
                return TypeTest(Compile(args[0]), TypeNameOf(args[1]));
        }

        var left = Compile(args[0]);
        var right = Compile(args[1]);
        if (left is null || right is null)
        {
            return null;
        }

        switch (binary.Op)
        {
            case "|":
                return (self, context, output) =>
                {
                    var seen = new HashSet<object>(UnionComparer.Instance);
                    foreach (var item in Eval(left, self, context))
                    {
                        if (seen.Add(item))
                        {
                            output.Add(item);
                        }
                    }

                    foreach (var item in Eval(right, self, context))
                    {
                        if (seen.Add(item))
                        {
                            output.Add(item);
                        }
                    }
                };
            case "=" or "!=":
                var negate = binary.Op == "!=";
                return (self, context, output) =>
                {
                    var l = Eval(left, self, context);
                    var r = Eval(right, self, context);
                    if (l.Count == 1 && r.Count == 1 && Primitive(l[0]) is { } a && Primitive(r[0]) is { } b)
                    {
                        output.Add(Equal(a, b) != negate);
                    }
                };
            case "and" or "or":
                var and = binary.Op == "and";
                return (self, context, output) =>
                {
                    var l = Truth(Eval(left, self, context));
                    var r = Truth(Eval(right, self, context));
                    bool? result = and
                        ? l == false || r == false ? false : l == true && r == true ? true : null
                        : l == true || r == true ? true : l == false && r == false ? false : null;
                    if (result is { } value)
                    {
                        output.Add(value);
                    }
                };
            default:
                return null;
        }
    }

    private static PathEvaluator? Function(FunctionCallExpression function)
    {
        var args = function.Arguments.ToList();
        var focus = function.Focus is null ? null : Compile(function.Focus);
        if (focus is null)
        {
            return null;
        }

        switch (function.FunctionName)
        {
            case "as" or "ofType" when args.Count == 1:
                return TypeFilter(focus, TypeNameOf(args[0]));
            case "is" when args.Count == 1:
                return TypeTest(focus, TypeNameOf(args[0]));
            case "where" when args.Count == 1:
                var criteria = Compile(args[0]);
                if (criteria is null)
                {
                    return null;
                }

                return (self, context, output) =>
                {
                    foreach (var item in Eval(focus, self, context))
                    {
                        if (Truth(Eval(criteria, item, context)) == true)
                        {
                            output.Add(item);
                        }
                    }
                };
            case "resolve" when args.Count == 0:
                return (self, context, output) =>
                {
                    foreach (var item in Eval(focus, self, context))
                    {
                        if (Resolve(item, context) is { } resolved)
                        {
                            output.Add(resolved);
                        }
                    }
                };
            case "exists" when args.Count == 0:
                return (self, context, output) => output.Add(Eval(focus, self, context).Count > 0);
            case "empty" when args.Count == 0:
                return (self, context, output) => output.Add(Eval(focus, self, context).Count == 0);
            case "not" when args.Count == 0:
                return (self, context, output) =>
                {
                    if (Truth(Eval(focus, self, context)) is { } value)
                    {
                        output.Add(!value);
                    }
                };
            case "first" when args.Count == 0:
                return (self, context, output) =>
                {
                    var items = Eval(focus, self, context);
                    if (items.Count > 0)
                    {
                        output.Add(items[0]);
                    }
                };
            case "extension" when args.Count == 1 && args[0] is ConstantExpression { Value: string url }:
                return (self, context, output) =>
                {
                    foreach (var item in Eval(focus, self, context))
                    {
                        if (item is IExtendable extendable)
                        {
                            foreach (var extension in extendable.Extension)
                            {
                                if (extension.Url == url)
                                {
                                    output.Add(extension);
                                }
                            }
                        }
                    }
                };
            default:
                return null;
        }
    }

    private static string? TypeNameOf(FhirPathExpression e) => e switch
    {
        ConstantExpression { Value: string s } => s,
        ChildExpression { Focus: AxisExpression { AxisName: "that" } } child => child.ChildName,
        _ => null,
    };

    private static Type? TypeFor(string? name)
    {
        if (name is null)
        {
            return null;
        }

        if (name.StartsWith("FHIR.", StringComparison.Ordinal))
        {
            name = name[5..];
        }

        return name switch
        {
            "Resource" => typeof(Resource),
            "DomainResource" => typeof(DomainResource),
            _ => ModelInfo.GetTypeForFhirType(name),
        };
    }

    private static PathEvaluator? TypeFilter(PathEvaluator? focus, string? typeName)
    {
        var type = TypeFor(typeName);
        if (focus is null || type is null)
        {
            return null;
        }

        return (self, context, output) =>
        {
            foreach (var item in Eval(focus, self, context))
            {
                if (type.IsInstanceOfType(item))
                {
                    output.Add(item);
                }
            }
        };
    }

    private static PathEvaluator? TypeTest(PathEvaluator? focus, string? typeName)
    {
        var type = TypeFor(typeName);
        if (focus is null || type is null)
        {
            return null;
        }

        return (self, context, output) =>
        {
            var items = Eval(focus, self, context);
            if (items.Count == 1)
            {
                output.Add(type.IsInstanceOfType(items[0]));
            }
        };
    }

    private static List<object> Eval(PathEvaluator evaluator, object self, PathContext context)
    {
        var list = new List<object>(2);
        evaluator(self, context, list);
        return list;
    }

    private static bool? Truth(List<object> items) => items.Count == 1 && items[0] is bool b ? b : null;

    private static object? Primitive(object value) => value switch
    {
        PrimitiveType p => p.JsonValue,
        _ when value is Base => null,
        _ => value,
    };

    private static bool Equal(object a, object b) => (a, b) switch
    {
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        (bool x, bool y) => x == y,
        (IConvertible x, IConvertible y) when IsNumber(a) && IsNumber(b) => Convert.ToDecimal(x, System.Globalization.CultureInfo.InvariantCulture) == Convert.ToDecimal(y, System.Globalization.CultureInfo.InvariantCulture),
        _ => Equals(a, b),
    };

    private static bool IsNumber(object o) => o is int or long or decimal or double;

    /// <summary>Union (<c>|</c>) drops duplicates: primitives by value, other elements by identity.</summary>
    private sealed class UnionComparer : IEqualityComparer<object>
    {
        public static readonly UnionComparer Instance = new();

        public new bool Equals(object? x, object? y) => ReferenceEquals(x, y)
            || x is PrimitiveType px && y is PrimitiveType py && px.TypeName == py.TypeName && object.Equals(px.JsonValue, py.JsonValue);

        public int GetHashCode(object obj) => obj is PrimitiveType { JsonValue: { } value } ? value.GetHashCode() : System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }

    /// <summary>resolve(): the contained resource, or an empty resource of the type a reference names (enough for <c>is</c> tests).</summary>
    private static Resource? Resolve(object item, PathContext context)
    {
        var reference = item switch
        {
            ResourceReference r => r.Reference,
            PrimitiveType { JsonValue: string s } => s,
            _ => null,
        };
        if (string.IsNullOrEmpty(reference))
        {
            return null;
        }

        if (reference.StartsWith('#'))
        {
            if (context.Root is DomainResource domain)
            {
                var id = reference[1..];
                foreach (var contained in domain.Contained)
                {
                    if (contained.Id == id)
                    {
                        return contained;
                    }
                }
            }

            return null;
        }

        return SearchIndexer.ParseReference(reference) is { Type: { } type } ? Stub(type) : null;
    }

    /// <summary>A shared, never modified, empty resource of <paramref name="type"/>.</summary>
    internal static Resource? Stub(string type) => Stubs.GetOrAdd(type, static t =>
        ModelInfo.GetTypeForFhirType(t) is { } clr ? (Resource?)Activator.CreateInstance(clr) : null);
}
