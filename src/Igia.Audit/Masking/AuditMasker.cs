using System.Text;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace Igia.Audit.Masking;

/// <summary>
/// The "datamask": makes the copy of an AuditEvent that may leave the protected stores (text logs, syslog). Removes
/// names and display texts, free text, the values of search parameters not on the allow list (names, birth dates,
/// identifiers…), and anything that looks like a bearer token; keeps codes, references, ids and outcomes.
/// </summary>
internal sealed partial class AuditMasker(AuditMaskingOptions options)
{
    public const string Mask = "***";

    /// <summary>A masked deep copy of <paramref name="source"/>; the original is not changed.</summary>
    public AuditEvent Apply(AuditEvent source)
    {
        var ev = (AuditEvent)source.DeepCopy();
        if (!options.KeepFreeText)
        {
            ev.OutcomeDesc = ev.OutcomeDesc is null ? null : Mask;
        }

        foreach (var agent in ev.Agent)
        {
            if (!options.KeepNames)
            {
                agent.Name = null;
                agent.AltId = null;
                if (IsPerson(agent) && agent.Who is { Display: not null } who)
                {
                    who.Display = who.Identifier is null && who.Reference is null ? Mask : null;
                }
            }
        }

        foreach (var entity in ev.Entity)
        {
            if (!options.KeepNames)
            {
                entity.Name = null;
                if (entity.What is { Display: not null } what)
                {
                    what.Display = what.Identifier is null && what.Reference is null ? Mask : null;
                }
            }

            if (!options.KeepFreeText)
            {
                entity.Description = null;
                entity.Detail.Clear();
            }

            if (entity.Query is { Length: > 0 } query)
            {
                entity.Query = Encoding.UTF8.GetBytes(MaskQuery(Encoding.UTF8.GetString(query)));
            }
        }

        return ev;
    }

    /// <summary>A person (user, patient) rather than a system: its display is a person's name.</summary>
    private static bool IsPerson(AuditEvent.AgentComponent agent) =>
        agent.Type?.Coding.Any(c => c.System is "http://terminology.hl7.org/CodeSystem/v3-ParticipationType" || c.Code == "humanuser") == true
        || agent.Who?.Reference?.Split('/') is [.., "Patient" or "Practitioner" or "RelatedPerson" or "PractitionerRole" or "Person", _];

    /// <summary>
    /// Masks a request line or URL: <c>GET base/Patient?name=Smith&amp;_count=10</c> becomes <c>GET base/Patient?name=***&amp;_count=10</c>.
    /// </summary>
    public string MaskQuery(string text)
    {
        text = MaskTokens(text);
        var q = text.IndexOf('?');
        if (q < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, q + 1);
        var first = true;
        foreach (var pair in text[(q + 1)..].Split('&'))
        {
            if (!first)
            {
                sb.Append('&');
            }

            first = false;
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            var bare = Uri.UnescapeDataString(name);
            var cut = bare.IndexOfAny([':', '.']);
            if (cut >= 0)
            {
                bare = bare[..cut];
            }

            sb.Append(name);
            if (eq >= 0)
            {
                sb.Append('=').Append(options.AllowedSearchParameters.Contains(bare) ? pair[(eq + 1)..] : Mask);
            }
        }

        return sb.ToString();
    }

    /// <summary>Replaces bearer tokens and JWTs anywhere in <paramref name="text"/>.</summary>
    public static string MaskTokens(string text) => TokenPattern().Replace(text, Mask);

    [GeneratedRegex(@"(?i:bearer\s+[A-Za-z0-9\-._~+/]+=*)|eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")]
    private static partial Regex TokenPattern();
}
