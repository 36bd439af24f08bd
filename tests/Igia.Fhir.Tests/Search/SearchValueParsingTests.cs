using Igia.Fhir.Search;

namespace Igia.Fhir.Tests.Search;

/// <summary>Unit tests of the value helpers: date ranges, number precision, escaping and normalisation.</summary>
public sealed class SearchValueParsingTests
{
    [Theory]
    [InlineData("2020", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z")]
    [InlineData("2020-02", "2020-02-01T00:00:00Z", "2020-03-01T00:00:00Z")]
    [InlineData("2020-02-29", "2020-02-29T00:00:00Z", "2020-03-01T00:00:00Z")]
    [InlineData("2020-02-29T10:15", "2020-02-29T10:15:00Z", "2020-02-29T10:16:00Z")]
    [InlineData("2020-02-29T10:15:30Z", "2020-02-29T10:15:30Z", "2020-02-29T10:15:31Z")]
    [InlineData("2020-02-29T10:15:30.5+02:00", "2020-02-29T08:15:30.5Z", "2020-02-29T08:15:30.6Z")]
    public void TryParseRange_Precision_GivesInclusiveRange(string text, string low, string highExclusive)
    {
        Assert.True(SearchDates.TryParseRange(text, out var l, out var h));
        Assert.Equal(DateTimeOffset.Parse(low, System.Globalization.CultureInfo.InvariantCulture), l);
        Assert.Equal(DateTimeOffset.Parse(highExclusive, System.Globalization.CultureInfo.InvariantCulture).AddTicks(-1), h);
    }

    [Theory]
    [InlineData("2019-02-29")]
    [InlineData("2020-13")]
    [InlineData("2020-01-01T25:00")]
    [InlineData("20200101")]
    [InlineData("2020-01-01T10:00+15:00")]
    [InlineData("")]
    [InlineData("' OR 1=1")]
    public void TryParseRange_Invalid_IsRejected(string text)
    {
        Assert.False(SearchDates.TryParseRange(text, out _, out _));
    }

    [Theory]
    [InlineData("100", 99.5, 100.5)]
    [InlineData("100.00", 99.995, 100.005)]
    [InlineData("1e2", 50, 150)]
    [InlineData("-0.5", -0.55, -0.45)]
    public void Numbers_HaveImplicitPrecision(string text, double low, double high)
    {
        Assert.True(SearchNumbers.TryParse(text, out _, out var l, out var h));
        Assert.Equal((decimal)low, l);
        Assert.Equal((decimal)high, h);
    }

    [Fact]
    public void Escaping_SplitsOnlyOnUnescapedSeparators()
    {
        var parts = SearchEscaping.Split(@"a\,b,c\|d|e", ',');
        Assert.Equal([@"a\,b", @"c\|d|e"], parts);
        Assert.Equal("a,b", SearchEscaping.Unescape(parts[0]));
        Assert.Equal(["c\\|d", "e"], SearchEscaping.Split(parts[1], '|'));
    }

    [Theory]
    [InlineData("Müller", "muller")]
    [InlineData("ÅNGSTRÖM", "angstrom")]
    [InlineData("Straße", "strasse")]
    [InlineData("Ørsted", "orsted")]
    [InlineData("plain", "plain")]
    public void Normalize_RemovesAccentsAndCase(string text, string expected)
    {
        Assert.Equal(expected, SearchText.Normalize(text));
    }
}
