using System;
using ILGPU;

namespace Genesis.Gpu.Kernels;

/// <summary>Op codes shared by the F# layer and the kernels (the order of Genesis' UnaryKind, BinaryKind, ...).</summary>
public static class OpCode
{
    /// <summary>Unary: -x.</summary>
    public const int Neg = 0;
    /// <summary>Unary: exp x.</summary>
    public const int Exp = 1;
    /// <summary>Unary: log x.</summary>
    public const int Log = 2;
    /// <summary>Unary: sqrt x.</summary>
    public const int Sqrt = 3;
    /// <summary>Unary: |x|.</summary>
    public const int Abs = 4;
    /// <summary>Unary: sign x (NaN stays NaN).</summary>
    public const int Sign = 5;
    /// <summary>Unary: sin x.</summary>
    public const int Sin = 6;
    /// <summary>Unary: cos x.</summary>
    public const int Cos = 7;
    /// <summary>Unary: tan x.</summary>
    public const int Tan = 8;
    /// <summary>Unary: tanh x.</summary>
    public const int Tanh = 9;
    /// <summary>Unary: 1 / (1 + exp(-x)).</summary>
    public const int Sigmoid = 10;
    /// <summary>Unary: max(x, 0) (NaN stays NaN).</summary>
    public const int Relu = 11;
    /// <summary>Unary: max(x, 0) + log(1 + exp(-|x|)).</summary>
    public const int Softplus = 12;
    /// <summary>Unary: floor x.</summary>
    public const int Floor = 13;
    /// <summary>Unary: ceil x.</summary>
    public const int Ceil = 14;
    /// <summary>Unary: round half to even.</summary>
    public const int Round = 15;
    /// <summary>Unary: asin x.</summary>
    public const int Asin = 16;
    /// <summary>Unary: acos x.</summary>
    public const int Acos = 17;
    /// <summary>Unary: atan x.</summary>
    public const int Atan = 18;
    /// <summary>Unary: sinh x.</summary>
    public const int Sinh = 19;
    /// <summary>Unary: cosh x.</summary>
    public const int Cosh = 20;
    /// <summary>Unary: log(x + 1) (as .NET's LogP1).</summary>
    public const int Log1p = 21;
    /// <summary>Unary: exp(x) - 1 (as .NET's ExpM1).</summary>
    public const int Expm1 = 22;

    /// <summary>Binary: a + b.</summary>
    public const int Add = 0;
    /// <summary>Binary: a - b.</summary>
    public const int Sub = 1;
    /// <summary>Binary: a * b.</summary>
    public const int Mul = 2;
    /// <summary>Binary: a / b (ints truncate; int division by zero gives 0).</summary>
    public const int Div = 3;
    /// <summary>Binary: a ^ b (ints through float64, saturating).</summary>
    public const int Pow = 4;
    /// <summary>Binary: max (NaN propagates).</summary>
    public const int Max = 5;
    /// <summary>Binary: min (NaN propagates).</summary>
    public const int Min = 6;
    /// <summary>Binary: atan2(a, b).</summary>
    public const int Atan2 = 7;

    /// <summary>Compare: a = b.</summary>
    public const int Eq = 0;
    /// <summary>Compare: a &lt;&gt; b.</summary>
    public const int Ne = 1;
    /// <summary>Compare: a &lt; b.</summary>
    public const int Lt = 2;
    /// <summary>Compare: a &lt;= b.</summary>
    public const int Le = 3;
    /// <summary>Compare: a &gt; b.</summary>
    public const int Gt = 4;
    /// <summary>Compare: a &gt;= b.</summary>
    public const int Ge = 5;

    /// <summary>Reduce: sum.</summary>
    public const int Sum = 0;
    /// <summary>Reduce: product.</summary>
    public const int Prod = 1;
    /// <summary>Reduce: max (NaN propagates).</summary>
    public const int RMax = 2;
    /// <summary>Reduce: min (NaN propagates).</summary>
    public const int RMin = 3;

    /// <summary>ArgReduce: index of the max (first occurrence, NaN counts as max).</summary>
    public const int ArgMax = 0;
    /// <summary>ArgReduce: index of the min (first occurrence, NaN wins).</summary>
    public const int ArgMin = 1;
}

/// <summary>Arithmetic of one element type, as a struct so that ILGPU specialises kernels per type (no virtual calls).</summary>
public interface INum<T> where T : unmanaged
{
    /// <summary>True for float32/float64.</summary>
    bool IsFloat();
    /// <summary>0.</summary>
    T Zero();
    /// <summary>1.</summary>
    T One();
    /// <summary>The lowest value (-inf for floats): the identity of max.</summary>
    T Lowest();
    /// <summary>The highest value (+inf for floats): the identity of min.</summary>
    T Highest();
    /// <summary>a + b.</summary>
    T Add(T a, T b);
    /// <summary>a * b.</summary>
    T Mul(T a, T b);
    /// <summary>The binary op with the given code.</summary>
    T Binary(int op, T a, T b);
    /// <summary>The unary op with the given code (floats; ints return x).</summary>
    T Unary(int op, T x);
    /// <summary>True when x is NaN.</summary>
    bool IsNaN(T x);
    /// <summary>a &lt; b (IEEE: false with NaN).</summary>
    bool Lt(T a, T b);
    /// <summary>a &lt;= b (IEEE: false with NaN).</summary>
    bool Le(T a, T b);
    /// <summary>a = b (IEEE: false with NaN).</summary>
    bool Eq(T a, T b);
    /// <summary>Converts from float64 (ints: truncate toward zero, saturating, NaN to 0; bool: v != 0).</summary>
    T FromDouble(double v);
    /// <summary>Converts from int64 (int32 wraps; bool: v != 0).</summary>
    T FromLong(long v);
    /// <summary>Converts to float64.</summary>
    double ToDouble(T x);
    /// <summary>Converts to int64 (ints and bools only).</summary>
    long ToLong(T x);
    /// <summary>Atomically adds v to target.</summary>
    void AtomicAdd(ref T target, T v);
}

/// <summary>Shared scalar helpers (written with Math.* so that ILGPU maps them to device intrinsics).</summary>
public static class Scalar
{
    /// <summary>Round half to even through floor (no dependence on Math.Round's device mapping).</summary>
    public static double RoundEven(double x)
    {
        double r = Math.Floor(x);
        double d = x - r;
        if (d > 0.5) return r + 1.0;
        if (d < 0.5) return r;
        double half = r * 0.5;
        return Math.Floor(half) == half ? r : r + 1.0;
    }

    /// <summary>Round half to even through floor, float32.</summary>
    public static float RoundEven(float x)
    {
        float r = MathF.Floor(x);
        float d = x - r;
        if (d > 0.5f) return r + 1.0f;
        if (d < 0.5f) return r;
        float half = r * 0.5f;
        return MathF.Floor(half) == half ? r : r + 1.0f;
    }

    /// <summary>float64 to int32, truncating, saturating, NaN to 0 (.NET 9+ cast semantics).</summary>
    public static int DoubleToInt(double v)
    {
        if (double.IsNaN(v)) return 0;
        if (v >= 2147483647.0) return int.MaxValue;
        if (v <= -2147483648.0) return int.MinValue;
        return (int)v;
    }

    /// <summary>float64 to int64, truncating, saturating, NaN to 0 (.NET 9+ cast semantics).</summary>
    public static long DoubleToLong(double v)
    {
        if (double.IsNaN(v)) return 0L;
        if (v >= 9223372036854775807.0) return long.MaxValue;
        if (v <= -9223372036854775808.0) return long.MinValue;
        return (long)v;
    }
}

/// <summary>float64 arithmetic.</summary>
public readonly struct F64 : INum<double>
{
    /// <inheritdoc/>
    public bool IsFloat() => true;
    /// <inheritdoc/>
    public double Zero() => 0.0;
    /// <inheritdoc/>
    public double One() => 1.0;
    /// <inheritdoc/>
    public double Lowest() => double.NegativeInfinity;
    /// <inheritdoc/>
    public double Highest() => double.PositiveInfinity;
    /// <inheritdoc/>
    public double Add(double a, double b) => a + b;
    /// <inheritdoc/>
    public double Mul(double a, double b) => a * b;
    /// <inheritdoc/>
    public double Binary(int op, double a, double b)
    {
        switch (op)
        {
            case OpCode.Add: return a + b;
            case OpCode.Sub: return a - b;
            case OpCode.Mul: return a * b;
            case OpCode.Div: return a / b;
            case OpCode.Pow: return Math.Pow(a, b);
            case OpCode.Max: return (double.IsNaN(a) || a >= b) ? a : b;
            case OpCode.Min: return (double.IsNaN(a) || a <= b) ? a : b;
            default: return Math.Atan2(a, b);
        }
    }
    /// <inheritdoc/>
    public double Unary(int op, double x)
    {
        switch (op)
        {
            case OpCode.Neg: return -x;
            case OpCode.Exp: return Math.Exp(x);
            case OpCode.Log: return Math.Log(x);
            case OpCode.Sqrt: return Math.Sqrt(x);
            case OpCode.Abs: return Math.Abs(x);
            case OpCode.Sign: return double.IsNaN(x) ? x : (x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0));
            case OpCode.Sin: return Math.Sin(x);
            case OpCode.Cos: return Math.Cos(x);
            case OpCode.Tan: return Math.Tan(x);
            case OpCode.Tanh: return Math.Tanh(x);
            case OpCode.Sigmoid: return 1.0 / (1.0 + Math.Exp(-x));
            case OpCode.Relu: return (x > 0.0 || double.IsNaN(x)) ? x : 0.0;
            case OpCode.Softplus: return double.IsNaN(x) ? x : Math.Max(x, 0.0) + Math.Log(Math.Exp(-Math.Abs(x)) + 1.0);
            case OpCode.Floor: return Math.Floor(x);
            case OpCode.Ceil: return Math.Ceiling(x);
            case OpCode.Round: return Scalar.RoundEven(x);
            case OpCode.Asin: return Math.Asin(x);
            case OpCode.Acos: return Math.Acos(x);
            case OpCode.Atan: return Math.Atan(x);
            case OpCode.Sinh: return Math.Sinh(x);
            case OpCode.Cosh: return Math.Cosh(x);
            case OpCode.Log1p: return Math.Log(x + 1.0);
            default: return Math.Exp(x) - 1.0;
        }
    }
    /// <inheritdoc/>
    public bool IsNaN(double x) => double.IsNaN(x);
    /// <inheritdoc/>
    public bool Lt(double a, double b) => a < b;
    /// <inheritdoc/>
    public bool Le(double a, double b) => a <= b;
    /// <inheritdoc/>
    public bool Eq(double a, double b) => a == b;
    /// <inheritdoc/>
    public double FromDouble(double v) => v;
    /// <inheritdoc/>
    public double FromLong(long v) => v;
    /// <inheritdoc/>
    public double ToDouble(double x) => x;
    /// <inheritdoc/>
    public long ToLong(double x) => Scalar.DoubleToLong(x);
    /// <inheritdoc/>
    public void AtomicAdd(ref double target, double v) => Atomic.Add(ref target, v);
}

/// <summary>float32 arithmetic.</summary>
public readonly struct F32 : INum<float>
{
    /// <inheritdoc/>
    public bool IsFloat() => true;
    /// <inheritdoc/>
    public float Zero() => 0.0f;
    /// <inheritdoc/>
    public float One() => 1.0f;
    /// <inheritdoc/>
    public float Lowest() => float.NegativeInfinity;
    /// <inheritdoc/>
    public float Highest() => float.PositiveInfinity;
    /// <inheritdoc/>
    public float Add(float a, float b) => a + b;
    /// <inheritdoc/>
    public float Mul(float a, float b) => a * b;
    /// <inheritdoc/>
    public float Binary(int op, float a, float b)
    {
        switch (op)
        {
            case OpCode.Add: return a + b;
            case OpCode.Sub: return a - b;
            case OpCode.Mul: return a * b;
            case OpCode.Div: return a / b;
            case OpCode.Pow: return MathF.Pow(a, b);
            case OpCode.Max: return (float.IsNaN(a) || a >= b) ? a : b;
            case OpCode.Min: return (float.IsNaN(a) || a <= b) ? a : b;
            default: return MathF.Atan2(a, b);
        }
    }
    /// <inheritdoc/>
    public float Unary(int op, float x)
    {
        switch (op)
        {
            case OpCode.Neg: return -x;
            case OpCode.Exp: return MathF.Exp(x);
            case OpCode.Log: return MathF.Log(x);
            case OpCode.Sqrt: return MathF.Sqrt(x);
            case OpCode.Abs: return MathF.Abs(x);
            case OpCode.Sign: return float.IsNaN(x) ? x : (x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f));
            case OpCode.Sin: return MathF.Sin(x);
            case OpCode.Cos: return MathF.Cos(x);
            case OpCode.Tan: return MathF.Tan(x);
            case OpCode.Tanh: return MathF.Tanh(x);
            case OpCode.Sigmoid: return 1.0f / (1.0f + MathF.Exp(-x));
            case OpCode.Relu: return (x > 0.0f || float.IsNaN(x)) ? x : 0.0f;
            case OpCode.Softplus: return float.IsNaN(x) ? x : MathF.Max(x, 0.0f) + MathF.Log(MathF.Exp(-MathF.Abs(x)) + 1.0f);
            case OpCode.Floor: return MathF.Floor(x);
            case OpCode.Ceil: return MathF.Ceiling(x);
            case OpCode.Round: return Scalar.RoundEven(x);
            case OpCode.Asin: return MathF.Asin(x);
            case OpCode.Acos: return MathF.Acos(x);
            case OpCode.Atan: return MathF.Atan(x);
            case OpCode.Sinh: return MathF.Sinh(x);
            case OpCode.Cosh: return MathF.Cosh(x);
            case OpCode.Log1p: return MathF.Log(x + 1.0f);
            default: return MathF.Exp(x) - 1.0f;
        }
    }
    /// <inheritdoc/>
    public bool IsNaN(float x) => float.IsNaN(x);
    /// <inheritdoc/>
    public bool Lt(float a, float b) => a < b;
    /// <inheritdoc/>
    public bool Le(float a, float b) => a <= b;
    /// <inheritdoc/>
    public bool Eq(float a, float b) => a == b;
    /// <inheritdoc/>
    public float FromDouble(double v) => (float)v;
    /// <inheritdoc/>
    public float FromLong(long v) => v;
    /// <inheritdoc/>
    public double ToDouble(float x) => x;
    /// <inheritdoc/>
    public long ToLong(float x) => Scalar.DoubleToLong(x);
    /// <inheritdoc/>
    public void AtomicAdd(ref float target, float v) => Atomic.Add(ref target, v);
}

/// <summary>int32 arithmetic (wrapping).</summary>
public readonly struct I32 : INum<int>
{
    /// <inheritdoc/>
    public bool IsFloat() => false;
    /// <inheritdoc/>
    public int Zero() => 0;
    /// <inheritdoc/>
    public int One() => 1;
    /// <inheritdoc/>
    public int Lowest() => int.MinValue;
    /// <inheritdoc/>
    public int Highest() => int.MaxValue;
    /// <inheritdoc/>
    public int Add(int a, int b) => unchecked(a + b);
    /// <inheritdoc/>
    public int Mul(int a, int b) => unchecked(a * b);
    /// <inheritdoc/>
    public int Binary(int op, int a, int b)
    {
        switch (op)
        {
            case OpCode.Add: return unchecked(a + b);
            case OpCode.Sub: return unchecked(a - b);
            case OpCode.Mul: return unchecked(a * b);
            case OpCode.Div: return b == 0 ? 0 : (b == -1 ? unchecked(-a) : a / b);
            case OpCode.Pow: return Scalar.DoubleToInt(Math.Pow(a, b));
            case OpCode.Max: return a >= b ? a : b;
            case OpCode.Min: return a <= b ? a : b;
            default: return Scalar.DoubleToInt(Math.Atan2(a, b));
        }
    }
    /// <inheritdoc/>
    public int Unary(int op, int x) => x;
    /// <inheritdoc/>
    public bool IsNaN(int x) => false;
    /// <inheritdoc/>
    public bool Lt(int a, int b) => a < b;
    /// <inheritdoc/>
    public bool Le(int a, int b) => a <= b;
    /// <inheritdoc/>
    public bool Eq(int a, int b) => a == b;
    /// <inheritdoc/>
    public int FromDouble(double v) => Scalar.DoubleToInt(v);
    /// <inheritdoc/>
    public int FromLong(long v) => unchecked((int)v);
    /// <inheritdoc/>
    public double ToDouble(int x) => x;
    /// <inheritdoc/>
    public long ToLong(int x) => x;
    /// <inheritdoc/>
    public void AtomicAdd(ref int target, int v) => Atomic.Add(ref target, v);
}

/// <summary>int64 arithmetic (wrapping).</summary>
public readonly struct I64 : INum<long>
{
    /// <inheritdoc/>
    public bool IsFloat() => false;
    /// <inheritdoc/>
    public long Zero() => 0L;
    /// <inheritdoc/>
    public long One() => 1L;
    /// <inheritdoc/>
    public long Lowest() => long.MinValue;
    /// <inheritdoc/>
    public long Highest() => long.MaxValue;
    /// <inheritdoc/>
    public long Add(long a, long b) => unchecked(a + b);
    /// <inheritdoc/>
    public long Mul(long a, long b) => unchecked(a * b);
    /// <inheritdoc/>
    public long Binary(int op, long a, long b)
    {
        switch (op)
        {
            case OpCode.Add: return unchecked(a + b);
            case OpCode.Sub: return unchecked(a - b);
            case OpCode.Mul: return unchecked(a * b);
            case OpCode.Div: return b == 0L ? 0L : (b == -1L ? unchecked(-a) : a / b);
            case OpCode.Pow: return Scalar.DoubleToLong(Math.Pow(a, b));
            case OpCode.Max: return a >= b ? a : b;
            case OpCode.Min: return a <= b ? a : b;
            default: return Scalar.DoubleToLong(Math.Atan2(a, b));
        }
    }
    /// <inheritdoc/>
    public long Unary(int op, long x) => x;
    /// <inheritdoc/>
    public bool IsNaN(long x) => false;
    /// <inheritdoc/>
    public bool Lt(long a, long b) => a < b;
    /// <inheritdoc/>
    public bool Le(long a, long b) => a <= b;
    /// <inheritdoc/>
    public bool Eq(long a, long b) => a == b;
    /// <inheritdoc/>
    public long FromDouble(double v) => Scalar.DoubleToLong(v);
    /// <inheritdoc/>
    public long FromLong(long v) => v;
    /// <inheritdoc/>
    public double ToDouble(long x) => x;
    /// <inheritdoc/>
    public long ToLong(long x) => x;
    /// <inheritdoc/>
    public void AtomicAdd(ref long target, long v) => Atomic.Add(ref target, v);
}

/// <summary>bool stored as a byte (0 or 1): conversions only.</summary>
public readonly struct B8 : INum<byte>
{
    /// <inheritdoc/>
    public bool IsFloat() => false;
    /// <inheritdoc/>
    public byte Zero() => 0;
    /// <inheritdoc/>
    public byte One() => 1;
    /// <inheritdoc/>
    public byte Lowest() => 0;
    /// <inheritdoc/>
    public byte Highest() => 1;
    /// <inheritdoc/>
    public byte Add(byte a, byte b) => (byte)(a | b);
    /// <inheritdoc/>
    public byte Mul(byte a, byte b) => (byte)(a & b);
    /// <inheritdoc/>
    public byte Binary(int op, byte a, byte b) => a;
    /// <inheritdoc/>
    public byte Unary(int op, byte x) => x;
    /// <inheritdoc/>
    public bool IsNaN(byte x) => false;
    /// <inheritdoc/>
    public bool Lt(byte a, byte b) => a < b;
    /// <inheritdoc/>
    public bool Le(byte a, byte b) => a <= b;
    /// <inheritdoc/>
    public bool Eq(byte a, byte b) => a == b;
    /// <inheritdoc/>
    public byte FromDouble(double v) => v != 0.0 ? (byte)1 : (byte)0;
    /// <inheritdoc/>
    public byte FromLong(long v) => v != 0L ? (byte)1 : (byte)0;
    /// <inheritdoc/>
    public double ToDouble(byte x) => x;
    /// <inheritdoc/>
    public long ToLong(byte x) => x;
    /// <inheritdoc/>
    public void AtomicAdd(ref byte target, byte v) { if (v != 0) target = 1; }
}
