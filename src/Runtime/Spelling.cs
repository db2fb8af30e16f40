namespace Hlvm.Runtime;

/// <summary>
/// How far apart two names are, for "did you mean ...?" in the compiler's, the assembler's and the command line's
/// messages: the edits (insert, delete, replace, swap two neighbours) that turn one into the other. One place,
/// bounded: names are the input's, and a name of a hundred thousand characters must not cost its square.
/// </summary>
public static class Spelling
{
    /// <summary>Longest name compared; a longer one is never "almost" another.</summary>
    public const int MaxLength = 64;

    /// <summary>The edit distance, or <see cref="int.MaxValue"/> when either name is longer than <see cref="MaxLength"/>.</summary>
    public static int Distance(string a, string b)
    {
        if (a.Length > MaxLength || b.Length > MaxLength) return int.MaxValue;
        // Three rows of the table: the one before last (for swaps), the last, and this one.
        var before = new int[b.Length + 1];
        var last = new int[b.Length + 1];
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) last[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                row[j] = Math.Min(Math.Min(last[j] + 1, row[j - 1] + 1), last[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) row[j] = Math.Min(row[j], before[j - 2] + 1);
            }
            (before, last, row) = (last, row, before);
        }
        return last[b.Length];
    }

    /// <summary>The candidate nearest to <paramref name="name"/> within a third of its length (at least one edit), or null.</summary>
    public static string? Nearest(string name, IEnumerable<string> candidates) =>
        candidates.Distinct()
            .Select(c => (c, d: Distance(name, c)))
            .Where(x => x.d <= Math.Max(1, name.Length / 3))
            .OrderBy(x => x.d).ThenBy(x => x.c, StringComparer.Ordinal)
            .FirstOrDefault().c;
}
