namespace StratumProxy.TestKit;

/// <summary>
/// Wakes waiters whenever some counter changes, so tests wait for a condition without polling or sleeping.
/// </summary>
internal sealed class ChangeSignal(ChangeSignal? parent = null)
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Releases everyone waiting for the next change (here and on the parent, e.g. a fleet's signal).</summary>
    public void Notify()
    {
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        parent?.Notify();
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, re-checking after every change; throws a
    /// <see cref="TimeoutException"/> carrying <paramref name="describe"/>'s text when <paramref name="timeout"/> passes.
    /// </summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        while (true)
        {
            // Take the task before testing, so a change between the test and the wait is not missed.
            var changed = Volatile.Read(ref _next).Task;
            if (condition())
            {
                return;
            }

            try
            {
                await changed.WaitAsync(timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (condition())
                {
                    return;
                }

                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.###} s: {describe()}");
            }
        }
    }
}
