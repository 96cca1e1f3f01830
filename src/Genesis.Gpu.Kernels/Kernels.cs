using ILGPU;

namespace Genesis.Gpu.Kernels;

/// <summary>The kernels. Implicitly grouped ones take an Index1D (one thread per output element); the explicitly
/// grouped ones (block reduction, tiled matmul) use shared memory and barriers.</summary>
public static class Kernels
{
    /// <summary>The largest group a block kernel uses (its static shared memory size).</summary>
    public const int MaxGroup = 256;
    /// <summary>The largest matmul tile edge (tile = MaxTile x MaxTile threads).</summary>
    public const int MaxTile = 16;

    /// <summary>y[i] = value.</summary>
    public static void Fill<T>(Index1D i, ArrayView<T> y, T value) where T : unmanaged => y[i] = value;

    /// <summary>y[i] = op(x[i]) for contiguous x and y.</summary>
    public static void Unary<T, TN>(Index1D i, ArrayView<T> x, ArrayView<T> y, int op)
        where T : unmanaged where TN : struct, INum<T>
        => y[i] = default(TN).Unary(op, x[i]);

    /// <summary>c[i] = op(a[.], b[.]) with broadcasting: l.S0/S1 index a/b, c is contiguous.</summary>
    public static void Binary<T, TN>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, Strided l, int op)
        where T : unmanaged where TN : struct, INum<T>
    {
        var o = l.At(i);
        c[i] = default(TN).Binary(op, a[o.O0], b[o.O1]);
    }

    /// <summary>c[i] = (a[.] op b[.]) as a 0/1 byte, with broadcasting.</summary>
    public static void Compare<T, TN>(Index1D i, ArrayView<T> a, ArrayView<T> b, ArrayView<byte> c, Strided l, int op)
        where T : unmanaged where TN : struct, INum<T>
    {
        var o = l.At(i);
        var n = default(TN);
        T x = a[o.O0];
        T y = b[o.O1];
        bool r;
        switch (op)
        {
            case OpCode.Eq: r = n.Eq(x, y); break;
            case OpCode.Ne: r = !n.Eq(x, y); break;
            case OpCode.Lt: r = n.Lt(x, y); break;
            case OpCode.Le: r = n.Le(x, y); break;
            case OpCode.Gt: r = n.Lt(y, x); break;
            default: r = n.Le(y, x); break;
        }
        c[i] = r ? (byte)1 : (byte)0;
    }

    /// <summary>c[i] = cond[.] != 0 ? a[.] : b[.] with broadcasting (S0 cond, S1 a, S2 b).</summary>
    public static void Where<T>(Index1D i, ArrayView<byte> cond, ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, Strided l)
        where T : unmanaged
    {
        var o = l.At(i);
        c[i] = cond[o.O0] != 0 ? a[o.O1] : b[o.O2];
    }

    /// <summary>dst[l1(i)] = src[l0(i)]: permute, expand, slice, flip, pad and concatenate are all this copy.</summary>
    public static void Copy<T>(Index1D i, ArrayView<T> src, ArrayView<T> dst, Strided l) where T : unmanaged
    {
        var o = l.At(i);
        dst[o.O1] = src[o.O0];
    }

    /// <summary>dst[i] = convert(src[i]) (floats through float64, ints and bools through int64).</summary>
    public static void Cast<TS, TSN, TD, TDN>(Index1D i, ArrayView<TS> src, ArrayView<TD> dst)
        where TS : unmanaged where TSN : struct, INum<TS> where TD : unmanaged where TDN : struct, INum<TD>
    {
        var s = default(TSN);
        var d = default(TDN);
        dst[i] = s.IsFloat() ? d.FromDouble(s.ToDouble(src[i])) : d.FromLong(s.ToLong(src[i]));
    }

    private static T Combine<T, TN>(int op, T acc, T v) where T : unmanaged where TN : struct, INum<T>
    {
        var n = default(TN);
        switch (op)
        {
            case OpCode.Sum: return n.Add(acc, v);
            case OpCode.Prod: return n.Mul(acc, v);
            case OpCode.RMax: return !n.IsNaN(acc) && (n.IsNaN(v) || n.Lt(acc, v)) ? v : acc;
            default: return !n.IsNaN(acc) && (n.IsNaN(v) || n.Lt(v, acc)) ? v : acc;
        }
    }

    private static T Identity<T, TN>(int op) where T : unmanaged where TN : struct, INum<T>
    {
        var n = default(TN);
        switch (op)
        {
            case OpCode.Sum: return n.Zero();
            case OpCode.Prod: return n.One();
            case OpCode.RMax: return n.Lowest();
            default: return n.Highest();
        }
    }

    /// <summary>One thread per output: dst[o] = reduce over the block, sequentially (small blocks, many outputs).</summary>
    public static void ReduceThreads<T, TN>(Index1D o, ArrayView<T> src, ArrayView<T> dst, ReduceLayout l, int op)
        where T : unmanaged where TN : struct, INum<T>
    {
        int baseOff = l.Kept.At0(o);
        T acc = Identity<T, TN>(op);
        for (int j = 0; j < l.Block; j++)
            acc = Combine<T, TN>(op, acc, src[baseOff + l.Reduced.At0(j)]);
        dst[o] = acc;
    }

    /// <summary>Block reduction: group g reduces chunk (g % chunks) of output (g / chunks) into dst[g]; the threads
    /// stride over the block, then a shared-memory tree combines them (groupSize a power of two).</summary>
    public static void ReduceGroups<T, TN>(ArrayView<T> src, ArrayView<T> dst, ReduceLayout l, int op, int chunks, int groupSize)
        where T : unmanaged where TN : struct, INum<T>
    {
        var sh = SharedMemory.Allocate<T>(MaxGroup);
        int g = Grid.IdxX;
        int t = Group.IdxX;
        int o = g / chunks;
        int c = g - o * chunks;
        int baseOff = l.Kept.At0(o);
        T acc = Identity<T, TN>(op);
        for (int j = c * groupSize + t; j < l.Block; j += chunks * groupSize)
            acc = Combine<T, TN>(op, acc, src[baseOff + l.Reduced.At0(j)]);
        sh[t] = acc;
        Group.Barrier();
        for (int s = groupSize / 2; s > 0; s >>= 1)
        {
            if (t < s)
                sh[t] = Combine<T, TN>(op, sh[t], sh[t + s]);
            Group.Barrier();
        }
        if (t == 0)
            dst[g] = sh[0];
    }

    /// <summary>One thread per output: the int64 index of the max/min along the reduced dim (first occurrence; NaN
    /// counts as the extreme).</summary>
    public static void ArgReduce<T, TN>(Index1D o, ArrayView<T> src, ArrayView<long> dst, ReduceLayout l, int op)
        where T : unmanaged where TN : struct, INum<T>
    {
        var n = default(TN);
        int baseOff = l.Kept.At0(o);
        int bi = 0;
        T m = src[baseOff + l.Reduced.At0(0)];
        for (int j = 1; j < l.Block; j++)
        {
            T v = src[baseOff + l.Reduced.At0(j)];
            bool better = !n.IsNaN(m) && (n.IsNaN(v) || (op == OpCode.ArgMax ? n.Lt(m, v) : n.Lt(v, m)));
            if (better)
            {
                m = v;
                bi = j;
            }
        }
        dst[o] = bi;
    }

    /// <summary>Tiled batched matmul c[b] = a[b] (n x k) * b[b] (k x m): group (tile, tile), grid (m/tile, n/tile, batch);
    /// k accumulates in ascending order as the CPU backend does.</summary>
    public static void MatMul<T, TN>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, int n, int k, int m, int tile, int batchOffset)
        where T : unmanaged where TN : struct, INum<T>
    {
        var num = default(TN);
        var ta = SharedMemory.Allocate<T>(MaxTile * MaxTile);
        var tb = SharedMemory.Allocate<T>(MaxTile * MaxTile);
        int tx = Group.IdxX;
        int ty = Group.IdxY;
        int col = Grid.IdxX * tile + tx;
        int row = Grid.IdxY * tile + ty;
        int bt = Grid.IdxZ + batchOffset;
        int aOff = bt * n * k;
        int bOff = bt * k * m;
        T acc = num.Zero();
        for (int t0 = 0; t0 < k; t0 += tile)
        {
            ta[ty * tile + tx] = (row < n && t0 + tx < k) ? a[aOff + row * k + t0 + tx] : num.Zero();
            tb[ty * tile + tx] = (t0 + ty < k && col < m) ? b[bOff + (t0 + ty) * m + col] : num.Zero();
            Group.Barrier();
            int lim = k - t0 < tile ? k - t0 : tile;
            for (int kk = 0; kk < lim; kk++)
                acc = num.Add(acc, num.Mul(ta[ty * tile + kk], tb[kk * tile + tx]));
            Group.Barrier();
        }
        if (row < n && col < m)
            c[bt * n * m + row * m + col] = acc;
    }

    /// <summary>dst[i] = src[offset with the dim index replaced by index[i]]; out-of-range indices set err[0] = 1,
    /// err[1] = the index, and write 0.</summary>
    public static void Gather<T>(Index1D i, ArrayView<T> src, ArrayView<long> index, ArrayView<T> dst, IndexLayout l, ArrayView<long> err)
        where T : unmanaged
    {
        long j = index[i];
        if (j < 0 || j >= l.DimSize)
        {
            Atomic.Exchange(ref err[1], j);
            Atomic.Exchange(ref err[0], 1L);
            dst[i] = default;
            return;
        }
        var o = l.Iter.At(i);
        dst[i] = src[o.O0 + (int)j * l.DimStride];
    }

    /// <summary>dst[offset with the dim index replaced by index[i]] += src[.] (atomic adds: several i may hit one
    /// element); out-of-range indices set err as Gather does and add nothing.</summary>
    public static void ScatterAdd<T, TN>(Index1D i, ArrayView<T> dst, ArrayView<long> index, ArrayView<T> src, IndexLayout l, ArrayView<long> err)
        where T : unmanaged where TN : struct, INum<T>
    {
        long j = index[i];
        if (j < 0 || j >= l.DimSize)
        {
            Atomic.Exchange(ref err[1], j);
            Atomic.Exchange(ref err[0], 1L);
            return;
        }
        var o = l.Iter.At(i);
        default(TN).AtomicAdd(ref dst[o.O0 + (int)j * l.DimStride], src[o.O1]);
    }

    /// <summary>One thread per line (outer x inner lines): inclusive cumulative sum along the middle axis of
    /// [outer, len, inner], in ascending order as the CPU backend does.</summary>
    public static void Cumsum<T, TN>(Index1D line, ArrayView<T> src, ArrayView<T> dst, int len, int inner)
        where T : unmanaged where TN : struct, INum<T>
    {
        var n = default(TN);
        int o = line / inner;
        int p = line - o * inner;
        int off = o * len * inner + p;
        T acc = n.Zero();
        for (int j = 0; j < len; j++)
        {
            acc = j == 0 ? src[off] : n.Add(acc, src[off]);
            dst[off] = acc;
            off += inner;
        }
    }
}
