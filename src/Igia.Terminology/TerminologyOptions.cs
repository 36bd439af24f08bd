using System.ComponentModel.DataAnnotations;

namespace Igia.Terminology;

/// <summary>Options of the Igia terminology service (<c>AddIgiaTerminology(o => ...)</c>); validated at start-up.</summary>
public sealed class TerminologyOptions
{
    /// <summary>
    /// The most codes one <c>$expand</c> returns without paging; a larger expansion is refused with <c>too-costly</c>
    /// (ask for a page with <c>count</c>/<c>offset</c>, or narrow it with <c>filter</c>). Default 1000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxExpansionSize { get; set; } = 1000;

    /// <summary>The most codes the engine computes for one expansion (before paging and text filters). Default 1,000,000.</summary>
    [Range(1, 100_000_000)]
    public int MaxComputedExpansionSize { get; set; } = 1_000_000;

    /// <summary>
    /// How many <c>$validate-code</c> answers are remembered (requests that name their value set or code system by URL and carry
    /// only codes; an answer is forgotten when content is added or removed). 0 turns it off. Default 10,000.
    /// </summary>
    [Range(0, 10_000_000)]
    public int ValidateCodeCacheSize { get; set; } = 10_000;

    /// <summary>How long an operation waits for the content configured at start-up to finish loading before it answers 503. Default 2 minutes.</summary>
    public TimeSpan LoadWaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The software name reported in <c>TerminologyCapabilities</c>. Default "Igia Terminology".</summary>
    [Required]
    public string SoftwareName { get; set; } = "Igia Terminology";
}
