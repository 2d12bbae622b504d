using System.Reflection;
using StratumProxy.Proxy.Upstream;

namespace StratumProxy.Proxy.Tests.Architecture;

/// <summary>The proxy's namespaces depend one way: Sessions → Upstream, never back (docs/architecture.md).</summary>
public sealed class NamespaceDependencyTests
{
    private const BindingFlags Surface = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    [Fact]
    public void UpstreamTypes_NameNoSessionType()
    {
        var upstream = typeof(UpstreamConnection).Assembly.GetTypes().Where(t => t.Namespace == typeof(UpstreamConnection).Namespace);
        var offending = new List<string>();
        foreach (var type in upstream)
        {
            foreach (var member in type.GetMembers(Surface).Where(m => !IsPrivate(m)))
            {
                if (Referenced(member).Any(t => t.Namespace == "StratumProxy.Proxy.Sessions"))
                {
                    offending.Add($"{type.Name}.{member.Name}");
                }
            }
        }

        Assert.Empty(offending);
    }

    private static bool IsPrivate(MemberInfo member) => member switch
    {
        FieldInfo f => f.IsPrivate,
        MethodBase m => m.IsPrivate,
        PropertyInfo p => (p.GetMethod ?? p.SetMethod)?.IsPrivate ?? true,
        EventInfo e => e.AddMethod?.IsPrivate ?? true,
        _ => false,
    };

    private static IEnumerable<Type> Referenced(MemberInfo member)
    {
        IEnumerable<Type> types = member switch
        {
            FieldInfo f => [f.FieldType],
            PropertyInfo p => [p.PropertyType],
            MethodInfo m => [m.ReturnType, .. m.GetParameters().Select(p => p.ParameterType)],
            ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
            _ => [],
        };
        return types.SelectMany(Expand);
    }

    private static IEnumerable<Type> Expand(Type type)
    {
        if (type.HasElementType)
        {
            return Expand(type.GetElementType()!);
        }

        return type.IsGenericType ? [type, .. type.GetGenericArguments().SelectMany(Expand)] : [type];
    }
}
