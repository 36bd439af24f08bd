using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Fhir.Pipeline;
using Igia.Smart.App;
using Igia.Smart.AuthorizationServer;
using Microsoft.AspNetCore.Authentication;

namespace Igia.Sandbox;

/// <summary>The launcher page (/) and the sample SMART app's page (/app).</summary>
internal static class SandboxPages
{
    private static readonly HtmlEncoder E = HtmlEncoder.Default;

    public static void Map(WebApplication app, Uri fhirBase, bool noAuth)
    {
        app.MapGet("/", async (HttpContext http, IFhirInteractionExecutor fhir) =>
        {
            var login = await http.AuthenticateAsync(SmartAuthorizationServerDefaults.LoginScheme);
            var response = await fhir.ExecuteAsync(new FhirInteraction
            {
                Kind = FhirInteractionKind.Search,
                ResourceType = "Patient",
                Method = "GET",
                RelativeUrl = "Patient",
                Parameters = [new("_count", "8"), new("_sort", "identifier")],
                User = SandboxAuth.System("system/Patient.rs"),
                CancellationToken = http.RequestAborted,
            });
            var patients = (response.Resource as Bundle)?.Entry.Select(e => e.Resource).OfType<Patient>().ToList() ?? [];
            var html = new StringBuilder();
            html.Append("<p>FHIR R4 API at <a href=\"/fhir/metadata\"><code>/fhir</code></a> — ")
                .Append(noAuth ? "<strong>open</strong> (started with <code>--no-auth</code>)." : "protected by SMART on FHIR (send a Bearer token; <a href=\"/fhir/.well-known/smart-configuration\">smart-configuration</a>).")
                .Append("</p>");
            html.Append("<h2>Standalone launch</h2><p>The sample app asks the authorization server for <code>launch/patient</code>: you log in and pick a patient.</p>")
                .Append("<p><a id=\"standalone-launch\" class=\"button\" href=\"/app/launch\">Launch the sample SMART app</a></p>");
            html.Append("<h2>EHR launch</h2><p>As the EHR: pick a patient, the EHR mints a single-use <code>launch</code> bound to you and that patient, then opens the app.")
                .Append(login.Succeeded ? $" Logged in as <strong>{E.Encode(login.Principal!.FindFirst("name")?.Value ?? "")}</strong>." : " You will be asked to log in first.")
                .Append("</p><ul class=\"patients\">");
            foreach (var p in patients)
            {
                html.Append(CultureInfo.InvariantCulture, $"<li><form method=\"post\" action=\"/launcher/ehr\"><input type=\"hidden\" name=\"patient\" value=\"{E.Encode(p.Id ?? "")}\"><button type=\"submit\">{E.Encode(Name(p))}</button> <small>{E.Encode(p.BirthDate ?? "")} · {E.Encode(p.Identifier.FirstOrDefault()?.Value ?? "")}</small></form></li>");
            }

            html.Append("</ul><p class=\"hint\">Demo users: <code>practitioner</code>/<code>practitioner</code>, <code>patient</code>/<code>patient</code>.</p>");
            return Page("Igia sandbox", html.ToString());
        });

        app.MapPost("/launcher/ehr", async (HttpContext http, ISmartLaunchContexts launches) =>
        {
            var login = await http.AuthenticateAsync(SmartAuthorizationServerDefaults.LoginScheme);
            if (!login.Succeeded)
            {
                return Results.Redirect("/smart/login?returnUrl=%2F");
            }

            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            var patient = (string?)form["patient"];
            if (string.IsNullOrEmpty(patient) || patient.Length > 64 || !patient.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
            {
                return Results.BadRequest();
            }

            var launch = await launches.CreateAsync(new SmartLaunchContext
            {
                Patient = patient,
                User = login.Principal!.FindFirst("sub")!.Value,
                ClientId = SandboxAuth.DemoAppClientId,
            }, http.RequestAborted);
            return Results.Redirect($"/app/launch?iss={Uri.EscapeDataString(fhirBase.ToString())}&launch={Uri.EscapeDataString(launch)}");
        });

        app.MapGet("/app", async (HttpContext http, ISmartSessionAccessor sessions, ISmartFhirClientFactory clients) =>
        {
            var session = await sessions.GetCurrentAsync(http.RequestAborted);
            if (session is null)
            {
                return Page("Sample SMART app", "<p>Not launched yet. <a href=\"/app/launch\">Launch</a> or start from the <a href=\"/\">launcher</a>.</p>");
            }

            var html = new StringBuilder();
            var fhir = await clients.CreateClientAsync(http.RequestAborted);
            var patientId = session.Context.Patient;
            if (patientId is null)
            {
                html.Append("<p>The launch gave no patient context.</p>");
            }
            else
            {
                var patient = await fhir.ReadAsync<Patient>("Patient/" + patientId);
                html.Append(CultureInfo.InvariantCulture, $"<section id=\"patient-banner\" class=\"banner\"><strong id=\"patient-name\">{E.Encode(Name(patient!))}</strong> · {E.Encode(patient!.Gender?.ToString() ?? "")} · born {E.Encode(patient.BirthDate ?? "?")} · {E.Encode(patient.Identifier.FirstOrDefault()?.Value ?? "")}</section>");
                html.Append("<h2>Latest observations</h2><table id=\"observations\"><tr><th>Date</th><th>Observation</th><th>Value</th></tr>");
                var observations = new List<Observation>();
                await foreach (var o in fhir.SearchAllAsync<Observation>(new SearchParams().Where("patient=" + patientId).OrderBy("date", SortOrder.Descending).LimitTo(10), http.RequestAborted))
                {
                    observations.Add(o);
                    if (observations.Count == 10)
                    {
                        break;
                    }
                }

                foreach (var o in observations)
                {
                    var value = o.Value is Quantity q ? $"{q.Value?.ToString(CultureInfo.InvariantCulture)} {q.Unit}" : o.Value?.ToString() ?? "";
                    html.Append(CultureInfo.InvariantCulture, $"<tr><td>{E.Encode((o.Effective as FhirDateTime)?.Value ?? "")}</td><td>{E.Encode(o.Code?.Coding.FirstOrDefault()?.Display ?? "")}</td><td>{E.Encode(value)}</td></tr>");
                }

                html.Append("</table><h2>Conditions</h2><ul id=\"conditions\">");
                await foreach (var c in fhir.SearchAllAsync<Condition>(new SearchParams().Where("patient=" + patientId), http.RequestAborted))
                {
                    html.Append(CultureInfo.InvariantCulture, $"<li>{E.Encode(c.Code?.Text ?? c.Code?.Coding.FirstOrDefault()?.Display ?? "")}</li>");
                }

                html.Append("</ul>");
            }

            html.Append(CultureInfo.InvariantCulture, $"<p class=\"hint\">Launch: {E.Encode(session.LaunchKind.ToString())} · user {E.Encode(session.FhirUser ?? "")} · scopes <code>{E.Encode(string.Join(' ', session.GrantedScopes.Select(s => s.Value)))}</code></p>");
            return Page("Sample SMART app", html.ToString());
        });
    }

    private static string Name(Patient p)
    {
        var name = p.Name.FirstOrDefault();
        return name is null ? p.Id ?? "" : string.Join(' ', name.Given.Append(name.Family).Where(s => !string.IsNullOrEmpty(s)));
    }

    private static IResult Page(string title, string body) => Results.Content(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
        + $"<title>{E.Encode(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}}"
        + ".banner{background:#0b3d5c;color:#fff;padding:.8rem 1rem;border-radius:.4rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}"
        + ".button{display:inline-block;background:#0b6;color:#fff;padding:.4rem .9rem;border-radius:.3rem;text-decoration:none}ul{padding-left:1rem}.hint{color:#555;font-size:.9em}</style>"
        + $"</head><body><h1>{E.Encode(title)}</h1>{body}</body></html>", "text/html; charset=utf-8");
}
