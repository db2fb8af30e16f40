using System.Text.Json;

namespace Hlvm.Sandbox;

/// <summary>
/// <c>--audit FILE</c>: one JSON object per line for every call the sandbox checked, whether it let it through
/// or not: <c>{"time":"2026-11-25T10:00:00.000Z","native":"fs.readText","permission":"read","target":"/app/a.txt","allowed":true}</c>,
/// with a <c>"reason"</c> when a denial has one. Lines are written whole, in order, by any number of isolates.
/// </summary>
public sealed class AuditLog(TextWriter writer, string? path = null)
{
    /// <summary>The host file the log is written to, when it is one: hidden from the program as hlvm's own files are
    /// (a program granted the directory that held it rewrote it, erasing the record of what it did).</summary>
    public string? Path => path;

    private readonly Lock _lock = new();

    public void Record(string native, string permission, string target, bool allowed, string? reason = null)
    {
        // The target is the program's text (a path of a million characters is one call away): a line holds its ends.
        var line = JsonSerializer.Serialize(new Entry(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), native, permission,
            Runtime.Execution.Excerpt.Of(target, MaxTarget), allowed, reason is null ? null : Runtime.Execution.Excerpt.Of(reason, MaxTarget)), Options);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    /// <summary>Most characters of a target (or reason) a line holds.</summary>
    public const int MaxTarget = 1000;

    private sealed record Entry(string Time, string Native, string Permission, string Target, bool Allowed, string? Reason);

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
