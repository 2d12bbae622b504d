namespace StratumProxy.Economics.Units;

/// <summary>
/// A quantity of one unit, held as one double. Sums, differences, scaling and comparisons of two quantities of the
/// same unit are written once, in <see cref="QuantityOperators"/>; a unit type declares only what is its own
/// (conversions, products with other units, how it is shown).
/// </summary>
/// <typeparam name="TSelf">The unit type itself.</typeparam>
public interface IQuantity<TSelf> : IComparable<TSelf>
    where TSelf : struct, IQuantity<TSelf>
{
    /// <summary>The amount, in the unit the type names.</summary>
    double Value { get; }

    /// <summary>The quantity of <paramref name="value"/> in the unit the type names.</summary>
    static abstract TSelf Of(double value);
}

/// <summary>The arithmetic every <see cref="IQuantity{TSelf}"/> has: within one unit only, never across units.</summary>
public static class QuantityOperators
{
    extension<T>(T)
        where T : struct, IQuantity<T>
    {
        public static T operator +(T a, T b) => T.Of(a.Value + b.Value);

        public static T operator -(T a, T b) => T.Of(a.Value - b.Value);

        public static T operator -(T a) => T.Of(-a.Value);

        public static T operator *(T a, double factor) => T.Of(a.Value * factor);

        public static bool operator <(T a, T b) => a.Value < b.Value;

        public static bool operator >(T a, T b) => a.Value > b.Value;

        public static bool operator <=(T a, T b) => a.Value <= b.Value;

        public static bool operator >=(T a, T b) => a.Value >= b.Value;
    }
}
