namespace StratumProxy.Hosting;

/// <summary>
/// The binding shape of an immutable options record: what the source-generated configuration binder fills. The
/// binder sets only properties with public setters (init-only ones, and lists of records built with them, stay
/// unbound), so a shape names each setting of <typeparamref name="T"/> once, as a property whose setter makes the next
/// record (<c>with</c>). It starts from the record's defaults; <see cref="ToOptions"/> gives the record (a shape with
/// lists, maps or nested sections adds those). A test checks that every setting of every record has its property in
/// its shape and is carried.
/// <para>The reflection binder (the product is not trimmed) would bind the records' init-only properties directly,
/// but it is not the same binder: it refuses an empty value for a number, duration or flag (this one leaves the
/// default), accepts hexadecimal whole numbers (<c>0x10</c>, refused here) and builds a bound map with the default
/// comparer (<c>Economics:Coins</c> is case-insensitive). Moving to it would change which configurations load.</para>
/// </summary>
internal abstract class BindingShape<T>
    where T : new()
{
    /// <summary>The record as bound so far; not a key (the binder sees public properties only).</summary>
    protected T Options { get; set; } = new();

    /// <summary>The record the section describes.</summary>
    public virtual T ToOptions() => Options;
}
