using Hl7.Fhir.Model;
using Igia.Terminology.Content;

namespace Igia.Terminology.Engine;

/// <summary>ConceptMap <c>$translate</c>, forward and reverse, accepting both the R4 and the R5 parameter names.</summary>
internal static class Translator
{
    public static Parameters Translate(TxScope scope, TxRequest request, CanonicalEntry<ConceptMap>? instance)
    {
        var reverse = request.String("reverse") == "true";
        string? code = null, system = null, version = null;
        if ((request.Get("sourceCoding") ?? request.Get("coding"))?.Value is Coding c)
        {
            (code, system, version) = (c.Code, c.System, c.Version);
        }
        else if ((request.Get("sourceCodeableConcept") ?? request.Get("codeableConcept"))?.Value is CodeableConcept cc && cc.Coding.FirstOrDefault() is { } first)
        {
            (code, system, version) = (first.Code, first.System, first.Version);
        }
        else if ((request.String("sourceCode") ?? request.String("code")) is { } sc)
        {
            code = sc;
            system = request.String("sourceSystem") ?? request.String("system");
            version = request.String("sourceVersion") ?? request.String("version");
        }
        else if (request.Get("targetCoding")?.Value is Coding tc)
        {
            reverse = true;
            (code, system, version) = (tc.Code, tc.System, tc.Version);
        }
        else if (request.String("targetCode") is { } tcode)
        {
            reverse = true;
            code = tcode;
            system = request.String("targetSystem");
        }

        if (code is null)
        {
            throw TxException.Invalid("$translate needs a code to translate (sourceCode/code + system, sourceCoding/coding, or targetCode for a reverse translation)");
        }

        // The other side's system, when given, narrows the maps.
        var otherSystem = reverse ? request.String("sourceSystem") : request.String("targetSystem") ?? request.String("targetsystem");
        if (reverse && request.String("targetCode") is not null)
        {
            system = request.String("targetSystem");
        }

        IEnumerable<CanonicalEntry<ConceptMap>> maps;
        if (instance is not null)
        {
            maps = [instance];
        }
        else if (request.String("url") is { } url)
        {
            var (u, v) = Versions.SplitCanonical(url);
            var map = scope.FindConceptMap(u, v ?? request.String("conceptMapVersion"))
                ?? throw TxException.NotFound($"A definition for the ConceptMap '{url}' could not be found");
            maps = [map];
        }
        else
        {
            maps = scope.AllConceptMaps();
        }

        var result = new Parameters();
        var matches = new List<Parameters.ParameterComponent>();
        foreach (var entry in maps)
        {
            foreach (var group in entry.Resource.Group)
            {
                var from = reverse ? group.Target : group.Source;
                var to = reverse ? group.Source : group.Target;
                if (system is not null && from != system)
                {
                    continue;
                }

                if (otherSystem is not null && to != otherSystem)
                {
                    continue;
                }

                foreach (var element in group.Element)
                {
                    foreach (var target in element.Target)
                    {
                        var hit = reverse ? target.Code == code : element.Code == code;
                        if (!hit)
                        {
                            continue;
                        }

                        var match = new Parameters.ParameterComponent { Name = "match" };
                        if (reverse)
                        {
                            match.Part.Add(new Parameters.ParameterComponent { Name = "concept", Value = new Coding(group.Target, target.Code) });
                            match.Part.Add(new Parameters.ParameterComponent { Name = "source", Value = new Coding(group.Source, element.Code) });
                        }
                        else
                        {
                            match.Part.Add(new Parameters.ParameterComponent { Name = "concept", Value = new Coding(group.Target, target.Code) });
                        }

                        if (target.Equivalence is { } eq)
                        {
                            match.Part.Add(new Parameters.ParameterComponent { Name = "equivalence", Value = new Code(EnumCode(eq)) });
                        }

                        match.Part.Add(new Parameters.ParameterComponent { Name = "originMap", Value = new Canonical(entry.VersionedUrl) });
                        matches.Add(match);
                    }
                }
            }
        }

        var ok = matches.Any(m => m.Part.FirstOrDefault(p => p.Name == "equivalence")?.Value is not Code { Value: "unmatched" or "disjoint" });
        result.Add("result", new FhirBoolean(ok));
        if (!ok)
        {
            result.Add("message", new FhirString($"No translations found for '{system}#{code}'"));
        }

        result.Parameter.AddRange(matches);
        return result;
    }

    private static string EnumCode(ConceptMapEquivalence value) => value switch
    {
        ConceptMapEquivalence.Relatedto => "relatedto",
        ConceptMapEquivalence.Equivalent => "equivalent",
        ConceptMapEquivalence.Equal => "equal",
        ConceptMapEquivalence.Wider => "wider",
        ConceptMapEquivalence.Subsumes => "subsumes",
        ConceptMapEquivalence.Narrower => "narrower",
        ConceptMapEquivalence.Specializes => "specializes",
        ConceptMapEquivalence.Inexact => "inexact",
        ConceptMapEquivalence.Unmatched => "unmatched",
        ConceptMapEquivalence.Disjoint => "disjoint",
        _ => value.ToString().ToLowerInvariant(),
    };
}
