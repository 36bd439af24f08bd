using Igia.Audit.Tests.Crash;

namespace Igia.Audit.Tests;

/// <summary>
/// The test assembly's entry point. Under <c>dotnet test</c> it is not used; run directly as
/// <c>dotnet Igia.Audit.Tests.dll crash-host &lt;data folder&gt;</c> it is the child-process server of the crash test.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "crash-host")
        {
            return CrashHost.RunAsync(args[1]).GetAwaiter().GetResult();
        }

        Console.Error.WriteLine("This assembly holds the Igia.Audit tests: run them with 'dotnet test'.");
        return 2;
    }
}
