namespace Igia.Fhir.Pipeline;

/// <summary>The FHIR RESTful interactions (R4 http.html) plus operations.</summary>
public enum FhirInteractionKind
{
    /// <summary><c>GET [type]/[id]</c>.</summary>
    Read,
    /// <summary><c>GET [type]/[id]/_history/[vid]</c>.</summary>
    VRead,
    /// <summary><c>PUT [type]/[id]</c>, or conditional <c>PUT [type]?[search]</c>.</summary>
    Update,
    /// <summary><c>PATCH [type]/[id]</c>, or conditional <c>PATCH [type]?[search]</c>.</summary>
    Patch,
    /// <summary><c>DELETE [type]/[id]</c>, or conditional <c>DELETE [type]?[search]</c>.</summary>
    Delete,
    /// <summary><c>POST [type]</c>, optionally conditional with <c>If-None-Exist</c>.</summary>
    Create,
    /// <summary><c>GET/POST [type]?…</c>, <c>[base]?…</c> (system) or <c>[Compartment]/[id]/[type]?…</c>.</summary>
    Search,
    /// <summary><c>GET [type]/[id]/_history</c>, <c>[type]/_history</c> or <c>_history</c>.</summary>
    History,
    /// <summary><c>GET /metadata</c>.</summary>
    Capabilities,
    /// <summary><c>POST [base]</c> with a batch Bundle.</summary>
    Batch,
    /// <summary><c>POST [base]</c> with a transaction Bundle.</summary>
    Transaction,
    /// <summary><c>$name</c> at system, type or instance level.</summary>
    Operation,
}
