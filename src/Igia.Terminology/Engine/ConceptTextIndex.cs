namespace Igia.Terminology.Engine;

/// <summary>
/// The word-prefix index the <c>$expand</c> text filter uses on a code system: every word (maximal run of letters and
/// digits) of each concept's code, display and designations (supplements included), sorted ignoring case, with the concepts
/// it occurs in. A filter word then selects a contiguous range of words by binary search instead of a scan of every concept.
/// </summary>
/// <remarks>
/// Gives exactly the concepts <see cref="SearchFilter.PassesNode"/> or <see cref="SearchFilter.Passes"/> (on the code) accept:
/// both compare with <see cref="StringComparison.OrdinalIgnoreCase"/> and both split words on characters that are not
/// <see cref="char.IsLetterOrDigit(char)"/>. Built once per <see cref="CodeSystemModel"/> on first use (see
/// <see cref="CodeSystemModel.TextIndex"/>), then read-only, so any number of threads may read it.
/// </remarks>
internal sealed class ConceptTextIndex
{
    private readonly string[] _words;
    private readonly int[] _offsets;
    private readonly int[] _postings;

    private ConceptTextIndex(string[] words, int[] offsets, int[] postings, int conceptCount)
    {
        _words = words;
        _offsets = offsets;
        _postings = postings;
        ConceptCount = conceptCount;
    }

    /// <summary>The number of concepts indexed (positions run from 0 to this, exclusive).</summary>
    public int ConceptCount { get; }

    /// <summary>The number of distinct words (ignoring case).</summary>
    public int WordCount => _words.Length;

    /// <summary>Indexes the concepts; a concept is known by its position in <paramref name="concepts"/>.</summary>
    public static ConceptTextIndex Build(IReadOnlyList<ConceptNode> concepts)
    {
        var map = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        var lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i < concepts.Count; i++)
        {
            var node = concepts[i];
            AddWords(lookup, node.Code, i);
            AddWords(lookup, node.Display, i);
            foreach (var d in node.Designations)
            {
                AddWords(lookup, d.Value, i);
            }
        }

        var words = map.Keys.ToArray();
        Array.Sort(words, StringComparer.OrdinalIgnoreCase);
        var offsets = new int[words.Length + 1];
        var postings = new int[map.Values.Sum(l => l.Count)];
        var at = 0;
        for (var w = 0; w < words.Length; w++)
        {
            offsets[w] = at;
            var list = map[words[w]];
            list.CopyTo(postings, at);
            at += list.Count;
        }

        offsets[words.Length] = at;
        return new ConceptTextIndex(words, offsets, postings, concepts.Count);
    }

    private static void AddWords(Dictionary<string, List<int>>.AlternateLookup<ReadOnlySpan<char>> lookup, string? text, int concept)
    {
        if (text is null)
        {
            return;
        }

        var i = 0;
        while (i < text.Length)
        {
            if (!char.IsLetterOrDigit(text[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                i++;
            }

            var word = text.AsSpan(start, i - start);
            if (lookup.TryGetValue(word, out var list))
            {
                // Concepts are added in order, so a repeat of the word in the same concept is the last entry.
                if (list[^1] != concept)
                {
                    list.Add(concept);
                }
            }
            else
            {
                lookup[word] = [concept];
            }
        }
    }

    /// <summary>
    /// Marks the concepts with a word that starts with one of <paramref name="prefixes"/> (ignoring case): the result has one
    /// entry per concept position, true where it matches.
    /// </summary>
    /// <param name="prefixes">Filter words: letters and digits only, not empty.</param>
    /// <param name="matches">The number of concepts marked.</param>
    public bool[] Match(IReadOnlyList<string> prefixes, out int matches)
    {
        var hits = new bool[ConceptCount];
        matches = 0;
        foreach (var prefix in prefixes)
        {
            for (var w = LowerBound(prefix); w < _words.Length && _words[w].StartsWith(prefix, StringComparison.OrdinalIgnoreCase); w++)
            {
                for (var p = _offsets[w]; p < _offsets[w + 1]; p++)
                {
                    ref var hit = ref hits[_postings[p]];
                    if (!hit)
                    {
                        hit = true;
                        matches++;
                    }
                }
            }
        }

        return hits;
    }

    /// <summary>The first word not less than <paramref name="prefix"/> (ignoring case): where the words that start with it begin.</summary>
    private int LowerBound(string prefix)
    {
        int lo = 0, hi = _words.Length;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (string.Compare(_words[mid], prefix, StringComparison.OrdinalIgnoreCase) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
