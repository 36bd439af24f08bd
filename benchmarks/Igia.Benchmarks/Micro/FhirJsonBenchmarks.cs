using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Serialization;

namespace Igia.Benchmarks.Micro;

/// <summary>
/// FHIR JSON of a typical Observation (~1 KB) through Igia's <see cref="FhirFormats"/> against the raw Firely
/// System.Text.Json call with Firely's default options (the baseline of each category).
/// Parse = request body to POCO (create/update); Serialize = POCO to response/storage JSON;
/// RoundTrip = parse then serialize for storage (what a create does to a body);
/// StoredToWire = stored JSON to POCO to response stream (what a read does).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FhirJsonBenchmarks
{
    private readonly JsonSerializerOptions _firely = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
    private byte[] _utf8 = [];
    private string _stored = "";
    private Observation _observation = null!;
    private readonly MemoryStream _sink = new();

    [GlobalSetup]
    public void Setup()
    {
        _observation = SampleData.Observation(17, 23);
        _observation.Meta ??= new Meta();
        _observation.Meta.VersionId = "1";
        _observation.Meta.LastUpdated = new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero);
        _utf8 = JsonSerializer.SerializeToUtf8Bytes(_observation, _firely);
        _stored = FhirFormats.ToStorageJson(_observation);
    }

    // ---- Parse -------------------------------------------------------------------------------

    [Benchmark(Baseline = true), BenchmarkCategory("Parse")]
    public Resource Parse_Firely() => JsonSerializer.Deserialize<Resource>(_utf8, _firely)!;

    [Benchmark, BenchmarkCategory("Parse")]
    public Resource Parse_Igia() => FhirFormats.ParseJson(_utf8);

    // ---- Serialize ---------------------------------------------------------------------------

    [Benchmark(Baseline = true), BenchmarkCategory("Serialize")]
    public byte[] Serialize_Firely() => JsonSerializer.SerializeToUtf8Bytes<Resource>(_observation, _firely);

    [Benchmark, BenchmarkCategory("Serialize")]
    public string Serialize_IgiaStorage() => FhirFormats.ToStorageJson(_observation);

    [Benchmark, BenchmarkCategory("Serialize")]
    public long Serialize_IgiaResponse()
    {
        _sink.Position = 0;
        FhirFormats.WriteAsync(_sink, _observation, FhirFormat.Json, FhirWriteOptions.Default, CancellationToken.None).GetAwaiter().GetResult();
        return _sink.Position;
    }

    // ---- RoundTrip (create: body -> POCO -> storage JSON) -------------------------------------

    [Benchmark(Baseline = true), BenchmarkCategory("RoundTrip")]
    public string RoundTrip_Firely() => JsonSerializer.Serialize(JsonSerializer.Deserialize<Resource>(_utf8, _firely)!, _firely);

    [Benchmark, BenchmarkCategory("RoundTrip")]
    public string RoundTrip_Igia() => FhirFormats.ToStorageJson(FhirFormats.ParseJson(_utf8));

    // ---- StoredToWire (read: stored JSON -> POCO -> response) ---------------------------------

    [Benchmark(Baseline = true), BenchmarkCategory("StoredToWire")]
    public long StoredToWire_Firely()
    {
        _sink.Position = 0;
        JsonSerializer.Serialize(_sink, JsonSerializer.Deserialize<Resource>(_stored, _firely)!, _firely);
        return _sink.Position;
    }

    [Benchmark, BenchmarkCategory("StoredToWire")]
    public long StoredToWire_Igia()
    {
        _sink.Position = 0;
        FhirFormats.WriteAsync(_sink, FhirFormats.ParseStored(_stored), FhirFormat.Json, FhirWriteOptions.Default, CancellationToken.None).GetAwaiter().GetResult();
        return _sink.Position;
    }
}
