using System.Net;
using Hl7.Fhir.Model;
using Severity = Hl7.Fhir.Model.OperationOutcome.IssueSeverity;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Igia.Terminology.Engine;

/// <summary>How the code to validate was given; it decides the element paths in issues and what is echoed back.</summary>
internal enum CodedMode
{
    /// <summary><c>code</c> (+ <c>system</c>, <c>systemVersion</c>, <c>display</c>).</summary>
    Code,

    /// <summary><c>coding</c>.</summary>
    Coding,

    /// <summary><c>codeableConcept</c>.</summary>
    CodeableConcept,
}

/// <summary>The issues of one validation, in order, with the operation's summary messages.</summary>
internal sealed class TxOutcome
{
    public List<TxIssue> Issues { get; } = [];

    /// <summary>Adds an issue; with <paramref name="ifNew"/> not when one with the same text is already there.</summary>
    public bool Add(TxIssue issue, bool ifNew = false)
    {
        if (ifNew && Issues.Any(i => i.Text == issue.Text))
        {
            return false;
        }

        Issues.Add(issue);
        return true;
    }

    public bool HasErrors => Issues.Any(i => i.Severity is Severity.Error or Severity.Fatal);

    public bool HasIssues => Issues.Count > 0;
}

/// <summary>
/// <c>$validate-code</c> against a value set (and, through an implicit value set, against a code system): membership, the
/// code in its code system, versions and version rules, display and language, status, with the result Parameters
/// (<c>result</c>, <c>message</c>, <c>issues</c>, <c>code</c>, <c>system</c>, <c>version</c>, <c>display</c>, ...) the HL7
/// terminology ecosystem expects.
/// </summary>
internal sealed class CodeValidator
{
    private readonly TxContext _ctx;
    private readonly TxRequest _p;
    private readonly ValueSet _vs;
    private readonly bool _internallyDefined;
    private readonly Dictionary<string, CodeValidator> _others = new(StringComparer.Ordinal);

    public CodeValidator(TxContext ctx, ValueSet vs, bool internallyDefined = false)
    {
        _ctx = ctx;
        _p = ctx.Request;
        _vs = vs;
        _internallyDefined = internallyDefined;
    }

    public static string Label(ValueSet vs) =>
        vs.Url is null ? "(unidentified)" : vs.Version is null ? vs.Url : $"{vs.Url}|{vs.Version}";

    private string VsLabel => Label(_vs);

    /// <summary>State gathered while checking one coding (and across the codings of a CodeableConcept).</summary>
    private sealed class CheckState
    {
        public string? Version;
        public bool Inactive;
        public string? InactivePath;
        public string? InactiveCode;
        public string? Status;
        public string? NormalForm;
        public string Cause = "null";
        public CodeSystemContentMode? ContentMode;
        public string? ImpliedSystem;
        public Language? DefLang;
        public readonly List<string> UnknownSystems = [];
        public readonly List<string> UnknownCodes = [];
        public readonly List<string> Messages = [];

        public void AddUnknownSystem(string s)
        {
            if (!UnknownSystems.Contains(s))
            {
                UnknownSystems.Add(s);
            }
        }

        public void Msg(string? m)
        {
            if (m is not null && !Messages.Contains(m))
            {
                Messages.Add(m);
            }
        }
    }

    private static string AddToPath(string? path, string name) => string.IsNullOrEmpty(path) ? name : path + "." + name;

    private static TxIssue Issue(Severity severity, IssueType type, string? path, string txCode, string text) =>
        new(severity, type, txCode, text, string.IsNullOrEmpty(path) ? null : path);

    // ---- prepare --------------------------------------------------------------------------------

    /// <summary>Checks the value set can be used (imports, filters, supplements) before any code is looked at.</summary>
    public void Prepare()
    {
        var key = Label(_vs);
        if (_ctx.Stack.Contains(key))
        {
            throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Processing, "vs-invalid",
                $"Found a circularity pointing to {key} processing ValueSet with pathway [{string.Join(", ", _ctx.Stack)}]", null));
        }

        _ctx.Stack.Add(key);
        try
        {
            _p.SeeValueSet(_vs);
            if (_ctx.RequiredSupplements.Count > 0)
            {
                _ctx.CheckSupplementsExist();
            }

            var i = 0;
            foreach (var cc in _vs.Compose?.Include ?? [])
            {
                PrepareConceptSet($"include[{i++}]", cc);
            }

            i = 0;
            foreach (var cc in _vs.Compose?.Exclude ?? [])
            {
                PrepareConceptSet($"exclude[{i++}]", cc);
            }
        }
        finally
        {
            _ctx.Stack.RemoveAt(_ctx.Stack.Count - 1);
        }
    }

    private void PrepareConceptSet(string desc, ValueSet.ConceptSetComponent cc)
    {
        foreach (var u in cc.Imports())
        {
            if (_others.ContainsKey(u))
            {
                continue;
            }

            var other = _ctx.FindValueSet(u, _vs, out var wanted, out _)
                ?? throw new PrepareException(new TxIssue(Severity.Error, IssueType.NotFound, "not-found", $"A definition for the value Set '{wanted ?? u}' could not be found", null));
            // Prepare puts the imported value set on the stack (this one is already on it), so a cycle is found there.
            var checker = new CodeValidator(_ctx, other);
            checker.Prepare();
            _others[u] = checker;
        }

        var cs = _ctx.FindCodeSystem(cc.System, cc.Version);
        if (cs is null)
        {
            return;
        }

        foreach (var s in _ctx.RequiredSupplements)
        {
            if (cs.Model.Supplements.Any(x => x.Url == s || x.Url + "|" + x.Version == s))
            {
                _ctx.UsedSupplements.Add(s);
            }
        }

        var i = 0;
        foreach (var f in cc.Filter)
        {
            if (string.IsNullOrEmpty(f.Value))
            {
                throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Invalid, "vs-invalid",
                    $"The system {cs.Url} filter with property = {f.Property}, op = {ConceptFilters.OpCode(f)} has no value", $"ValueSet.compose.{desc}.filter[{i}]"));
            }

            i++;
        }
    }

    /// <summary>A problem found while preparing the value set that is reported as a validation result, not an HTTP error.</summary>
    internal sealed class PrepareException(TxIssue issue) : Exception(issue.Text)
    {
        public TxIssue Issue { get; } = issue;
    }

    /// <summary>The result for a value set that could not be prepared (e.g. an import that does not exist).</summary>
    public static Parameters PrepareError(PrepareException e, CodeableConcept coded, CodedMode mode, TxContext ctx)
    {
        var result = new Parameters();
        result.Parameter.Add(new Parameters.ParameterComponent { Name = "issues", Resource = TxIssue.Outcome([e.Issue]) });
        result.Add("result", new FhirBoolean(false));
        result.Add("message", new FhirString(e.Issue.Text));
        if (mode == CodedMode.CodeableConcept)
        {
            result.Add("codeableConcept", (CodeableConcept)coded.DeepCopy());
        }
        else if (coded.Coding.FirstOrDefault() is { } c)
        {
            if (c.System is not null)
            {
                result.Add("system", new FhirUri(c.System));
            }

            if (c.Version is not null)
            {
                result.Add("version", new FhirString(c.Version));
            }
            else if (c.System is not null && ctx.FindCodeSystem(c.System, null) is { Version: { } v })
            {
                result.Add("version", new FhirString(v));
            }

            if (c.Code is not null)
            {
                result.Add("code", new Code(c.Code));
            }
        }

        return result;
    }

    // ---- status ----------------------------------------------------------------------------------

    private void CheckCanonicalStatus(TxOutcome op, string rtype, string vurl, PublicationStatus? status, string? standards, bool? experimental, ValueSet? source)
    {
        if (standards == "deprecated")
        {
            op.Add(Issue(Severity.Information, IssueType.BusinessRule, null, "status-check", $"Reference to deprecated {rtype} {vurl}"), true);
        }
        else if (standards == "withdrawn")
        {
            op.Add(Issue(Severity.Information, IssueType.BusinessRule, null, "status-check", $"Reference to withdrawn {rtype} {vurl}"), true);
        }
        else if (status == PublicationStatus.Retired)
        {
            op.Add(Issue(Severity.Information, IssueType.BusinessRule, null, "status-check", $"Reference to retired {rtype} {vurl}"), true);
        }
        else if (source is not null)
        {
            if (experimental == true && source.Experimental != true)
            {
                op.Add(Issue(Severity.Information, IssueType.BusinessRule, null, "status-check", $"Reference to experimental {rtype} {vurl}"), true);
            }
            else if ((status == PublicationStatus.Draft || standards == "draft")
                && !(source.Status == PublicationStatus.Draft || ValueSetExpander.StatusOf(source.Extension) == "draft"))
            {
                op.Add(Issue(Severity.Information, IssueType.BusinessRule, null, "status-check", $"Reference to draft {rtype} {vurl}"), true);
            }
        }
    }

    private void CheckCodeSystemStatus(TxOutcome op, CodeSystemUse cs) =>
        CheckCanonicalStatus(op, "CodeSystem", cs.VersionedUrl, cs.Entry.Resource.Status, ValueSetExpander.StatusOf(cs.Entry.Resource.Extension), cs.Entry.Resource.Experimental, _vs);

    private void CheckValueSetStatus(TxOutcome op, ValueSet vs) =>
        CheckCanonicalStatus(op, "ValueSet", Label(vs), vs.Status, ValueSetExpander.StatusOf(vs.Extension), vs.Experimental, _vs);

    // ---- check one code --------------------------------------------------------------------------

    private string DispWarningSeverityName => _p.DisplayWarning ? "warning" : "error";

    private Severity DispSeverity => _p.DisplayWarning ? Severity.Warning : Severity.Error;

    /// <summary>Is the code in the value set? True, false, or null when that cannot be known (unknown code system).</summary>
    private bool? Check(string path, string? system, string? version, string code, Designations displays, CheckState st, TxOutcome op, string? display)
    {
        st.DefLang = new Language("en");
        if (system is null && !_p.InferSystem)
        {
            var m = "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided";
            st.Msg(m);
            op.Add(Issue(Severity.Warning, IssueType.Invalid, path, "invalid-data", m));
            return false;
        }

        if (system is null)
        {
            var systems = new List<string>();
            system = DetermineSystem(code, systems);
            if (system is null)
            {
                var m = systems.Count > 1
                    ? $"The System URI could not be determined for the code '{code}' in the ValueSet '{VsLabel}': value set expansion has multiple matches: [{string.Join(", ", systems)}]"
                    : $"The System URI could not be determined for the code '{code}' in the ValueSet '{VsLabel}'";
                st.Msg(m);
                op.Add(Issue(Severity.Error, IssueType.NotFound, "code", "cannot-infer", m));
                return false;
            }

            st.ImpliedSystem = system;
        }

        _ctx.ThrowIfSupplementsMissing();
        bool? result;
        if (_vs.Compose is { } compose)
        {
            result = false;
            string? determinedVersion = null;
            if (version is null)
            {
                var vset = compose.Include.Where(i => i.System == system && i.Version is not null).Select(i => i.Version!).Distinct().ToList();
                if (vset.Count > 1)
                {
                    determinedVersion = PickApplicableVersion(vset, system, code, display);
                }
            }

            var includes = compose.Include.Select((inc, i) => (inc, i)).ToList();
            includes.Sort((x, y) =>
            {
                var c = x.inc.System == y.inc.System && x.inc.Version is not null && y.inc.Version is not null ? -Versions.Compare(x.inc.Version, y.inc.Version) : 0;
                return c != 0 ? c : x.i.CompareTo(y.i);
            });
            foreach (var (cc, _) in includes)
            {
                if (cc.System is null)
                {
                    result = true;
                }
                else if (cc.System == system && (determinedVersion is null || cc.Version == determinedVersion) && UseThisVersion(cc, version))
                {
                    var v = DetermineVersion(path, cc.System, cc.Version, version, op, st);
                    var cs = _ctx.FindCodeSystem(system, v);
                    if (cs is null)
                    {
                        if (_p.MembershipOnly)
                        {
                            return false;
                        }

                        string m;
                        var add = true;
                        var resolved = _p.DetermineVersion(system, v);
                        if (resolved is null)
                        {
                            m = $"A definition for CodeSystem '{system}' could not be found, so the code cannot be validated";
                            st.AddUnknownSystem(system);
                        }
                        else
                        {
                            var vl = _ctx.ListVersions(system);
                            string vn;
                            if (vl.Count == 0)
                            {
                                m = $"A definition for CodeSystem '{system}' version '{resolved}' could not be found, so the code cannot be validated. No versions of this code system are known";
                                vn = system;
                            }
                            else
                            {
                                m = $"A definition for CodeSystem '{system}' version '{resolved}' could not be found, so the code cannot be validated. Valid versions: {TxContext.PresentVersionList(vl)}";
                                vn = system + "|" + resolved;
                            }

                            add = !st.UnknownSystems.Contains(vn);
                            st.AddUnknownSystem(vn);
                        }

                        st.Msg(m);
                        if (add)
                        {
                            op.Add(Issue(Severity.Error, IssueType.NotFound, AddToPath(path, "system"), "not-found", m));
                        }

                        return null;
                    }

                    if (_ctx.CheckVersion(system, cs.Version, AddToPath(path, "version")) is { } broken)
                    {
                        op.Add(broken, true);
                    }

                    st.DefLang = new Language(cs.DefaultLanguage);
                    CheckCodeSystemStatus(op, cs);
                    st.ContentMode = cs.Content;
                    if (cs.Url == system && CheckConceptSet(path, true, cs, cc, code, displays, st, op))
                    {
                        st.Version = cs.Version;
                        result = true;
                    }
                    else
                    {
                        result = false;
                    }
                }
                else
                {
                    result = false;
                }

                foreach (var u in cc.Imports())
                {
                    if (!_others.TryGetValue(u, out var checker))
                    {
                        throw new TxException(HttpStatusCode.InternalServerError, Issue(Severity.Error, IssueType.Exception, null, "internal", $"No match for {u}"));
                    }

                    CheckValueSetStatus(op, checker._vs);
                    if (result == true)
                    {
                        result = checker.Check(path, system, version, code, displays, st, op, display);
                    }
                }

                if (result == true)
                {
                    break;
                }
            }

            if (result == true)
            {
                foreach (var cc in compose.Exclude)
                {
                    bool excluded;
                    if (cc.System is null)
                    {
                        excluded = true;
                    }
                    else
                    {
                        var cs = _ctx.FindCodeSystem(cc.System, cc.Version);
                        if (cs is null)
                        {
                            excluded = false;
                        }
                        else
                        {
                            CheckCodeSystemStatus(op, cs);
                            excluded = cs.Url == system && CheckConceptSet(path, false, cs, cc, code, displays, st, op);
                        }
                    }

                    foreach (var u in cc.Imports())
                    {
                        var other = _ctx.FindValueSet(u, _vs, out _, out _);
                        if (other is null)
                        {
                            excluded = false;
                            continue;
                        }

                        var checker = new CodeValidator(_ctx, other);
                        checker.Prepare();
                        CheckValueSetStatus(op, other);
                        excluded = excluded && checker.Check(path, system, version, code, new Designations(), new CheckState(), new TxOutcome(), display) == true;
                    }

                    if (excluded)
                    {
                        return false;
                    }
                }
            }
        }
        else if (_vs.Expansion is { } expansion)
        {
            var ccc = ValueSetExpander.Flatten(expansion.Contains).FirstOrDefault(c => c.System == system && c.Code == code && (version is null || c.Version is null || c.Version == version));
            if (ccc is null)
            {
                return false;
            }

            var cs = _ctx.FindCodeSystem(system, ccc.Version ?? version);
            if (cs is null)
            {
                if (_p.MembershipOnly)
                {
                    return false;
                }

                var m = $"A definition for CodeSystem '{system}' could not be found, so the code cannot be validated";
                st.AddUnknownSystem(system);
                st.Msg(m);
                op.Add(Issue(Severity.Error, IssueType.NotFound, AddToPath(path, "system"), "not-found", m));
                return null;
            }

            st.DefLang = new Language(cs.DefaultLanguage);
            CheckCodeSystemStatus(op, cs);
            st.Version = cs.Version;
            st.ContentMode = cs.Content;
            var node = cs.Model.Find(code);
            if (node is null)
            {
                op.Add(Issue(Severity.Error, IssueType.CodeInvalid, AddToPath(path, "code"), "invalid-code", UnknownCode(code, cs)));
                return false;
            }

            if (!_p.AbstractOk && node.NotSelectable)
            {
                op.Add(Issue(Severity.Error, IssueType.BusinessRule, AddToPath(path, "code"), "code-rule", $"Code '{system}#{code}' is abstract, and not allowed in this context"));
                return false;
            }

            SeeInactive(st, node, path, code);
            displays.AddFromConcept(cs.Model, node);
            result = true;
        }
        else
        {
            result = false;
        }

        return result;
    }

    private static string UnknownCode(string code, CodeSystemUse cs) => cs.Version is null
        ? $"Unknown code '{code}' in the CodeSystem '{cs.Url}'"
        : $"Unknown code '{code}' in the CodeSystem '{cs.Url}' version '{cs.Version}'";

    private static void SeeInactive(CheckState st, ConceptNode node, string path, string code)
    {
        if (!st.Inactive)
        {
            st.Inactive = node.Inactive;
            st.InactivePath = path;
            st.InactiveCode = code;
            st.Status = node.Status;
        }
    }

    private bool UseThisVersion(ValueSet.ConceptSetComponent cc, string? version) =>
        version is null || cc.Version == version || !(_vs.Compose?.Include ?? []).Any(i => i.Version == version);

    private string? PickApplicableVersion(List<string> vset, string system, string code, string? display)
    {
        var found = new List<string>();
        foreach (var v in vset)
        {
            var cs = _ctx.FindCodeSystem(system, v);
            if (cs?.Model.Find(code) is { } node && (display is null || DisplayIsOk(cs, node, display)))
            {
                found.Add(v);
            }
        }

        if (found.Count == vset.Count)
        {
            return null;
        }

        var pool = found.Count > 0 ? found : vset;
        return pool.OrderByDescending(v => v, Comparer<string>.Create(Versions.Compare)).First();
    }

    private static bool DisplayIsOk(CodeSystemUse cs, ConceptNode node, string display) =>
        node.Display == display || node.Designations.Any(d => d.Value == display);

    /// <summary>True when <paramref name="check"/> is a pattern (wildcards) that <paramref name="actual"/> fills in.</summary>
    private static bool MoreDetailed(string? check, string? actual) =>
        check is not null && actual is not null && check != actual && Versions.IsWildcard(check) && Versions.Matches(check, actual);

    /// <summary>The version of <paramref name="system"/> a value set include selects for a coding, reporting mismatches.</summary>
    private string? DetermineVersion(string path, string system, string? versionVs, string? versionCoding, TxOutcome op, CheckState st)
    {
        var csa = _ctx.FindCodeSystem(system, null, applyRules: false, anyContent: true);
        var result = _p.DetermineVersion(system, versionVs);
        if (versionCoding is null)
        {
            return result;
        }

        if (result is not null && csa is not null && versionCoding != result && MoreDetailed(result, versionCoding))
        {
            result = versionCoding;
        }

        if (result is null)
        {
            var vl = _ctx.ListVersions(system);
            if (vl.Any(v => v == versionCoding || MoreDetailed(versionCoding, v)))
            {
                result = versionCoding;
            }
        }

        var cs = _ctx.FindCodeSystem(system, result);
        if (cs is not null && cs.Version != versionCoding && !MoreDetailed(versionCoding, cs.Version))
        {
            var level = Severity.Error;
            string m;
            if (result is null)
            {
                level = Severity.Warning;
                m = $"The code system '{system}' version '{cs.Version}' for the versionless include in the ValueSet include is different to the one in the value ('{versionCoding}')";
            }
            else if (result != versionVs)
            {
                m = $"The code system '{system}' version '{result}' resulting from the version '{versionVs ?? ""}' in the ValueSet include is different to the one in the value ('{versionCoding}')";
            }
            else
            {
                m = $"The code system '{system}' version '{versionVs}' in the ValueSet include is different to the one in the value ('{versionCoding}')";
            }

            op.Add(Issue(level, IssueType.Invalid, AddToPath(path, "version"), "vs-invalid", m));
            if (level == Severity.Error)
            {
                st.Msg(m);
            }

            if (_ctx.FindCodeSystem(system, versionCoding, applyRules: false) is null)
            {
                st.AddUnknownSystem(system + "|" + versionCoding);
                var vl = _ctx.ListVersions(system);
                var um = $"A definition for CodeSystem '{system}' version '{versionCoding}' could not be found, so the code cannot be validated. Valid versions: {TxContext.PresentVersionList(vl)}";
                op.Add(Issue(Severity.Error, IssueType.NotFound, AddToPath(path, "system"), "not-found", um));
                st.Msg(um);
            }
        }
        else if (cs is null && result != versionCoding)
        {
            var m = $"The code system '{system}' version '{result}' in the ValueSet include is different to the one in the value ('{versionCoding}')";
            op.Add(Issue(Severity.Error, IssueType.Invalid, AddToPath(path, "version"), "vs-invalid", m));
            st.Msg(m);
        }

        return result;
    }

    /// <summary>Is the code in (or, for an exclude, matched by) this include? Records displays, status and issues.</summary>
    private bool CheckConceptSet(string path, bool inRole, CodeSystemUse cs, ValueSet.ConceptSetComponent cset, string code, Designations displays, CheckState st, TxOutcome op)
    {
        var result = false;
        var excludeInactives = _vs.Compose?.Inactive == false;
        if (cset.Concept.Count == 0 && cset.Filter.Count == 0)
        {
            var node = cs.Model.Find(code);
            if (node is null)
            {
                if (!_p.MembershipOnly && inRole)
                {
                    if (cs.Content is not (CodeSystemContentMode.Complete or null))
                    {
                        op.Add(Issue(Severity.Warning, IssueType.CodeInvalid, AddToPath(path, "code"), "invalid-code",
                            $"Unknown Code '{code}' in the CodeSystem '{cs.Url}' version '{cs.Version}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment"));
                        result = true;
                    }
                    else
                    {
                        op.Add(Issue(Severity.Error, IssueType.CodeInvalid, AddToPath(path, "code"), "invalid-code", UnknownCode(code, cs)));
                    }
                }

                return result;
            }

            if (node.Code != code)
            {
                op.Add(Issue(Severity.Information, IssueType.BusinessRule, AddToPath(path, "code"), "code-rule",
                    $"The code '{code}' differs from the correct code '{node.Code}' by case. Although the code system '{cs.VersionedUrl}' is case insensitive, implementers are strongly encouraged to use the correct case anyway"));
                st.NormalForm = node.Code;
            }

            displays.AddFromConcept(cs.Model, node);
            if (!_p.AbstractOk && node.NotSelectable)
            {
                if (!_p.MembershipOnly && inRole)
                {
                    op.Add(Issue(Severity.Error, IssueType.BusinessRule, AddToPath(path, "code"), "code-rule", $"Code '{cs.Url}#{code}' is abstract, and not allowed in this context"));
                }

                return false;
            }

            if ((excludeInactives || _p.ActiveOnly) && node.Inactive)
            {
                if (inRole)
                {
                    var m = $"The concept '{code}' is valid but is not active";
                    op.Add(Issue(Severity.Error, IssueType.BusinessRule, AddToPath(path, "code"), "code-rule", m));
                    st.Msg(m);
                    if (!_p.MembershipOnly || _p.ActiveOnly)
                    {
                        st.Inactive = true;
                        st.InactivePath = path;
                        st.InactiveCode = code;
                        st.Status = node.Status;
                    }
                }

                return false;
            }

            if (inRole)
            {
                SeeInactive(st, node, path, code);
            }

            return true;
        }

        foreach (var cc in cset.Concept)
        {
            if (cc.Code != code)
            {
                continue;
            }

            var node = cs.Model.Find(code);
            if (node is null)
            {
                continue;
            }

            displays.AddFromConcept(cs.Model, node);
            displays.AddFromValueSetConcept(cc, _vs);
            if (!_p.AbstractOk && node.NotSelectable)
            {
                if (!_p.MembershipOnly)
                {
                    op.Add(Issue(Severity.Error, IssueType.BusinessRule, AddToPath(path, "code"), "code-rule", $"Code '{cs.Url}#{code}' is abstract, and not allowed in this context"));
                }
            }
            else if (excludeInactives && node.Inactive)
            {
                result = false;
                if (!_p.MembershipOnly)
                {
                    st.Inactive = true;
                    st.InactivePath = path;
                    st.InactiveCode = code;
                    st.Status = node.Status;
                }
            }
            else
            {
                var standards = ValueSetExpander.StatusOf(cc.Extension);
                if (standards is "withdrawn" or "deprecated")
                {
                    op.Add(Issue(Severity.Warning, IssueType.BusinessRule, AddToPath(path, "code"), "code-comment",
                        $"The presence of the concept '{code}' in the system '{cs.Url}' in the value set {VsLabel} is marked with a status of {standards} and its use should be reviewed"));
                }
                else if (cc.Extension.Any(e => e.Url == "http://hl7.org/fhir/StructureDefinition/valueset-deprecated"))
                {
                    op.Add(Issue(Severity.Warning, IssueType.BusinessRule, AddToPath(path, "code"), "code-comment",
                        $"The presence of the concept '{code}' in the system '{cs.Url}' in the value set {VsLabel} is marked with a status of deprecated and its use should be reviewed"));
                }

                if (inRole)
                {
                    SeeInactive(st, node, path, code);
                }

                return true;
            }
        }

        if (cset.Filter.Count > 0)
        {
            var filters = new List<ConceptFilters.CompiledFilter>();
            foreach (var f in cset.Filter)
            {
                if (string.IsNullOrEmpty(f.Value) && ConceptFilters.OpCode(f) != "exists")
                {
                    throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Invalid, "vs-invalid",
                        $"The system {cs.Url} filter with property = {f.Property}, op = {ConceptFilters.OpCode(f)} has no value", null));
                }

                filters.Add(ConceptFilters.Compile(cs.Model, f));
            }

            var node = cs.Model.Find(code);
            if (node is not null && filters.All(f => f.Matches(node)))
            {
                displays.AddFromConcept(cs.Model, node);
                if (!_p.AbstractOk && node.NotSelectable)
                {
                    if (!_p.MembershipOnly)
                    {
                        op.Add(Issue(Severity.Error, IssueType.BusinessRule, AddToPath(path, "code"), "code-rule", $"Code '{cs.Url}#{code}' is abstract, and not allowed in this context"));
                    }
                }
                else if (excludeInactives && node.Inactive)
                {
                    result = false;
                    if (!_p.MembershipOnly)
                    {
                        st.Inactive = true;
                        st.InactivePath = path;
                        st.InactiveCode = code;
                        st.Status = node.Status;
                    }
                }
                else
                {
                    if (inRole && !st.Inactive && node.Inactive)
                    {
                        st.Inactive = true;
                        st.InactivePath = path;
                        st.InactiveCode = code;
                        st.Status = node.Status ?? st.Status;
                    }

                    return true;
                }
            }
        }

        return result;
    }

    /// <summary>The code system a code without one belongs to, from the value set (null when none or several).</summary>
    private string? DetermineSystem(string code, List<string> systems)
    {
        var compose = _vs.Compose;
        var needExpansion = compose is null
            || compose.Exclude.Any(x => x.HasImports() || x.System is null || x.Filter.Count > 0)
            || compose.Include.Any(x => x.HasImports() || x.System is null);
        var mayNeedExpansion = compose?.Include.Any(x => x.Filter.Count > 0) == true;
        if (needExpansion)
        {
            return SystemFromExpansion(code, systems);
        }

        string? result = null;
        foreach (var inc in compose!.Include)
        {
            var cs = _ctx.FindCodeSystem(inc.System, null);
            if (cs is null)
            {
                return null;
            }

            var found = inc.Concept.Count > 0 ? inc.Concept.Any(c => c.Code == code) : cs.Model.Find(code) is not null;
            if (found)
            {
                if (!systems.Contains(inc.System!))
                {
                    systems.Add(inc.System!);
                }

                if (result is null)
                {
                    result = inc.System;
                }
                else if (result != inc.System)
                {
                    if (mayNeedExpansion)
                    {
                        return SystemFromExpansion(code, systems);
                    }

                    return null;
                }
            }
        }

        return result;
    }

    private string? SystemFromExpansion(string code, List<string> systems)
    {
        var expander = new ValueSetExpander(_ctx, TimeProvider.System, 10000, 10000, isImport: true);
        var vs = expander.Expand(_vs);
        string? result = null;
        foreach (var c in ValueSetExpander.Flatten(vs.Expansion?.Contains ?? []))
        {
            if (c.Code == code && c.System is not null)
            {
                if (!systems.Contains(c.System))
                {
                    systems.Add(c.System);
                }

                if (result is null)
                {
                    result = c.System;
                }
                else if (result != c.System)
                {
                    return null;
                }
            }
        }

        return result;
    }

    private string? FindVsVersionForSystem(string? system)
    {
        string? best = null;
        foreach (var inc in _vs.Compose?.Include ?? [])
        {
            if (inc.System == system && inc.Version is not null && (best is null || Versions.Compare(inc.Version, best) > 0))
            {
                best = inc.Version;
            }
        }

        return best;
    }

    // ---- the whole request -----------------------------------------------------------------------

    /// <summary>Validates a code, Coding or CodeableConcept (given as a CodeableConcept) and builds the result Parameters.</summary>
    public Parameters CheckCodeableConcept(CodeableConcept code, CodedMode mode)
    {
        var issuePath = mode switch
        {
            CodedMode.CodeableConcept => "CodeableConcept",
            CodedMode.Coding => "Coding",
            _ => "",
        };
        var st = new CheckState();
        var op = new TxOutcome();
        var result = new Parameters();
        CheckValueSetStatus(op, _vs);

        string? pdisp = null, psys = null, pcode = null, ppath = null, pver = null;
        string? tsys = null, tcode = null, tver = null;
        var codelist = "";
        bool? ok = false;
        var noCode = false;
        var matched = new HashSet<int>();
        var versionParamAdded = false;
        for (var i = 0; i < code.Coding.Count; i++)
        {
            var c = code.Coding[i];
            var vsImpliedVersion = FindVsVersionForSystem(c.System);
            var path = mode == CodedMode.CodeableConcept ? AddToPath(issuePath, $"coding[{i}]") : issuePath;
            if (string.IsNullOrEmpty(c.Code))
            {
                var m = c.System is null && !_p.InferSystem
                    ? "Coding has no system or code, so it cannot be validated"
                    : c.System is not null ? $"Coding has no code for system {c.System} and cannot be validated" : "Coding has no code and cannot be validated";
                st.Msg(m);
                op.Add(Issue(Severity.Warning, IssueType.Invalid, path, "invalid-data", m));
                noCode = true;
                break;
            }

            var list = new Designations();
            var v = Check(path, c.System, c.Version, c.Code, list, st, op, c.Display);
            if (v == false)
            {
                st.Cause = "code-invalid";
            }
            else if (v == true)
            {
                matched.Add(i);
            }

            var ws = st.ImpliedSystem ?? c.System;
            if (tcode is null || v == true)
            {
                tsys = c.System;
                tcode = c.Code;
                tver = c.Version;
            }

            if (tver is null && st.Version is not null)
            {
                tver = st.Version;
            }

            var cc = (ws ?? "") + (c.Version is null ? "" : "|" + c.Version) + "#" + c.Code;
            if (c.Display is not null)
            {
                cc += $" ('{c.Display}')";
            }

            codelist = codelist.Length == 0 ? $"'{cc}'" : codelist + $", '{cc}'";
            if (v == false && !_internallyDefined && mode == CodedMode.CodeableConcept)
            {
                op.Add(Issue(Severity.Information, IssueType.CodeInvalid, $"{issuePath}.coding[{i}].code", "this-code-not-in-vs",
                    $"The provided code '{cc}' was not found in the value set '{VsLabel}'"));
                if (st.Cause == "null")
                {
                    st.Cause = "unknown";
                }
            }

            if (ok != true && v != false)
            {
                ok = v;
            }

            if (v == true)
            {
                if (((st.Cause == "not-found" && st.ContentMode is not (CodeSystemContentMode.Complete or null)) || st.ContentMode == CodeSystemContentMode.Example))
                {
                    var m = $"The system {c.System} was found but did not contain enough information to properly validate the code \"{c.Code}\" (\"{c.Display}\") (mode = {st.ContentMode})";
                    st.Msg(m);
                    op.Add(Issue(Severity.Warning, IssueType.NotFound, path, "vs-invalid", m));
                }
                else if (c.Display is not null && list.List.Count > 0)
                {
                    CheckDisplays(list, st.DefLang, c, st, op, path);
                }

                if (pcode is null)
                {
                    psys = ws;
                    pcode = c.Code;
                    ppath = path;
                    pver = st.Version;
                    pdisp = list.PreferredDisplay(_p.WorkingLanguages) ?? list.PreferredDisplay(null);
                }
            }
            else if (!_p.MembershipOnly && ws is not null)
            {
                if (!IsAbsolute(ws))
                {
                    var m = "Coding.system must be an absolute reference, not a local reference";
                    var p = mode switch
                    {
                        CodedMode.Coding => issuePath + ".system",
                        CodedMode.CodeableConcept => $"{issuePath}.coding[{i}].system",
                        _ => issuePath,
                    };
                    st.Messages.Add(m);
                    op.Add(Issue(Severity.Error, IssueType.Invalid, p, "invalid-data", m));
                }

                var lookupVersion = c.Version ?? vsImpliedVersion;
                var prov = _ctx.FindCodeSystem(ws, lookupVersion);
                if (prov is null)
                {
                    if (_ctx.Scope.FindValueSet(ws, null) is not null)
                    {
                        var m = $"The Coding references a value set, not a code system ('{ws}')";
                        st.Msg(m);
                        op.Add(Issue(Severity.Error, IssueType.Invalid, AddToPath(path, "system"), "invalid-data", m));
                        st.Cause = "invalid";
                    }
                    else if (_ctx.Scope.FindCodeSystemEntry(ws, lookupVersion) is { Resource.Content: CodeSystemContentMode.Supplement } supplement)
                    {
                        var m = $"CodeSystem {supplement.VersionedUrl} is a supplement, so can't be used as a value in Coding.system";
                        st.Msg(m);
                        op.Add(Issue(Severity.Error, IssueType.Invalid, AddToPath(path, "system"), "invalid-data", m));
                        st.Cause = "invalid";
                    }
                    else
                    {
                        var prov2 = _ctx.FindCodeSystem(ws, null);
                        string m;
                        bool add;
                        if (prov2 is null && lookupVersion is null)
                        {
                            m = $"A definition for CodeSystem '{ws}' could not be found, so the code cannot be validated";
                            add = !st.UnknownSystems.Contains(ws);
                            st.AddUnknownSystem(ws);
                        }
                        else
                        {
                            var vl = _ctx.ListVersions(c.System ?? ws);
                            string vn;
                            if (vl.Count == 0)
                            {
                                m = $"A definition for CodeSystem '{ws}' version '{lookupVersion}' could not be found, so the code cannot be validated. No versions of this code system are known";
                                vn = ws;
                            }
                            else
                            {
                                m = $"A definition for CodeSystem '{ws}' version '{lookupVersion}' could not be found, so the code cannot be validated. Valid versions: {TxContext.PresentVersionList(vl)}";
                                vn = ws + "|" + lookupVersion;
                            }

                            add = !st.UnknownSystems.Contains(vn);
                            st.AddUnknownSystem(vn);
                        }

                        if (add)
                        {
                            // Only once per system: the same unknown system may already have been reported from the value set side.
                            op.Add(Issue(Severity.Error, IssueType.NotFound, AddToPath(path, "system"), "not-found", m));
                            st.Msg(m);
                        }

                        st.Cause = "not-found";
                    }
                }
                else
                {
                    CheckCodeSystemStatus(op, prov);
                    var node = prov.Model.Find(c.Code);
                    if (node is null)
                    {
                        var key = ws + "|" + prov.Version + "#" + c.Code;
                        if (!st.UnknownCodes.Contains(key))
                        {
                            st.UnknownCodes.Add(key);
                            if (prov.Content is CodeSystemContentMode.Complete or null)
                            {
                                var m = UnknownCode(c.Code, prov);
                                st.Cause = "code-invalid";
                                st.Msg(m);
                                op.Add(Issue(Severity.Error, IssueType.CodeInvalid, AddToPath(path, "code"), "invalid-code", m), true);
                            }
                            else
                            {
                                var m = $"Unknown Code '{c.Code}' in the CodeSystem '{ws}' version '{prov.Version}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment";
                                st.Cause = "code-invalid";
                                op.Add(Issue(Severity.Warning, IssueType.CodeInvalid, AddToPath(path, "code"), "invalid-code", m), true);
                            }
                        }
                    }
                    else
                    {
                        list.AddFromConcept(prov.Model, node);
                        if (!_p.MembershipOnly && !st.Inactive && node.Inactive)
                        {
                            st.Inactive = true;
                            st.InactivePath = path;
                            st.InactiveCode = c.Code;
                            st.Status = node.Status ?? st.Status;
                        }

                        pdisp = list.PreferredDisplay(_p.WorkingLanguages) ?? list.PreferredDisplay(null) ?? pdisp;
                        if (c.Display is not null && list.List.Count > 0)
                        {
                            var defLang = new Language(prov.DefaultLanguage);
                            var hd = list.HasDisplay(_p.WorkingLanguages, defLang, c.Display, false);
                            if (!hd.Found)
                            {
                                var severity = DispSeverity;
                                var baseWs = hd.Difference == Designations.DisplayDifference.Normalized;
                                var dc = list.DisplayCount(_p.WorkingLanguages, null, true);
                                string m;
                                if (dc == 0)
                                {
                                    severity = Severity.Warning;
                                    m = $"'{c.Display}' is not a valid display for the code {prov.Url}#{c.Code}: there are no valid display names for the language(s) '{_p.LanguageSummary}'";
                                }
                                else
                                {
                                    m = WrongDisplay(baseWs, dc, prov.Url, c.Code!, list.Present(_p.WorkingLanguages, true), c.Display) + $" (for the language(s) '{_p.LanguageSummary}')";
                                }

                                st.Msg(m);
                                op.Add(Issue(severity, IssueType.Invalid, AddToPath(path, "display"), "invalid-display", m));
                            }
                        }

                        if (prov.Version is not null && mode != CodedMode.CodeableConcept && !versionParamAdded)
                        {
                            result.Add("version", new FhirString(prov.Version));
                            versionParamAdded = true;
                        }
                    }
                }
            }
        }

        // In a CodeableConcept, a coding whose code system is unknown does not veto another coding that is in the value set.
        if (mode == CodedMode.CodeableConcept && matched.Count > 0)
        {
            for (var j = 0; j < code.Coding.Count; j++)
            {
                if (matched.Contains(j))
                {
                    continue;
                }

                var sysPath = $"{issuePath}.coding[{j}].system";
                for (var k = 0; k < op.Issues.Count; k++)
                {
                    var iss = op.Issues[k];
                    if (iss.Severity == Severity.Error && iss.TxCode == "not-found" && iss.Expression == sysPath)
                    {
                        var c = code.Coding[j];
                        var now = $"A definition for CodeSystem '{(c.Version is null ? c.System : c.System + "|" + c.Version)}' could not be found, so this coding was not checked";
                        st.Messages.Remove(iss.Text);
                        op.Issues[k] = iss with { Severity = Severity.Warning, Text = now };
                        st.Msg(now);
                    }
                }
            }
        }

        var noCodeSummary = noCode && (mode != CodedMode.CodeableConcept || _internallyDefined);
        if (ok == false && !noCodeSummary && (!_internallyDefined || !op.HasErrors))
        {
            string m, p;
            if (mode == CodedMode.CodeableConcept)
            {
                m = $"No valid coding was found for the value set '{VsLabel}'";
                p = "";
            }
            else
            {
                m = $"The provided code {codelist} was not found in the value set '{VsLabel}'";
                p = issuePath.Length == 0 ? "code" : issuePath + ".code";
            }

            if (op.Add(Issue(Severity.Error, IssueType.CodeInvalid, p, "not-in-vs", m)))
            {
                st.Msg(m);
            }
        }

        var valid = ok == true && !op.HasErrors;
        result.Parameter.Insert(0, new Parameters.ParameterComponent { Name = "result", Value = new FhirBoolean(valid) });
        if (psys is not null)
        {
            result.Add("system", new FhirUri(psys));
        }
        else if (ok == true && st.ImpliedSystem is not null)
        {
            result.Add("system", new FhirUri(st.ImpliedSystem));
        }
        else if (tsys is not null && mode != CodedMode.CodeableConcept)
        {
            result.Add("system", new FhirUri(tsys));
        }

        foreach (var us in st.UnknownSystems)
        {
            if (ok == false)
            {
                result.Add("x-unknown-system", new Canonical(us));
            }
            else if (!valid)
            {
                result.Add("x-caused-by-unknown-system", new Canonical(us));
            }
        }

        if (st.NormalForm is not null)
        {
            result.Add("normalized-code", new Code(st.NormalForm));
        }

        if (pcode is not null)
        {
            result.Add("code", new Code(pcode));
        }
        else if (tcode is not null && mode != CodedMode.CodeableConcept)
        {
            result.Add("code", new Code(tcode));
        }

        if (!versionParamAdded)
        {
            if (pver is not null)
            {
                result.Add("version", new FhirString(pver));
            }
            else if (tver is not null && mode != CodedMode.CodeableConcept)
            {
                result.Add("version", new FhirString(tver));
            }
        }

        if (pdisp is not null && (pcode is not null || (tcode is not null && mode != CodedMode.CodeableConcept)))
        {
            result.Add("display", new FhirString(pdisp));
        }

        if (st.Inactive)
        {
            if (mode != CodedMode.CodeableConcept || (pcode is not null && st.InactivePath == ppath))
            {
                result.Add("inactive", new FhirBoolean(true));
                if (st.Status is { } status && status != "inactive")
                {
                    result.Add("status", new Code(status));
                }
            }

            var mpath = string.IsNullOrEmpty(st.InactivePath) ? "code" : st.InactivePath;
            var m = st.Status is null or "inactive" or "DISCOURAGED"
                ? $"The concept '{st.InactiveCode ?? tcode}' has a status of {st.Status ?? "inactive"} and its use should be reviewed"
                : $"The concept '{st.InactiveCode ?? tcode}' has a status of {st.Status} and inactive and its use should be reviewed";
            st.Msg(m);
            op.Add(Issue(Severity.Warning, IssueType.BusinessRule, mpath, "code-comment", m));
        }
        else if (string.Equals(st.Status, "deprecated", StringComparison.OrdinalIgnoreCase))
        {
            result.Add("status", new Code("deprecated"));
            var m = $"The concept '{tcode}' is deprecated and its use should be reviewed";
            st.Msg(m);
            op.Add(Issue(Severity.Warning, IssueType.BusinessRule, string.IsNullOrEmpty(issuePath) ? "code" : issuePath, "code-comment", m));
        }

        var messages = st.Messages.ToList();
        foreach (var iss in op.Issues)
        {
            if (iss.Severity == Severity.Error && !messages.Contains(iss.Text))
            {
                messages.Add(iss.Text);
            }
        }

        if (messages.Count > 0)
        {
            messages.Sort(string.CompareOrdinal);
            result.Add("message", new FhirString(string.Join("; ", messages)));
        }

        if (mode == CodedMode.CodeableConcept)
        {
            result.Add("codeableConcept", (CodeableConcept)code.DeepCopy());
        }

        if (op.HasIssues)
        {
            result.Parameter.Add(new Parameters.ParameterComponent { Name = "issues", Resource = TxIssue.Outcome(op.Issues) });
        }

        return result;
    }

    private static string WrongDisplay(bool whitespace, int count, string system, string code, string present, string display)
    {
        var prefix = whitespace ? $"Wrong whitespace in Display Name '{display}'" : $"Wrong Display Name '{display}'";
        return count == 1
            ? $"{prefix} for {system}#{code}. Valid display is {present}"
            : $"{prefix} for {system}#{code}. Valid display is one of {count} choices: {present}";
    }

    private void CheckDisplays(Designations list, Language? defLang, Coding c, CheckState st, TxOutcome op, string path)
    {
        var langs = _p.WorkingLanguages;
        var hd = list.HasDisplay(langs, null, c.Display!, false);
        if (!hd.Found)
        {
            var severity = DispSeverity;
            var whitespace = hd.Difference == Designations.DisplayDifference.Normalized;
            var dc = list.DisplayCount(langs, null, true);
            if (dc == 0)
            {
                severity = Severity.Warning;
                dc = list.DisplayCount(langs, null, false);
            }

            string m;
            if (dc == 0)
            {
                var ds = list.PreferredDisplay(null);
                if (ds is null)
                {
                    m = $"'{c.Display}' is not a valid display for the code {c.System}#{c.Code}: the code has no displays at all";
                }
                else if (list.HasDisplay(langs, defLang, c.Display!, false).Found)
                {
                    m = $"There are no valid display names found for the code {c.System}#{c.Code} for language(s) '{_p.LanguageSummary}'. The display is '{c.Display}' which is a valid display for the default language";
                    severity = Severity.Information;
                }
                else
                {
                    m = $"Wrong Display Name '{c.Display}' for {c.System}#{c.Code}. There are no valid display names found for language(s) '{_p.LanguageSummary}'. Default display is '{ds}'";
                    severity = DispSeverity;
                }
            }
            else
            {
                m = WrongDisplay(whitespace, dc, c.System!, c.Code!, list.Present(langs, true), c.Display!) + $" (for the language(s) '{_p.LanguageSummary}')";
            }

            st.Msg(m);
            op.Add(Issue(severity, IssueType.Invalid, AddToPath(path, "display"), "invalid-display", m));
            return;
        }

        // A display that is a designation of the concept, but not an active one.
        if (!list.HasDisplay(langs, null, c.Display!, true).Found)
        {
            var allowed = list.List.Where(d => d.IsActive && Designations.IsDisplay(d)).Select(d => d.Value).Distinct()
                .Select(v => v.IndexOfAny([' ', ',', '"']) >= 0 ? "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : v);
            // A designation that is no longer current (standards-status withdrawn or deprecated) is reported as deprecated.
            var status = list.List.FirstOrDefault(d => d.Value == c.Display)?.Status is "withdrawn" or "deprecated" ? "deprecated" : "inactive";
            var m = $"'{c.Display}' is no longer considered a correct display for code '{c.Code}' (status = {status}). The correct display is one of {string.Join(",", allowed)}.";
            op.Add(Issue(Severity.Warning, IssueType.Invalid, AddToPath(path, "display"), "display-comment", m));
        }
    }

    private static bool IsAbsolute(string system) =>
        system.StartsWith("urn:", StringComparison.Ordinal) || (Uri.TryCreate(system, UriKind.Absolute, out var u) && u.Scheme.Length > 1);
}
