namespace Hlvm.Runtime.Natives;

/// <summary>
/// Substring search whose worst case is linear: at most about 2n + m character comparisons for a text of n and a
/// pattern of m characters. .NET's own search (<c>IndexOf</c>, and <c>Replace</c> and <c>Split</c>, which use it)
/// is vectorized and fast on ordinary text but takes n × m comparisons at worst (<c>"aaa…a"</c> searched for
/// <c>"aa…ab"</c>): one call of <c>indexOf</c> could run for many seconds on a single unit of fuel, where no
/// interrupt is noticed. Short patterns keep .NET's search (its worst case is n × <see cref="ShortPattern"/>);
/// longer ones use the Two-Way algorithm of Crochemore and Perrin ("Two-way string-matching", JACM 1991), which
/// needs no memory beyond a few integers, computed once per pattern.
/// </summary>
internal readonly struct TextSearch
{
    /// <summary>Patterns up to this long are searched by .NET; their worst case is already linear.</summary>
    public const int ShortPattern = 32;

    private readonly string _pattern;
    private readonly int _suffix, _period;
    private readonly bool _periodic;

    public TextSearch(string pattern)
    {
        _pattern = pattern;
        if (pattern.Length <= ShortPattern) return;
        _suffix = CriticalFactorization(pattern, out _period);
        _periodic = _period + _suffix <= pattern.Length && pattern.AsSpan(0, _suffix).SequenceEqual(pattern.AsSpan(_period, _suffix));
        if (!_periodic) _period = Math.Max(_suffix, pattern.Length - _suffix) + 1;
    }

    /// <summary>The first index at or after <paramref name="start"/> where the pattern occurs in the text, or -1.</summary>
    public int IndexOf(ReadOnlySpan<char> text, int start = 0)
    {
        ReadOnlySpan<char> needle = _pattern;
        int m = needle.Length, n = text.Length;
        if (m == 0) return start <= n ? start : -1;
        if (m <= ShortPattern)
        {
            int at = text[start..].IndexOf(needle, StringComparison.Ordinal);
            return at < 0 ? -1 : at + start;
        }
        int suffix = _suffix, period = _period;
        if (_periodic)
        {
            int memory = 0;
            for (int j = start; j <= n - m;)
            {
                int i = Math.Max(suffix, memory);
                while (i < m && needle[i] == text[i + j]) i++;
                if (i >= m)
                {
                    i = suffix - 1;
                    while (i >= memory && needle[i] == text[i + j]) i--;
                    if (i < memory) return j;
                    j += period;
                    memory = m - period;
                }
                else
                {
                    j += i - suffix + 1;
                    memory = 0;
                }
            }
        }
        else
        {
            for (int j = start; j <= n - m;)
            {
                int i = suffix;
                while (i < m && needle[i] == text[i + j]) i++;
                if (i >= m)
                {
                    i = suffix - 1;
                    while (i >= 0 && needle[i] == text[i + j]) i--;
                    if (i < 0) return j;
                    j += period;
                }
                else j += i - suffix + 1;
            }
        }
        return -1;
    }

    /// <summary>
    /// The critical factorization of the pattern: the position where it splits into a left and a right part such
    /// that the local period there is the pattern's period, from the larger of the two maximal suffixes (one per
    /// order of the alphabet), and that period.
    /// </summary>
    private static int CriticalFactorization(string needle, out int period)
    {
        int forward = MaximalSuffix(needle, reverse: false, out int p1);
        int backward = MaximalSuffix(needle, reverse: true, out int p2);
        if (backward < forward)
        {
            period = p1;
            return forward + 1;
        }
        period = p2;
        return backward + 1;
    }

    /// <summary>The start (minus one) of the maximal suffix in one order of the alphabet, and its period.</summary>
    private static int MaximalSuffix(string needle, bool reverse, out int period)
    {
        int max = -1, j = 0, k = 1, p = 1, m = needle.Length;
        while (j + k < m)
        {
            char a = needle[j + k], b = needle[max + k];
            if (reverse ? b < a : a < b)
            {
                j += k;
                k = 1;
                p = j - max;
            }
            else if (a == b)
            {
                if (k != p) k++;
                else
                {
                    j += p;
                    k = 1;
                }
            }
            else
            {
                max = j++;
                k = p = 1;
            }
        }
        period = p;
        return max;
    }
}
