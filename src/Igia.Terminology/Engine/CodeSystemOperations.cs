using Hl7.Fhir.Model;
using Igia.Terminology.Content;
using Severity = Hl7.Fhir.Model.OperationOutcome.IssueSeverity;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Igia.Terminology.Engine;

/// <summary><c>$lookup</c> and <c>$subsumes</c> over an indexed code system.</summary>
internal static class CodeSystemOperations
{
    private static readonly string[] DefaultLookupProperties = ["inactive"];

    public static Parameters Lookup(TxContext ctx, CanonicalEntry<CodeSystem>? instance)
    {
        var request = ctx.Request;
        string? system, code, version;
        if (request.Get("coding")?.Value is Coding coding)
        {
            system = coding.System;
            code = coding.Code;
            version = coding.Version;
        }
        else
        {
            system = request.String("system");
            code = request.String("code");
            version = request.String("version");
        }

        system ??= instance?.Url;
        if (code is null || system is null)
        {
            throw TxException.Invalid("$lookup needs a code and a system (code + system, or coding)");
        }

        ctx.CheckSupplementsExist();
        CodeSystemUse? use;
        if (instance is not null)
        {
            use = new CodeSystemUse(instance, TxScope.Model(instance, ctx.SupplementsFor(instance.Url, instance.Version)));
        }
        else
        {
            use = ctx.FindCodeSystem(system, version);
            if (use is null)
            {
                var resolved = request.DetermineVersion(system, version);
                var versions = ctx.ListVersions(system);
                throw TxException.NotFound(versions.Count == 0 || resolved is null
                    ? $"A definition for CodeSystem '{system}' could not be found, so the code cannot be looked up"
                    : $"A definition for CodeSystem '{system}' version '{resolved}' could not be found, so the code cannot be looked up. Valid versions: {TxContext.PresentVersionList(versions)}");
            }
        }

        ctx.ThrowIfSupplementsMissing();
        var entry = use.Entry;
        var supplements = use.Model.Supplements;
        var model = use.Model;
        var node = model.Find(code)
            ?? throw TxException.NotFound(entry.Version is null
                ? $"Unknown code '{code}' in the CodeSystem '{system}'"
                : $"Unknown code '{code}' in the CodeSystem '{system}' version '{entry.Version}'");

        var result = new Parameters();
        result.Add("name", new FhirString(entry.Resource.Name ?? entry.Resource.Title ?? system));
        result.Add("system", new FhirUri(system));
        if (entry.Version is not null)
        {
            result.Add("version", new FhirString(entry.Version));
        }

        result.Add("code", new Code(node.Code));
        if (node.Display is not null)
        {
            result.Add("display", new FhirString(node.Display));
        }

        if (node.Definition is not null)
        {
            result.Add("definition", new FhirString(node.Definition));
        }

        result.Add("abstract", new FhirBoolean(node.NotSelectable));

        // Designations: the display in the code system's language, then the concept's own (supplements say where they come from).
        if (node.Display is not null)
        {
            result.Parameter.Add(Designation(model.Language ?? "en", new Coding("http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra", "preferredForLanguage", "Preferred For Language"), node.Display, null));
        }

        foreach (var d in node.Designations)
        {
            result.Parameter.Add(Designation(d.Language, d.Use, d.Value, d.Source));
        }

        var wanted = request.Properties.Count == 0 ? DefaultLookupProperties : request.Properties.ToArray();
        bool Wants(string p) => wanted.Contains("*") || wanted.Contains(p);
        var parentCodes = model.PropertyCodesFor("parent", "subsumedBy");
        var childCodes = model.PropertyCodesFor("child");
        foreach (var p in node.Properties)
        {
            if (parentCodes.Contains(p.Code) || childCodes.Contains(p.Code))
            {
                continue;
            }

            if (Wants(p.Code))
            {
                result.Parameter.Add(Property(p.Code, p.Value, null));
            }
        }

        if (Wants("inactive") && !node.Properties.Any(p => p.Code == "inactive"))
        {
            result.Parameter.Add(Property("inactive", new FhirBoolean(node.Inactive), null));
        }

        if (Wants("definition") && node.Definition is not null && !wanted.Contains("*"))
        {
            result.Parameter.Add(Property("definition", new FhirString(node.Definition), null));
        }

        if (Wants("parent"))
        {
            foreach (var parent in node.Parents)
            {
                result.Parameter.Add(Property("parent", new Code(parent.Code), parent.Display));
            }
        }

        if (Wants("child"))
        {
            foreach (var child in node.Children)
            {
                result.Parameter.Add(Property("child", new Code(child.Code), child.Display));
            }
        }

        foreach (var s in supplements)
        {
            result.Add("used-supplement", new Canonical(s.Url + (s.Version is null ? "" : "|" + s.Version)));
        }

        return result;
    }

    private static Parameters.ParameterComponent Designation(string? language, Coding? use, string value, string? source)
    {
        var p = new Parameters.ParameterComponent { Name = "designation" };
        if (language is not null)
        {
            p.Part.Add(new Parameters.ParameterComponent { Name = "language", Value = new Code(language) });
        }

        if (use is not null)
        {
            p.Part.Add(new Parameters.ParameterComponent { Name = "use", Value = (Coding)use.DeepCopy() });
        }

        p.Part.Add(new Parameters.ParameterComponent { Name = "value", Value = new FhirString(value) });
        if (source is not null)
        {
            p.Part.Add(new Parameters.ParameterComponent { Name = "source", Value = new Canonical(source) });
        }

        return p;
    }

    private static Parameters.ParameterComponent Property(string code, DataType value, string? description)
    {
        var p = new Parameters.ParameterComponent { Name = "property" };
        p.Part.Add(new Parameters.ParameterComponent { Name = "code", Value = new Code(code) });
        p.Part.Add(new Parameters.ParameterComponent { Name = "value", Value = (DataType)value.DeepCopy() });
        if (description is not null)
        {
            p.Part.Add(new Parameters.ParameterComponent { Name = "description", Value = new FhirString(description) });
        }

        return p;
    }

    public static Parameters Subsumes(TxContext ctx, CanonicalEntry<CodeSystem>? instance)
    {
        var request = ctx.Request;
        string? system = request.String("system") ?? instance?.Url;
        var version = request.String("version");
        string? codeA = request.String("codeA"), codeB = request.String("codeB");
        if (request.Get("codingA")?.Value is Coding ca)
        {
            codeA = ca.Code;
            system ??= ca.System;
            if (ca.System is not null && system is not null && ca.System != system)
            {
                throw TxException.Invalid($"codingA is from {ca.System}, not {system}: $subsumes compares codes of one code system");
            }
        }

        if (request.Get("codingB")?.Value is Coding cb)
        {
            codeB = cb.Code;
            system ??= cb.System;
            if (cb.System is not null && system is not null && cb.System != system)
            {
                throw TxException.Invalid($"codingB is from {cb.System}, not {system}: $subsumes compares codes of one code system");
            }
        }

        if (codeA is null || codeB is null || system is null)
        {
            throw TxException.Invalid("$subsumes needs codeA and codeB with a system (or codingA and codingB)");
        }

        var model = (instance is null ? ctx.FindCodeSystem(system, version)?.Model : TxScope.Model(instance))
            ?? throw TxException.NotFound($"A definition for CodeSystem '{system}'{(version is null ? "" : $" version '{version}'")} could not be found");
        var a = model.Find(codeA) ?? throw TxException.NotFound($"Unknown code '{codeA}' in the CodeSystem '{system}'");
        var b = model.Find(codeB) ?? throw TxException.NotFound($"Unknown code '{codeB}' in the CodeSystem '{system}'");
        var outcome = a == b ? "equivalent"
            : CodeSystemModel.Subsumes(a, b) ? "subsumes"
            : CodeSystemModel.Subsumes(b, a) ? "subsumed-by"
            : "not-subsumed";
        var result = new Parameters();
        result.Add("outcome", new Code(outcome));
        return result;
    }
}
