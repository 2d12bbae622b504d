using System.Reflection;

namespace StratumProxy.Host.Tests;

public sealed class TestClassCleanupTests
{
    /// <summary>
    /// xUnit 2 disposes a test class through <see cref="IDisposable"/> or <see cref="IAsyncLifetime"/> only: a test
    /// class that cleans up (deletes its temporary folder, stops its engine) in <see cref="IAsyncDisposable"/> alone is
    /// never cleaned up, and every one of its tests leaves its folder in the temp directory.
    /// </summary>
    [Fact]
    public void Every_test_class_that_cleans_up_asynchronously_is_disposed_by_xunit()
    {
        var testClasses = typeof(TestClassCleanupTests).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any()));
        var neverDisposed = testClasses
            .Where(t => typeof(IAsyncDisposable).IsAssignableFrom(t) && !typeof(IAsyncLifetime).IsAssignableFrom(t) && !typeof(IDisposable).IsAssignableFrom(t))
            .Select(t => t.FullName)
            .ToList();
        Assert.Empty(neverDisposed);
        Assert.Contains(typeof(Curtailment.CurtailmentLoopTests), testClasses);
    }
}
