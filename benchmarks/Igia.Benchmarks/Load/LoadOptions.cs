using System.Globalization;

namespace Igia.Benchmarks.Load;

/// <summary>Settings of the load run, from the command line (<c>load --name value …</c>).</summary>
internal sealed class LoadOptions
{
    public int Patients { get; private set; } = 2000;
    public int ObservationsPerPatient { get; private set; } = 50;
    public int PatientsPerTransaction { get; private set; } = 4;
    public int Connections { get; private set; } = 32;
    public int Threads { get; private set; } = 2;
    public int DurationSeconds { get; private set; } = 15;
    public int WarmupSeconds { get; private set; } = 5;
    public int Rounds { get; private set; } = 2;
    public int SearchQueries { get; private set; } = 500;
    public string[] Scenarios { get; private set; } = ["read", "search", "create"];
    public string? DataFolder { get; private set; }
    public bool Keep { get; private set; }
    public bool Breakdown { get; private set; } = true;
    public bool Reuse { get; private set; }
    public int MaxMinutes { get; private set; } = 60;
    public string Output { get; private set; } = Path.Combine("BenchmarkDotNet.Artifacts", "load", $"load-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
    public bool Help { get; private set; }

    public const string Usage = """
        load — Igia FHIR server vs a bare Kestrel endpoint returning the same bytes, side by side in one run.
        Options (defaults in brackets):
          --patients N            seeded patients [2000]
          --observations N        Observations per patient [50]
          --batch N               patients per seeding transaction Bundle [4, i.e. 204 entries]
          --connections N         concurrent connections of the load client [32]
          --threads N             wrk threads [2]
          --duration S            seconds per measured run [15]
          --warmup S              seconds of warm-up per target and scenario [5]
          --rounds N              measured runs per target and scenario, alternating bare/igia order [2]
          --search-queries N      distinct search URLs drawn from [500]
          --scenarios a,b         any of read,search,create [read,search,create]
          --data DIR              where the SQLite file goes [a fresh temp folder]
          --keep                  keep the data folder afterwards
          --no-breakdown          skip the per-step timing of read/create/search at the end
          --reuse                 with --data: use the store a previous run left there (--keep) instead of seeding
                                  (saves the ~4-6 min of seeding; the store also holds the earlier runs' creates)
          --max-minutes N         hard ceiling of the whole run, after which it stops itself [60]
          --out FILE              Markdown results [BenchmarkDotNet.Artifacts/load/load-<utc>.md]
        Needs wrk on PATH (Debian: apt-get install -y wrk).
        """;

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture) is var v && v > 0 ? v : throw new ArgumentException($"{args[i]} must be positive.");
            switch (args[i])
            {
                case "--patients": o.Patients = NextInt(); break;
                case "--observations": o.ObservationsPerPatient = NextInt(); break;
                case "--batch": o.PatientsPerTransaction = NextInt(); break;
                case "--connections": o.Connections = NextInt(); break;
                case "--threads": o.Threads = NextInt(); break;
                case "--duration": o.DurationSeconds = NextInt(); break;
                case "--warmup": o.WarmupSeconds = NextInt(); break;
                case "--rounds": o.Rounds = NextInt(); break;
                case "--search-queries": o.SearchQueries = NextInt(); break;
                case "--scenarios": o.Scenarios = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--data": o.DataFolder = Next(); break;
                case "--keep": o.Keep = true; break;
                case "--no-breakdown": o.Breakdown = false; break;
                case "--reuse": o.Reuse = true; break;
                case "--max-minutes": o.MaxMinutes = NextInt(); break;
                case "--out": o.Output = Next(); break;
                case "-h" or "--help": o.Help = true; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        foreach (var s in o.Scenarios)
        {
            if (s is not ("read" or "search" or "create"))
            {
                throw new ArgumentException($"Unknown scenario '{s}' (read, search, create).");
            }
        }

        return o;
    }
}
