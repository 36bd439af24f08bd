namespace Igia.Terminology;

/// <summary>The terminology operations the service performs.</summary>
public enum TerminologyOperation
{
    /// <summary>ValueSet <c>$expand</c>.</summary>
    Expand,

    /// <summary>ValueSet <c>$validate-code</c>.</summary>
    ValidateCode,

    /// <summary>CodeSystem <c>$validate-code</c>.</summary>
    CodeSystemValidateCode,

    /// <summary>CodeSystem <c>$lookup</c>.</summary>
    Lookup,

    /// <summary>CodeSystem <c>$subsumes</c>.</summary>
    Subsumes,

    /// <summary>ConceptMap <c>$translate</c>.</summary>
    Translate,

    /// <summary>ValueSet <c>$batch-validate-code</c>: many <c>$validate-code</c> requests in one.</summary>
    BatchValidateCode,
}

/// <summary>What a terminology call carries besides its Parameters.</summary>
public sealed record TerminologyCallContext
{
    /// <summary>A context with nothing set.</summary>
    public static readonly TerminologyCallContext Default = new();

    /// <summary>The logical id for an instance-level call (<c>ValueSet/[id]/$expand</c>), or null.</summary>
    public string? Id { get; init; }

    /// <summary>The HTTP <c>Accept-Language</c> of the request, used for displays when <c>displayLanguage</c> is not given.</summary>
    public string? AcceptLanguage { get; init; }
}
