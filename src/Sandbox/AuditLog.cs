using System.Text.Json;

namespace Hlvm.Sandbox;

/// <summary>
/// <c>--audit FILE</c>: one JSON object per line for every call the sandbox checked, whether it let it through
/// or not: <c>{"time":"2026-11-25T10:00:00.000Z","native":"fs.readText","permission":"read","target":"/app/a.txt","allowed":true}</c>,
/// with a <c>"reason"</c> when a denial has one. Lines are written whole, in order, by any number of isolates.
/// </summary>
public sealed class AuditLog(TextWriter writer)
{
    private readonly Lock _lock = new();

    public void Record(string native, string permission, string target, bool allowed, string? reason = null)
    {
        var line = JsonSerializer.Serialize(new Entry(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"), native, permission, target, allowed, reason), Options);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    private sealed record Entry(string Time, string Native, string Permission, string Target, bool Allowed, string? Reason);

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
