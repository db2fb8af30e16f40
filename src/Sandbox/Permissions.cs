using System.Net;
using System.Net.Sockets;
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

    private readonly Dictionary<string, Rules> _rules = NewRules();

    private static Dictionary<string, Rules> NewRules()
    {
        var rules = new Dictionary<string, Rules>(Kinds.Length);
        foreach (string kind in Kinds) rules[kind] = new Rules();
        return rules;
    }

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
        else
        {
            string denied = Normalize(kind, target);
            // A name may stand for other addresses at connect time than when the rule was made, and an address
            // has no name to be compared by: a denial names addresses, which every connect and listen is checked
            // against (those of a name included).
            if (kind == "net" && NetTarget.TryParse(denied, out string host, out _) && !NetTarget.IsAddress(host))
                throw new ArgumentException($"'{target}' is a host name, and a denial takes an address (127.0.0.1, [::1], with an optional :PORT): "
                    + "a name can lead to other addresses when the program connects; deny each of its addresses instead");
            rules.Deny.Add(denied);
            // A path denied through a symbolic link is denied where the link leads too: the file system checks
            // the real names of the files a program opens.
            if (kind is "read" or "write" && !VirtualPath.IsVirtual(denied) && OperatingSystem.IsLinux()
                && LinuxFiles.RealPathOf(denied) is { } real && real != denied)
                rules.Deny.Add(real);
        }
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

    /// <summary>
    /// A permission as an app's manifest requests it, <c>KIND</c> or <c>KIND:TARGET</c> (<c>net:127.0.0.1:8080</c>):
    /// its kind and target (null for the whole kind), when the target is a valid one for the kind.
    /// </summary>
    public static bool TryParseRequest(string text, out string kind, out string? target)
    {
        int colon = text.IndexOf(':');
        kind = colon < 0 ? text : text[..colon];
        target = colon < 0 ? null : text[(colon + 1)..];
        if (!Kinds.Contains(kind) || target is "") return false;
        if (target is null) return true;
        try
        {
            Normalize(kind, target);
            return !(kind is "read" or "write") || target.StartsWith('/');
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Whether an address a connection or listener is about to use may be used: not when a denial covers
    /// it (in any of its spellings; the unspecified address, which listens on every address, when any denial of the
    /// port does).</summary>
    public bool PermitsAddress(IPAddress address, int port) => !IsDenied("net", NetTarget.Format(address.ToString(), port));

    /// <summary>Whether the whole kind is granted (<c>--allow-read=*</c>).</summary>
    public bool GrantsAll(string kind) => RulesOf(kind).AllowAll;

    /// <summary>One line per grant and denial, as flags, for a user to read.</summary>
    public IEnumerable<string> Describe()
    {
        foreach (var kind in Kinds)
        {
            var rules = _rules[kind];
            if (rules.AllowAll) yield return $"--allow-{kind}=*";
            foreach (var a in rules.Allow) yield return $"--allow-{kind}={a}";
            if (rules.DenyAll) yield return $"--deny-{kind}=*";
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
                if (!NetTarget.TryParse(target, out string host, out int? port)) throw new ArgumentException($"'{target}' is not a host or host:port");
                return NetTarget.Format(host, port);
            default:
                if (!Runtime.Natives.EnvNatives.IsVariableName(target)) throw new ArgumentException($"'{target}' is not a variable name");
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
                if (rulePort is not null && rulePort != port) return false;
                // Listening on the unspecified address listens on every address of the host, a denied one among
                // them. (A connect to it has been made a connect to the loopback address before: NetTarget.ForConnect.)
                return ruleHost == host || loose && NetTarget.IsUnspecified(host);
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

/// <summary>
/// A network target: <c>host</c>, <c>host:port</c>, or <c>[v6-address]:port</c>. The host comes out in one
/// spelling, so that a rule and a target that mean the same host compare equal: names in lower case; addresses
/// as <see cref="IPAddress"/> writes them (<c>127.1</c>, <c>0x7f.1</c> and <c>2130706433</c> are <c>127.0.0.1</c>),
/// an IPv4-mapped IPv6 address as the IPv4 address it reaches through a dual-mode socket
/// (<c>::ffff:7f00:1</c> is <c>127.0.0.1</c>), and without a scope id (<c>::1%lo</c> is <c>::1</c>).
/// </summary>
internal static class NetTarget
{
    public static string Format(string host, int? port)
    {
        host = Canonical(host);
        string shown = host.Contains(':') ? $"[{host}]" : host;
        return port is null ? shown : $"{shown}:{port}";
    }

    private static string Canonical(string host) =>
        Address(host) is { } ip ? ip.ToString() : host.ToLowerInvariant();

    /// <summary>The address a host's text spells, in its one form, or null for a name.</summary>
    public static IPAddress? Address(string host)
    {
        // A scope id (an interface, by number or name) chooses a route, not an address.
        int percent = host.IndexOf('%');
        if (percent >= 0 && host.Contains(':')) host = host[..percent];
        return IPAddress.TryParse(host, out var ip) ? Canonical(ip) : null;
    }

    /// <summary>An address in its one form: IPv4-mapped ones as IPv4, IPv6 ones without a scope id.</summary>
    public static IPAddress Canonical(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) return ip.MapToIPv4();
        return ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.ScopeId != 0 ? new IPAddress(ip.GetAddressBytes()) : ip;
    }

    public static bool IsAddress(string host) => Address(host) is not null;

    public static bool IsUnspecified(string host) => Address(host) is { } ip && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));

    /// <summary>
    /// The address a connect really reaches: on Linux a connect to the unspecified address (<c>0.0.0.0</c>,
    /// <c>0</c>, <c>::</c>) reaches the loopback address, and is judged as one.
    /// </summary>
    public static IPAddress ForConnect(IPAddress ip)
    {
        ip = Canonical(ip);
        return ip.Equals(IPAddress.Any) ? IPAddress.Loopback : ip.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : ip;
    }

    /// <summary>A connect's <c>host:port</c> target with the host as <see cref="ForConnect(IPAddress)"/> makes it.</summary>
    public static string ForConnect(string target) =>
        TryParse(target, out string host, out int? port) && IsUnspecified(host) ? Format(ForConnect(Address(host)!).ToString(), port) : target;

    public static bool TryParse(string text, out string host, out int? port)
    {
        bool ok = TryParseSpelled(text, out host, out port);
        host = Canonical(host);
        return ok;
    }

    private static bool TryParseSpelled(string text, out string host, out int? port)
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
