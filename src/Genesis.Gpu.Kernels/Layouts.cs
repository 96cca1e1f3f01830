using System;

namespace Genesis.Gpu.Kernels;

/// <summary>Up to eight ints passed to a kernel by value (shape or strides of one operand).</summary>
public struct Dims8
{
    /// <summary>The most dimensions a kernel layout holds (after merging contiguous dims).</summary>
    public const int Capacity = 8;
    /// <summary>Element 0.</summary>
    public int E0;
    /// <summary>Element 1.</summary>
    public int E1;
    /// <summary>Element 2.</summary>
    public int E2;
    /// <summary>Element 3.</summary>
    public int E3;
    /// <summary>Element 4.</summary>
    public int E4;
    /// <summary>Element 5.</summary>
    public int E5;
    /// <summary>Element 6.</summary>
    public int E6;
    /// <summary>Element 7.</summary>
    public int E7;

    /// <summary>Element i (0 past the end).</summary>
    public readonly int Get(int i)
    {
        switch (i)
        {
            case 0: return E0;
            case 1: return E1;
            case 2: return E2;
            case 3: return E3;
            case 4: return E4;
            case 5: return E5;
            case 6: return E6;
            case 7: return E7;
            default: return 0;
        }
    }

    /// <summary>Packs an array of at most eight ints (host side).</summary>
    public static Dims8 From(int[] a)
    {
        if (a.Length > Capacity)
            throw new ArgumentException($"at most {Capacity} dimensions are supported by the GPU kernels, got {a.Length}", nameof(a));
        var d = new Dims8();
        for (int i = 0; i < a.Length; i++)
        {
            switch (i)
            {
                case 0: d.E0 = a[i]; break;
                case 1: d.E1 = a[i]; break;
                case 2: d.E2 = a[i]; break;
                case 3: d.E3 = a[i]; break;
                case 4: d.E4 = a[i]; break;
                case 5: d.E5 = a[i]; break;
                case 6: d.E6 = a[i]; break;
                default: d.E7 = a[i]; break;
            }
        }
        return d;
    }
}

/// <summary>Three offsets computed together.</summary>
public struct Offsets3
{
    /// <summary>Offset into operand 0.</summary>
    public int O0;
    /// <summary>Offset into operand 1.</summary>
    public int O1;
    /// <summary>Offset into operand 2.</summary>
    public int O2;
}

/// <summary>An iteration shape with the strides and base offsets of up to three operands (0 strides broadcast,
/// negative strides flip). Maps a flat row-major index of the shape to one offset per operand.</summary>
public struct Strided
{
    /// <summary>Number of dimensions of the iteration shape.</summary>
    public int Rank;
    /// <summary>The iteration shape.</summary>
    public Dims8 Shape;
    /// <summary>Strides of operand 0.</summary>
    public Dims8 S0;
    /// <summary>Strides of operand 1.</summary>
    public Dims8 S1;
    /// <summary>Strides of operand 2.</summary>
    public Dims8 S2;
    /// <summary>Base offset of operand 0.</summary>
    public int Off0;
    /// <summary>Base offset of operand 1.</summary>
    public int Off1;
    /// <summary>Base offset of operand 2.</summary>
    public int Off2;

    /// <summary>The offsets of flat index i into the three operands.</summary>
    public readonly Offsets3 At(int i)
    {
        var r = new Offsets3 { O0 = Off0, O1 = Off1, O2 = Off2 };
        int rem = i;
        for (int d = Rank - 1; d >= 0; d--)
        {
            int s = Shape.Get(d);
            int q = rem % s;
            rem /= s;
            r.O0 += q * S0.Get(d);
            r.O1 += q * S1.Get(d);
            r.O2 += q * S2.Get(d);
        }
        return r;
    }

    /// <summary>The offset of flat index i into operand 0 only.</summary>
    public readonly int At0(int i)
    {
        int o = Off0;
        int rem = i;
        for (int d = Rank - 1; d >= 0; d--)
        {
            int s = Shape.Get(d);
            o += (rem % s) * S0.Get(d);
            rem /= s;
        }
        return o;
    }
}

/// <summary>A reduction: the kept dims (one output each, in order) and the reduced dims, each with source strides.</summary>
public struct ReduceLayout
{
    /// <summary>The kept part (Shape, S0 = source strides).</summary>
    public Strided Kept;
    /// <summary>The reduced part (Shape, S0 = source strides).</summary>
    public Strided Reduced;
    /// <summary>The number of reduced elements per output.</summary>
    public int Block;
}

/// <summary>Gather / scatter-add along one dim: the index tensor's shape is the iteration space.</summary>
public struct IndexLayout
{
    /// <summary>Iteration shape (the index tensor's); S0 = strides of the indexed tensor (gather source, scatter target)
    /// with 0 at Dim; S1 = strides of the scatter source.</summary>
    public Strided Iter;
    /// <summary>The indexed dimension.</summary>
    public int Dim;
    /// <summary>The size of the indexed tensor along Dim.</summary>
    public int DimSize;
    /// <summary>The stride of the indexed tensor along Dim.</summary>
    public int DimStride;
}
