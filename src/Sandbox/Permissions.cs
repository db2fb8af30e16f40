using System.Text;

namespace Hlvm.Sandbox;

/// <summary>
/// What a program may reach, deny by default: for each kind (<c>read</c>, <c>write</c>, <c>net</c>, <c>env</c>)
/// a list of grants and a list of denials, where a denial always wins. A grant with no target grants the whole
/// kind, a denial with no target denies it. Targets are host paths (absolute, as <see cref="Path.GetFullPath(string)"/>
/// makes them, or inside the app's <c>/app</c> and <c>/data</c>), <c>host</c> or <c>host:port</c>, and variable names.
///
/// Grants match exactly (a path and what is under it, component by component, ordinally); denials match loosely:
/// case and Unicode variants of a denied target (<c>SECRET</c>, a decomposed <c>é</c>, a full-width letter) are
/// denied too, so that a file system that folds them can't be used to reach what was denied.
/// </summary>
public sealed class Permissions
{
    public static readonly string[] Kinds = ["read", "write", "net", "env"];

    private sealed class Rules
    {
        public bool AllowAll, DenyAll;
        public readonly List<string> Allow = [], Deny = [];
    }

    private readonly Dictionary<string, Rules> _rules = Kinds.ToDictionary(k => k, _ => new Rules());

    /// <summary>Grants a permission for a target, or the whole kind when <paramref name="target"/> is null.</summary>
    /// <exception cref="ArgumentException">an unknown kind, or a target that can't be one</exception>
    public Permissions Allow(string kind, string? target = null)
    {
        var rules = RulesOf(kind);
        if (target is null) rules.AllowAll = true;
        else rules.Allow.Add(Normalize(kind, target));
        return this;
    }

    /// <summary>Denies a permission for a target, or the whole kind when <paramref name="target"/> is null; a denial wins over every grant.</summary>
    public Permissions Deny(string kind, string? target = null)
    {
        var rules = RulesOf(kind);
        if (target is null) rules.DenyAll = true;
        else rules.Deny.Add(Normalize(kind, target));
        return this;
    }

    /// <summary>Whether a call of the kind may act on the target (a path already absolute and normalized by the caller).</summary>
    public bool IsAllowed(string kind, string target) => IsGranted(kind, target) && !IsDenied(kind, target);

    /// <summary>Whether a grant covers the target (before denials).</summary>
    public bool IsGranted(string kind, string target)
    {
        var rules = RulesOf(kind);
        return rules.AllowAll || rules.Allow.Any(a => Covers(kind, a, target, loose: false));
    }

    /// <summary>Whether a denial covers the target or a variant of it.</summary>
    public bool IsDenied(string kind, string target)
    {
        var rules = RulesOf(kind);
        return rules.DenyAll || rules.Deny.Any(d => Covers(kind, d, target, loose: true));
    }

    /// <summary>The granted paths of a kind (read or write), as the virtual file system mounts them.</summary>
    public IEnumerable<string> GrantedPaths(string kind) => RulesOf(kind).Allow;

    /// <summary>Whether the whole kind is granted (a bare <c>--allow-read</c>).</summary>
    public bool GrantsAll(string kind) => RulesOf(kind).AllowAll;

    /// <summary>One line per grant and denial, as flags, for a user to read.</summary>
    public IEnumerable<string> Describe()
    {
        foreach (var kind in Kinds)
        {
            var rules = _rules[kind];
            if (rules.AllowAll) yield return $"--allow-{kind}";
            foreach (var a in rules.Allow) yield return $"--allow-{kind}={a}";
            if (rules.DenyAll) yield return $"--deny-{kind}";
            foreach (var d in rules.Deny) yield return $"--deny-{kind}={d}";
        }
    }

    private Rules RulesOf(string kind) =>
        _rules.TryGetValue(kind, out var rules) ? rules : throw new ArgumentException($"'{kind}' is not a permission (they are {string.Join(", ", Kinds)})");

    private static string Normalize(string kind, string target)
    {
        if (target.Length == 0 || target.Contains('\0')) throw new ArgumentException($"--allow-{kind}/--deny-{kind} needs a target, not an empty one");
        switch (kind)
        {
            case "read" or "write":
                return VirtualPath.IsVirtual(target) ? VirtualPath.Normalize(target, "/") : Path.GetFullPath(target).TrimEnd('/') is { Length: > 0 } full ? full : "/";
            case "net":
                if (!NetTarget.TryParse(target, out _, out _)) throw new ArgumentException($"'{target}' is not a host or host:port");
                return target;
            default:
                if (target.Contains('=')) throw new ArgumentException($"'{target}' is not a variable name");
                return target;
        }
    }

    private static bool Covers(string kind, string rule, string target, bool loose)
    {
        switch (kind)
        {
            case "read" or "write":
                if (loose) (rule, target) = (Fold(rule), Fold(target));
                return rule == "/" || target == rule || target.StartsWith(rule + "/", StringComparison.Ordinal);
            case "net":
                if (!NetTarget.TryParse(rule, out var ruleHost, out var rulePort) || !NetTarget.TryParse(target, out var host, out var port)) return false;
                return string.Equals(ruleHost, host, StringComparison.OrdinalIgnoreCase) && (rulePort is null || rulePort == port);
            default:
                return loose ? string.Equals(Fold(rule), Fold(target), StringComparison.Ordinal) : rule == target;
        }
    }

    /// <summary>A form in which case and Unicode variants of a name coincide (compatibility-composed, upper case).</summary>
    internal static string Fold(string text)
    {
        string composed = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        return composed.ToUpperInvariant();
    }
}

/// <summary>A network target: <c>host</c>, <c>host:port</c>, or <c>[v6-address]:port</c>.</summary>
internal static class NetTarget
{
    public static bool TryParse(string text, out string host, out int? port)
    {
        host = text;
        port = null;
        int colon = text.LastIndexOf(':');
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0) return false;
            host = text[1..close];
            if (close == text.Length - 1) return host.Length > 0;
            if (text[close + 1] != ':') return false;
            colon = close + 1;
        }
        else if (colon >= 0 && text.IndexOf(':') != colon) return true; // a bare IPv6 address, no port
        else if (colon >= 0) host = text[..colon];
        if (colon >= 0)
        {
            if (!int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out int p) || p > 65535) return false;
            port = p;
        }
        return host.Length > 0;
    }
}
