using System.Runtime.InteropServices;

namespace Igia.Audit.Internal;

/// <summary>Durability primitives .NET does not expose: <c>fdatasync</c> and fsync of a directory (Linux, macOS).</summary>
internal static partial class NativeFile
{
    private const int ORdOnly = 0;

    /// <summary>Forces the file's data (and the metadata needed to read it back) to disk.</summary>
    public static void FlushData(FileStream file)
    {
        if (OperatingSystem.IsLinux())
        {
            var handle = file.SafeFileHandle;
            var added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                if (FDataSync((int)handle.DangerousGetHandle()) != 0)
                {
                    throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()}).");
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }

            return;
        }

        file.Flush(flushToDisk: true);
    }

    /// <summary>Makes a directory's entries (a newly created file) durable. No-op where not supported.</summary>
    public static void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(path, ORdOnly);
        if (fd < 0)
        {
            return;
        }

        try
        {
            _ = FSync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
