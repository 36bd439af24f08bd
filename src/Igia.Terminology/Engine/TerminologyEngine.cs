using System.Diagnostics;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Content;
using Microsoft.Extensions.Options;
using Severity = Hl7.Fhir.Model.OperationOutcome.IssueSeverity;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Igia.Terminology.Engine;

/// <summary>
/// The local terminology engine: every operation takes the request's Parameters (and the instance id for instance-level
/// calls) and returns the response resource, or throws <see cref="TxException"/> with the HTTP status and OperationOutcome.
/// </summary>
internal sealed class TerminologyEngine
{
    internal static readonly ActivitySource ActivitySource = new("Igia.Terminology");

    private readonly TerminologyResources _resources;
    private readonly TerminologyOptions _options;
    private readonly TimeProvider _time;

    public TerminologyEngine(TerminologyResources resources, IOptions<TerminologyOptions> options, TimeProvider time)
    {
        _resources = resources;
        _options = options.Value;
        _time = time;
    }

    public TerminologyResources Resources => _resources;

    public TerminologyOptions Options => _options;

    private TxContext Context(Parameters parameters, string? acceptLanguage)
    {
        var request = new TxRequest(parameters, acceptLanguage);
        return new TxContext(new TxScope(_resources, request.TxResources), request, _options);
    }

    // ---- $expand --------------------------------------------------------------------------------

    public ValueSet Expand(Parameters parameters, string? id, string? acceptLanguage)
    {
        using var activity = ActivitySource.StartActivity("ValueSet $expand");
        var ctx = Context(parameters, acceptLanguage);
        var vs = ResolveValueSet(ctx, id);
        activity?.SetTag("igia.terminology.valueset", vs.Url);
        var limit = ctx.Request.Limit > 0 ? Math.Min(ctx.Request.Limit, _options.MaxExpansionSize) : _options.MaxExpansionSize;
        var expander = new ValueSetExpander(ctx, _time, limit, _options.MaxComputedExpansionSize);
        return expander.Expand(vs);
    }

    // ---- ValueSet $validate-code ----------------------------------------------------------------

    public Parameters ValidateCode(Parameters parameters, string? id, string? acceptLanguage)
    {
        using var activity = ActivitySource.StartActivity("ValueSet $validate-code");
        var ctx = Context(parameters, acceptLanguage);
        var vs = ResolveValueSet(ctx, id);
        var (coded, mode) = ExtractCoded(ctx.Request, codeSystem: false)
            ?? throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Invalid, "",
                "Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters", null));
        foreach (var ext in vs.Extension.Where(e => e.Url == ValueSetSupplementExtension))
        {
            if (ext.Value.Text() is { } s)
            {
                ctx.RequiredSupplements.Add(s);
            }
        }

        var checker = new CodeValidator(ctx, vs);
        try
        {
            checker.Prepare();
        }
        catch (CodeValidator.PrepareException e)
        {
            return CodeValidator.PrepareError(e, coded, mode, ctx);
        }

        return checker.CheckCodeableConcept(coded, mode);
    }

    private const string ValueSetSupplementExtension = "http://hl7.org/fhir/StructureDefinition/valueset-supplement";

    /// <summary>The code to validate, as a CodeableConcept, and how it was given.</summary>
    private static (CodeableConcept Coded, CodedMode Mode)? ExtractCoded(TxRequest request, bool codeSystem)
    {
        if (request.Get("codeableConcept")?.Value is CodeableConcept cc)
        {
            request.InferSystem = false;
            return (cc, CodedMode.CodeableConcept);
        }

        if (request.Get("coding")?.Value is Coding coding)
        {
            request.InferSystem = false;
            return (new CodeableConcept { Coding = [coding] }, CodedMode.Coding);
        }

        var code = request.String("code");
        if (code is null)
        {
            return null;
        }

        string? system, version;
        if (codeSystem)
        {
            system = request.String("url") ?? request.String("system");
            version = request.String("version");
        }
        else
        {
            system = request.String("system");
            version = request.String("systemVersion");
        }

        if (system is null && !request.InferSystem && request.Get("inferSystem") is null)
        {
            return null;
        }

        var c = new Coding(system, code) { Version = version, Display = request.String("display") };
        return (new CodeableConcept { Coding = [c] }, CodedMode.Code);
    }

    // ---- CodeSystem $validate-code --------------------------------------------------------------

    public Parameters ValidateCodeInCodeSystem(Parameters parameters, string? id, string? acceptLanguage)
    {
        using var activity = ActivitySource.StartActivity("CodeSystem $validate-code");
        var ctx = Context(parameters, acceptLanguage);
        var request = ctx.Request;
        var (coded, mode) = ExtractCoded(request, codeSystem: true)
            ?? throw TxException.Invalid("Unable to find code to validate (looked for coding | codeableConcept | code in parameters)");
        var first = coded.Coding.FirstOrDefault();
        var systemPath = mode switch { CodedMode.Code => "system", CodedMode.Coding => "Coding.system", _ => "CodeableConcept.coding[0].system" };
        CodeSystemUse? cs;
        try
        {
            cs = ResolveCodeSystem(ctx, id, first, systemPath);
        }
        catch (CodeValidator.PrepareException e)
        {
            var p = CodeValidator.PrepareError(e, coded, mode, ctx);
            if (e.Data["unknown"] is string unknown)
            {
                p.Add("x-caused-by-unknown-system", new Canonical(unknown));
            }

            return p;
        }

        if (cs is null)
        {
            throw TxException.Invalid("No CodeSystem specified - provide url parameter or codeSystem resource");
        }

        if (cs.Content == CodeSystemContentMode.Supplement)
        {
            throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Invalid, "invalid-data",
                $"CodeSystem {cs.VersionedUrl} is a supplement, so can't be used as a value in Coding.system", systemPath));
        }

        var vs = new ValueSet
        {
            Url = cs.Entry.Resource.ValueSet ?? cs.Url + "/vs",
            Version = cs.Version,
            Status = PublicationStatus.Active,
            Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = cs.Url, Version = cs.Version }] },
        };
        if (id is not null || request.Get("codeSystem")?.Resource is not null)
        {
            ctx.Scope.AddLocal(cs.Entry.Resource);
        }

        var checker = new CodeValidator(ctx, vs, internallyDefined: true);
        return checker.CheckCodeableConcept(coded, mode);
    }

    private static CodeSystemUse? ResolveCodeSystem(TxContext ctx, string? id, Coding? coding, string systemPath)
    {
        var request = ctx.Request;
        if (id is not null)
        {
            var entry = ctx.Scope.CodeSystemById(id) ?? throw TxException.NotFound($"CodeSystem/{id} not found");
            return new CodeSystemUse(entry, TxScope.Model(entry, ctx.SupplementsFor(entry.Url, entry.Version)));
        }

        if (request.Get("codeSystem")?.Resource is CodeSystem given)
        {
            var entry = new CanonicalEntry<CodeSystem>(given, given.Url ?? "", given.Version, "request");
            return new CodeSystemUse(entry, new CodeSystemModel(given, ctx.SupplementsFor(given.Url ?? "", given.Version)));
        }

        var url = request.String("url");
        var fromCoded = false;
        if (url is null && coding?.System is { } s)
        {
            url = s;
            fromCoded = true;
        }

        if (url is null)
        {
            return null;
        }

        TxIssue? relative = null;
        if (!url.StartsWith("urn:", StringComparison.Ordinal) && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            relative = new TxIssue(Severity.Error, IssueType.Invalid, "invalid-data", "Coding.system must be an absolute reference, not a local reference", systemPath);
        }

        var version = request.String("version");
        if (version is null && fromCoded)
        {
            version = coding!.Version;
        }

        version = request.DetermineVersion(url, version);
        var cs = ctx.FindCodeSystem(url, version, applyRules: false, anyContent: true);
        if (cs is not null)
        {
            return cs;
        }

        if (ctx.Scope.FindValueSet(url, null) is not null)
        {
            throw new CodeValidator.PrepareException(new TxIssue(Severity.Error, IssueType.Invalid, "invalid-data", $"The Coding references a value set, not a code system ('{url}')", systemPath));
        }

        if (ctx.Scope.FindCodeSystemEntry(url, version) is { Resource.Content: CodeSystemContentMode.Supplement } supplement)
        {
            var sx = new CodeValidator.PrepareException(new TxIssue(Severity.Error, IssueType.Invalid, "invalid-data",
                $"CodeSystem {supplement.VersionedUrl} is a supplement, so can't be used as a value in Coding.system", systemPath));
            sx.Data["unknown"] = url;
            throw sx;
        }

        PrepareExceptionWith e;
        if (version is not null)
        {
            var vl = ctx.ListVersions(url);
            e = vl.Count == 0
                ? new(new TxIssue(Severity.Error, IssueType.NotFound, "not-found", $"A definition for CodeSystem '{url}' version '{version}' could not be found, so the code cannot be validated. No versions of this code system are known", systemPath), url)
                : new(new TxIssue(Severity.Error, IssueType.NotFound, "not-found", $"A definition for CodeSystem '{url}' version '{version}' could not be found, so the code cannot be validated. Valid versions: {TxContext.PresentVersionList(vl)}", systemPath), url + "|" + version);
        }
        else
        {
            e = new(new TxIssue(Severity.Error, IssueType.NotFound, "not-found", $"A definition for CodeSystem '{url}' could not be found, so the code cannot be validated", systemPath), url);
        }

        var ex = new CodeValidator.PrepareException(e.Issue);
        ex.Data["unknown"] = e.Unknown;
        _ = relative;
        throw ex;
    }

    private readonly record struct PrepareExceptionWith(TxIssue Issue, string Unknown);

    // ---- $lookup, $subsumes, $translate ---------------------------------------------------------

    public Parameters Lookup(Parameters parameters, string? id, string? acceptLanguage)
    {
        using var activity = ActivitySource.StartActivity("CodeSystem $lookup");
        var ctx = Context(parameters, acceptLanguage);
        var instance = id is null ? null : ctx.Scope.CodeSystemById(id) ?? throw TxException.NotFound($"CodeSystem/{id} is not known");
        return CodeSystemOperations.Lookup(ctx, instance);
    }

    public Parameters Subsumes(Parameters parameters, string? id)
    {
        using var activity = ActivitySource.StartActivity("CodeSystem $subsumes");
        var ctx = Context(parameters, null);
        var instance = id is null ? null : ctx.Scope.CodeSystemById(id) ?? throw TxException.NotFound($"CodeSystem/{id} is not known");
        return CodeSystemOperations.Subsumes(ctx, instance);
    }

    public Parameters Translate(Parameters parameters, string? id)
    {
        using var activity = ActivitySource.StartActivity("ConceptMap $translate");
        var ctx = Context(parameters, null);
        var instance = id is null ? null : ctx.Scope.ConceptMapById(id) ?? throw TxException.NotFound($"ConceptMap/{id} is not known");
        return Translator.Translate(ctx.Scope, ctx.Request, instance);
    }

    // ---- batch ----------------------------------------------------------------------------------

    /// <summary>
    /// <c>$batch-validate-code</c>: each <c>validation</c> parameter holds the Parameters of one <c>$validate-code</c>; the other
    /// parameters (value set, tx-resource, version rules...) apply to all of them unless an entry sets its own.
    /// </summary>
    public Parameters BatchValidate(Parameters parameters, string? acceptLanguage, bool codeSystem = false)
    {
        using var activity = ActivitySource.StartActivity("$batch-validate-code");
        var shared = parameters.Parameter.Where(p => p.Name != "validation").ToList();
        var result = new Parameters();
        foreach (var entry in parameters.Parameter.Where(p => p.Name == "validation"))
        {
            Resource outcome;
            try
            {
                if (entry.Resource is not Parameters own)
                {
                    throw TxException.Invalid("Each 'validation' parameter must hold a Parameters resource");
                }

                var merged = new Parameters();
                foreach (var s in shared)
                {
                    if (s.Name == "tx-resource" || !own.Parameter.Any(o => o.Name == s.Name))
                    {
                        merged.Parameter.Add(s);
                    }
                }

                merged.Parameter.AddRange(own.Parameter);
                outcome = codeSystem ? ValidateCodeInCodeSystem(merged, null, acceptLanguage) : ValidateCode(merged, null, acceptLanguage);
            }
            catch (TxException e)
            {
                outcome = e.ToOutcome();
            }

            result.Parameter.Add(new Parameters.ParameterComponent { Name = "validation", Resource = outcome });
        }

        return result;
    }

    // ---- value set resolution -------------------------------------------------------------------

    private static ValueSet ResolveValueSet(TxContext ctx, string? id)
    {
        var scope = ctx.Scope;
        var request = ctx.Request;
        if (id is not null)
        {
            return scope.ValueSetById(id)?.Resource ?? throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.NotFound, "not-found", $"ValueSet/{id} not found", null));
        }

        if (request.Get("valueSet")?.Resource is ValueSet given)
        {
            return given;
        }

        var url = request.String("url") ?? request.String("context")
            ?? throw TxException.Invalid("No ValueSet specified - provide url parameter or valueSet resource");
        var (u, v) = Versions.SplitCanonical(url);
        v ??= request.String("valueSetVersion");
        v = request.DetermineVersion(u, v, forValueSet: true);
        var found = scope.FindValueSet(u, v)?.Resource ?? Implicit(scope, u, v);
        if (found is null)
        {
            var label = v is null ? u : $"{u}|{v}";
            throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.NotFound, "not-found",
                $"A definition for the value Set '{label}' could not be found", null));
        }

        return found;
    }

    /// <summary>Implicit value sets: <c>[code system]?fhir_vs</c> (all codes, or <c>=isa/[code]</c>) and a code system's <c>valueSet</c>.</summary>
    private static ValueSet? Implicit(TxScope scope, string url, string? version)
    {
        var q = url.IndexOf("?fhir_vs", StringComparison.Ordinal);
        if (q > 0)
        {
            var system = url[..q];
            if (scope.CodeSystemVersions(system).Count == 0)
            {
                return null;
            }

            var include = new ValueSet.ConceptSetComponent { System = system };
            var rest = url[(q + "?fhir_vs".Length)..];
            if (rest.StartsWith("=isa/", StringComparison.Ordinal))
            {
                include.Filter.Add(new ValueSet.FilterComponent { Property = "concept", Op = FilterOperator.IsA, Value = Uri.UnescapeDataString(rest[5..]) });
            }

            return new ValueSet { Url = url, Version = version, Status = PublicationStatus.Active, Compose = new ValueSet.ComposeComponent { Include = [include] } };
        }

        foreach (var cs in scope.Global.CodeSystems.All)
        {
            if (cs.Resource.ValueSet == url)
            {
                return new ValueSet
                {
                    Url = url,
                    Version = cs.Version,
                    Name = cs.Resource.Name,
                    Status = cs.Resource.Status,
                    Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = cs.Url }] },
                };
            }
        }

        return null;
    }
}
