using System.Diagnostics.CodeAnalysis;

namespace Igia.Smart.Protocol;

/// <summary>The kind of a <see cref="SmartScope"/>.</summary>
public enum SmartScopeKind
{
    /// <summary>A clinical-data scope: <c>patient/</c>, <c>user/</c> or <c>system/</c> + resource type + permissions.</summary>
    Resource,

    /// <summary><c>launch</c>: the app is being launched from an EHR and asks for its context.</summary>
    Launch,

    /// <summary><c>launch/patient</c>, <c>launch/encounter</c> or another <c>launch/…</c> context request in a standalone launch.</summary>
    LaunchContext,

    /// <summary><c>openid</c>.</summary>
    OpenId,

    /// <summary><c>fhirUser</c>: the id_token should carry the FHIR resource of the user.</summary>
    FhirUser,

    /// <summary><c>profile</c> (SMART v1's way of asking for the user's FHIR resource).</summary>
    Profile,

    /// <summary><c>offline_access</c>: a refresh token that outlives the user's session.</summary>
    OfflineAccess,

    /// <summary><c>online_access</c>: a refresh token valid while the user is online.</summary>
    OnlineAccess,

    /// <summary>Any other well-formed scope (passed through untouched).</summary>
    Other,
}

/// <summary>
/// One SMART scope, parsed: SMART v1 (<c>patient/Observation.read</c>, <c>user/*.*</c>) and v2 syntax
/// (<c>patient/Observation.rs</c>, with optional <c>?param=value</c> narrowing such as <c>patient/Observation.rs?category=laboratory</c>),
/// and the launch and OpenID scopes.
/// </summary>
public sealed class SmartScope : IEquatable<SmartScope>
{
    private SmartScope(string value, SmartScopeKind kind)
    {
        Value = value;
        Kind = kind;
    }

    /// <summary>The scope as written.</summary>
    public string Value { get; }

    /// <summary>What kind of scope it is.</summary>
    public SmartScopeKind Kind { get; }

    /// <summary>For a resource scope: <c>patient</c>, <c>user</c> or <c>system</c>; for a launch context scope: the context (e.g. <c>patient</c>).</summary>
    public string? Context { get; private init; }

    /// <summary>For a resource scope: the resource type, or <c>*</c>.</summary>
    public string? ResourceType { get; private init; }

    /// <summary>For a resource scope: the permissions as written (<c>read</c>, <c>write</c>, <c>*</c> in v1; letters of <c>cruds</c> in v2).</summary>
    public string? Permissions { get; private init; }

    /// <summary>For a resource scope: true for v2 syntax (<c>.cruds</c>), false for v1 (<c>.read</c>/<c>.write</c>/<c>.*</c>).</summary>
    public bool IsV2 { get; private init; }

    /// <summary>For a v2 resource scope: the narrowing query after <c>?</c> (without it), e.g. <c>category=laboratory</c>; otherwise null.</summary>
    public string? Query { get; private init; }

    /// <summary>Parses one scope.</summary>
    /// <param name="value">The scope.</param>
    /// <exception cref="FormatException">The scope is empty, has characters RFC 6749 forbids, or is a malformed SMART resource scope (the message says how).</exception>
    public static SmartScope Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParse(value, out var scope, out var error) ? scope : throw new FormatException(error);
    }

    /// <summary>Parses one scope, returning false (and why) instead of throwing.</summary>
    /// <param name="value">The scope.</param>
    /// <param name="scope">The parsed scope.</param>
    /// <param name="error">Why it is malformed.</param>
    public static bool TryParse(string? value, [NotNullWhen(true)] out SmartScope? scope, [NotNullWhen(false)] out string? error)
    {
        scope = null;
        if (string.IsNullOrEmpty(value))
        {
            error = "A scope is empty.";
            return false;
        }

        // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        foreach (var c in value)
        {
            if (c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E)
            {
                error = $"The scope '{Printable(value)}' contains a character that scopes may not contain (space, quote, backslash, control or non-ASCII).";
                return false;
            }
        }

        switch (value)
        {
            case "launch":
                scope = new SmartScope(value, SmartScopeKind.Launch);
                error = null;
                return true;
            case "openid":
                scope = new SmartScope(value, SmartScopeKind.OpenId);
                error = null;
                return true;
            case "fhirUser":
                scope = new SmartScope(value, SmartScopeKind.FhirUser);
                error = null;
                return true;
            case "profile":
                scope = new SmartScope(value, SmartScopeKind.Profile);
                error = null;
                return true;
            case "offline_access":
                scope = new SmartScope(value, SmartScopeKind.OfflineAccess);
                error = null;
                return true;
            case "online_access":
                scope = new SmartScope(value, SmartScopeKind.OnlineAccess);
                error = null;
                return true;
        }

        if (value.StartsWith("launch/", StringComparison.Ordinal))
        {
            var context = value["launch/".Length..];
            if (context.Length == 0)
            {
                error = $"The scope '{value}' names no launch context after 'launch/'.";
                return false;
            }

            scope = new SmartScope(value, SmartScopeKind.LaunchContext) { Context = context };
            error = null;
            return true;
        }

        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && value[..slash] is "patient" or "user" or "system")
        {
            return TryParseResource(value, slash, out scope, out error);
        }

        scope = new SmartScope(value, SmartScopeKind.Other);
        error = null;
        return true;
    }

    /// <summary>Parses a space-separated list of scopes (the OAuth <c>scope</c> parameter); repeated scopes are kept once.</summary>
    /// <param name="scopes">The list; null or blank gives an empty list.</param>
    /// <exception cref="FormatException">A scope is malformed.</exception>
    public static IReadOnlyList<SmartScope> ParseList(string? scopes) => ParseDistinct(scopes, Parse);

    /// <summary>Parses scopes a server granted: malformed ones are kept as <see cref="SmartScopeKind.Other"/> rather than rejected.</summary>
    internal static IReadOnlyList<SmartScope> ParseGranted(string? scopes) =>
        ParseDistinct(scopes, part => TryParse(part, out var scope, out _) ? scope : new SmartScope(part, SmartScopeKind.Other));

    /// <summary>Splits a space-separated scope list and parses each distinct scope once, in order.</summary>
    private static List<SmartScope> ParseDistinct(string? scopes, Func<string, SmartScope> parse)
    {
        var list = new List<SmartScope>();
        if (string.IsNullOrWhiteSpace(scopes))
        {
            return list;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (seen.Add(part))
            {
                list.Add(parse(part));
            }
        }

        return list;
    }

    /// <summary>Joins scopes into an OAuth <c>scope</c> parameter.</summary>
    /// <param name="scopes">The scopes.</param>
    public static string Join(IEnumerable<SmartScope> scopes) => string.Join(' ', scopes.Select(s => s.Value));

    /// <inheritdoc />
    public bool Equals(SmartScope? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SmartScope other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc />
    public override string ToString() => Value;

    private static bool TryParseResource(string value, int slash, out SmartScope? scope, out string? error)
    {
        scope = null;
        var context = value[..slash];
        var rest = value[(slash + 1)..];
        string? query = null;
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        if (question >= 0)
        {
            query = rest[(question + 1)..];
            rest = rest[..question];
        }

        var dot = rest.LastIndexOf('.');
        if (dot <= 0 || dot == rest.Length - 1)
        {
            error = $"The scope '{value}' is not '{context}/[resource type or *].[permissions]'.";
            return false;
        }

        var type = rest[..dot];
        var permissions = rest[(dot + 1)..];
        if (type != "*" && !IsResourceTypeName(type))
        {
            error = $"The scope '{value}' names '{type}', which is neither '*' nor a resource type name.";
            return false;
        }

        bool v2;
        if (permissions is "read" or "write" or "*")
        {
            v2 = false;
        }
        else if (IsCruds(permissions))
        {
            v2 = true;
        }
        else
        {
            error = $"The scope '{value}' has permissions '{permissions}': use 'read', 'write' or '*' (SMART v1), or letters of 'cruds' in that order (SMART v2).";
            return false;
        }

        if (query is not null)
        {
            if (!v2)
            {
                error = $"The scope '{value}' narrows a SMART v1 scope with '?'; only v2 scopes (.cruds) take parameters.";
                return false;
            }

            if (!IsQuery(query))
            {
                error = $"The scope '{value}' has a malformed parameter list after '?' (expected name=value pairs joined by '&').";
                return false;
            }
        }

        scope = new SmartScope(value, SmartScopeKind.Resource)
        {
            Context = context,
            ResourceType = type,
            Permissions = permissions,
            IsV2 = v2,
            Query = query,
        };
        error = null;
        return true;
    }

    private static bool IsResourceTypeName(string type)
    {
        if (type.Length == 0 || type[0] is < 'A' or > 'Z')
        {
            return false;
        }

        foreach (var c in type)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsCruds(string permissions)
    {
        const string order = "cruds";
        var position = 0;
        foreach (var c in permissions)
        {
            var index = order.IndexOf(c, position);
            if (index < 0)
            {
                return false;
            }

            position = index + 1;
        }

        return permissions.Length > 0;
    }

    private static bool IsQuery(string query)
    {
        if (query.Length == 0)
        {
            return false;
        }

        foreach (var pair in query.Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == pair.Length - 1)
            {
                return false;
            }
        }

        return true;
    }

    private static string Printable(string value)
    {
        var chars = value.Select(c => c < 0x20 || c > 0x7E ? '?' : c).ToArray();
        return new string(chars.Length > 80 ? chars[..80] : chars);
    }
}
