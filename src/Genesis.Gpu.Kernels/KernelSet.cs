using System;
using System.Collections.Generic;
using ILGPU;
using ILGPU.Runtime;

namespace Genesis.Gpu.Kernels;

/// <summary>Element types of device buffers (bool is stored as one byte, 0 or 1).</summary>
public enum ElementType
{
    /// <summary>float (4 bytes).</summary>
    Float32,
    /// <summary>double (8 bytes).</summary>
    Float64,
    /// <summary>int (4 bytes).</summary>
    Int32,
    /// <summary>long (8 bytes).</summary>
    Int64,
    /// <summary>bool as byte (1 byte).</summary>
    Bool,
}

/// <summary>The kernels of one accelerator: each (kernel, element type) is compiled on first use and cached, so no
/// call recompiles. Methods take device buffers (MemoryBuffer1D of the element type) and launch on the default
/// stream; only Download and the gather/scatter range check copy to the host.</summary>
public sealed class KernelSet
{
    [ThreadStatic] private static Accelerator? bound;
    private readonly Accelerator acc;
    private readonly Dictionary<(string, Type, Type), Delegate> cache = new();
    private readonly object errGate = new();
    private MemoryBuffer1D<long, Stride1D.Dense>? err;
    private long launches, uploads, downloads;

    /// <summary>Prepares the kernel cache of an accelerator (nothing is compiled yet).</summary>
    public KernelSet(Accelerator accelerator)
    {
        acc = accelerator;
        int maxThreads = Math.Min(accelerator.MaxNumThreadsPerGroup, Kernels.MaxGroup);
        int g = 1;
        while (g * 2 <= maxThreads) g *= 2;
        ReduceGroup = g;
        int t = 1;
        while ((t * 2) * (t * 2) <= maxThreads && t * 2 <= Kernels.MaxTile) t *= 2;
        Tile = t;
    }

    /// <summary>The accelerator these kernels run on.</summary>
    public Accelerator Accelerator => acc;
    /// <summary>The group size of the block reduction (a power of two).</summary>
    public int ReduceGroup { get; }
    /// <summary>The matmul tile edge (a power of two, at most Kernels.MaxTile).</summary>
    public int Tile { get; }

    /// <summary>How many kernel specialisations have been compiled so far.</summary>
    public int CompiledKernels
    {
        get { lock (cache) return cache.Count; }
    }

    /// <summary>Kernel launches so far (one per kernel dispatch; a matmul over more than 65,535 batches or a two-pass
    /// block reduction counts once).</summary>
    public long Launches => System.Threading.Interlocked.Read(ref launches);
    /// <summary>Host-to-device copies so far (Upload).</summary>
    public long Uploads => System.Threading.Interlocked.Read(ref uploads);
    /// <summary>Device-to-host copies so far (Download and the gather/scatter range flag).</summary>
    public long Downloads => System.Threading.Interlocked.Read(ref downloads);

    /// <summary>Makes the accelerator current on this thread (CUDA contexts are per thread); cheap when it already is.</summary>
    public void Bind()
    {
        if (!ReferenceEquals(bound, acc))
        {
            acc.Bind();
            bound = acc;
        }
    }

    /// <summary>Waits for every launched kernel to finish.</summary>
    public void Synchronize()
    {
        Bind();
        acc.Synchronize();
    }

    private TDelegate Get<TDelegate>(string name, Type t1, Type t2, Func<TDelegate> load) where TDelegate : Delegate
    {
        // every caller launches the kernel it gets
        System.Threading.Interlocked.Increment(ref launches);
        lock (cache)
        {
            if (cache.TryGetValue((name, t1, t2), out var d)) return (TDelegate)d;
            var k = load();
            cache[(name, t1, t2)] = k;
            return k;
        }
    }

    private static ArrayView<T> V<T>(MemoryBuffer b) where T : unmanaged => ((MemoryBuffer1D<T, Stride1D.Dense>)b).View;

    /// <summary>The size in bytes of one element.</summary>
    public static int SizeOf(ElementType t) => t switch
    {
        ElementType.Float32 or ElementType.Int32 => 4,
        ElementType.Float64 or ElementType.Int64 => 8,
        _ => 1,
    };

    /// <summary>Allocates an uninitialised buffer of n elements (at least one, so that empty tensors have storage). Its
    /// finalizer is suppressed: the owner frees it explicitly on a thread bound to the accelerator (or the accelerator's
    /// Dispose does), never the GC's finalizer thread, so a buffer handed back by a tensor's finalizer stays valid
    /// until the owner frees or reuses it.</summary>
    public MemoryBuffer Allocate(ElementType t, long n)
    {
        Bind();
        long len = Math.Max(1L, n);
        return t switch
        {
            ElementType.Float32 => Own(acc.Allocate1D<float>(len)),
            ElementType.Float64 => Own(acc.Allocate1D<double>(len)),
            ElementType.Int32 => Own(acc.Allocate1D<int>(len)),
            ElementType.Int64 => Own(acc.Allocate1D<long>(len)),
            _ => Own(acc.Allocate1D<byte>(len)),
        };
    }

    private static MemoryBuffer Own<T>(MemoryBuffer1D<T, Stride1D.Dense> b) where T : unmanaged
    {
        // Both the typed wrapper and the raw buffer inside it free device memory in their finalizers.
        GC.SuppressFinalize(b);
        GC.SuppressFinalize(((IArrayView)b).Buffer);
        return b;
    }

    /// <summary>Copies a host array into a buffer allocated for it (float[], double[], int[], long[] or byte[]).</summary>
    public void Upload<T>(MemoryBuffer dst, T[] data) where T : unmanaged
    {
        Bind();
        System.Threading.Interlocked.Increment(ref uploads);
        if (data.Length > 0) V<T>(dst).SubView(0, data.Length).CopyFromCPU(data);
    }

    /// <summary>Copies the first n elements of a buffer to a new host array (byte[] for bool).</summary>
    public Array Download(ElementType t, MemoryBuffer src, int n)
    {
        Bind();
        switch (t)
        {
            case ElementType.Float32: return Down<float>(src, n);
            case ElementType.Float64: return Down<double>(src, n);
            case ElementType.Int32: return Down<int>(src, n);
            case ElementType.Int64: return Down<long>(src, n);
            default: return Down<byte>(src, n);
        }
    }

    private T[] Down<T>(MemoryBuffer src, int n) where T : unmanaged
    {
        var a = new T[n];
        System.Threading.Interlocked.Increment(ref downloads);
        if (n > 0)
        {
            acc.Synchronize();
            V<T>(src).SubView(0, n).CopyToCPU(a);
        }
        return a;
    }

    /// <summary>Fills n elements with value converted to the element type (ints saturate, bool is value != 0).</summary>
    public void Fill(ElementType t, MemoryBuffer dst, int n, double value)
    {
        if (n == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: FillT(dst, n, (float)value); break;
            case ElementType.Float64: FillT(dst, n, value); break;
            case ElementType.Int32: FillT(dst, n, Scalar.DoubleToInt(value)); break;
            case ElementType.Int64: FillT(dst, n, Scalar.DoubleToLong(value)); break;
            default: FillT(dst, n, value != 0.0 ? (byte)1 : (byte)0); break;
        }
    }

    private void FillT<T>(MemoryBuffer dst, int n, T value) where T : unmanaged =>
        Get("fill", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, T>(Kernels.Fill<T>))(n, V<T>(dst), value);

    /// <summary>y = op(x) elementwise over n contiguous elements (float types).</summary>
    public void Unary(ElementType t, int op, MemoryBuffer x, MemoryBuffer y, int n)
    {
        if (n == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: UnaryT<float, F32>(op, x, y, n); break;
            case ElementType.Float64: UnaryT<double, F64>(op, x, y, n); break;
            default: throw new ArgumentException($"unary ops need a float type, got {t}", nameof(t));
        }
    }

    private void UnaryT<T, TN>(int op, MemoryBuffer x, MemoryBuffer y, int n) where T : unmanaged where TN : struct, INum<T> =>
        Get("unary", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int>(Kernels.Unary<T, TN>))(n, V<T>(x), V<T>(y), op);

    /// <summary>c = op(a, b) over n outputs with the broadcasting layout l (S0 a, S1 b).</summary>
    public void Binary(ElementType t, int op, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int n, Strided l)
    {
        if (n == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: BinaryT<float, F32>(op, a, b, c, n, l); break;
            case ElementType.Float64: BinaryT<double, F64>(op, a, b, c, n, l); break;
            case ElementType.Int32: BinaryT<int, I32>(op, a, b, c, n, l); break;
            case ElementType.Int64: BinaryT<long, I64>(op, a, b, c, n, l); break;
            default: throw new ArgumentException("binary ops are not defined for bool", nameof(t));
        }
    }

    private void BinaryT<T, TN>(int op, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int n, Strided l) where T : unmanaged where TN : struct, INum<T> =>
        Get("binary", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, Strided, int>(Kernels.Binary<T, TN>))
            (n, V<T>(a), V<T>(b), V<T>(c), l, op);

    /// <summary>c = (a op b) as bool bytes over n outputs with the broadcasting layout l.</summary>
    public void Compare(ElementType t, int op, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int n, Strided l)
    {
        if (n == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: CompareT<float, F32>(op, a, b, c, n, l); break;
            case ElementType.Float64: CompareT<double, F64>(op, a, b, c, n, l); break;
            case ElementType.Int32: CompareT<int, I32>(op, a, b, c, n, l); break;
            case ElementType.Int64: CompareT<long, I64>(op, a, b, c, n, l); break;
            default: CompareT<byte, B8>(op, a, b, c, n, l); break;
        }
    }

    private void CompareT<T, TN>(int op, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int n, Strided l) where T : unmanaged where TN : struct, INum<T> =>
        Get("compare", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<byte>, Strided, int>(Kernels.Compare<T, TN>))
            (n, V<T>(a), V<T>(b), V<byte>(c), l, op);

    /// <summary>c = cond ? a : b over n outputs with the broadcasting layout l (S0 cond, S1 a, S2 b).</summary>
    public void Where(ElementType t, MemoryBuffer cond, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int n, Strided l)
    {
        if (n == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: WhereT<float>(cond, a, b, c, n, l); break;
            case ElementType.Float64: WhereT<double>(cond, a, b, c, n, l); break;
            case ElementType.Int32: WhereT<int>(cond, a, b, c, n, l); break;
            case ElementType.Int64: WhereT<long>(cond, a, b, c, n, l); break;
            default: WhereT<byte>(cond, a, b, c, n, l); break;
        }
    }

    private void WhereT<T>(MemoryBuffer cond, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int n, Strided l) where T : unmanaged =>
        Get("where", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<T>, ArrayView<T>, ArrayView<T>, Strided>(Kernels.Where<T>))
            (n, V<byte>(cond), V<T>(a), V<T>(b), V<T>(c), l);

    /// <summary>dst[l.S1(i)] = src[l.S0(i)] for the n elements of the iteration shape.</summary>
    public void Copy(ElementType t, MemoryBuffer src, MemoryBuffer dst, int n, Strided l)
    {
        if (n == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: CopyT<float>(src, dst, n, l); break;
            case ElementType.Float64: CopyT<double>(src, dst, n, l); break;
            case ElementType.Int32: CopyT<int>(src, dst, n, l); break;
            case ElementType.Int64: CopyT<long>(src, dst, n, l); break;
            default: CopyT<byte>(src, dst, n, l); break;
        }
    }

    private void CopyT<T>(MemoryBuffer src, MemoryBuffer dst, int n, Strided l) where T : unmanaged =>
        Get("copy", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, Strided>(Kernels.Copy<T>))
            (n, V<T>(src), V<T>(dst), l);

    /// <summary>dst = src converted from one element type to another, over n elements.</summary>
    public void Cast(ElementType from, ElementType to, MemoryBuffer src, MemoryBuffer dst, int n)
    {
        if (n == 0) return;
        Bind();
        switch (from)
        {
            case ElementType.Float32: CastFrom<float, F32>(to, src, dst, n); break;
            case ElementType.Float64: CastFrom<double, F64>(to, src, dst, n); break;
            case ElementType.Int32: CastFrom<int, I32>(to, src, dst, n); break;
            case ElementType.Int64: CastFrom<long, I64>(to, src, dst, n); break;
            default: CastFrom<byte, B8>(to, src, dst, n); break;
        }
    }

    private void CastFrom<TS, TSN>(ElementType to, MemoryBuffer src, MemoryBuffer dst, int n) where TS : unmanaged where TSN : struct, INum<TS>
    {
        switch (to)
        {
            case ElementType.Float32: CastT<TS, TSN, float, F32>(src, dst, n); break;
            case ElementType.Float64: CastT<TS, TSN, double, F64>(src, dst, n); break;
            case ElementType.Int32: CastT<TS, TSN, int, I32>(src, dst, n); break;
            case ElementType.Int64: CastT<TS, TSN, long, I64>(src, dst, n); break;
            default: CastT<TS, TSN, byte, B8>(src, dst, n); break;
        }
    }

    private void CastT<TS, TSN, TD, TDN>(MemoryBuffer src, MemoryBuffer dst, int n)
        where TS : unmanaged where TSN : struct, INum<TS> where TD : unmanaged where TDN : struct, INum<TD> =>
        Get("cast", typeof(TS), typeof(TD), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TS>, ArrayView<TD>>(Kernels.Cast<TS, TSN, TD, TDN>))
            (n, V<TS>(src), V<TD>(dst));

    /// <summary>dst[o] = reduce(op) of the block of output o, for outN outputs: one thread per output for small
    /// blocks or many outputs, otherwise a block reduction (two passes when one group per output is too few).</summary>
    public void Reduce(ElementType t, int op, MemoryBuffer src, MemoryBuffer dst, int outN, ReduceLayout l)
    {
        if (outN == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: ReduceT<float, F32>(op, V<float>(src), V<float>(dst), outN, l); break;
            case ElementType.Float64: ReduceT<double, F64>(op, V<double>(src), V<double>(dst), outN, l); break;
            case ElementType.Int32: ReduceT<int, I32>(op, V<int>(src), V<int>(dst), outN, l); break;
            case ElementType.Int64: ReduceT<long, I64>(op, V<long>(src), V<long>(dst), outN, l); break;
            default: throw new ArgumentException("reductions are not defined for bool", nameof(t));
        }
    }

    private void ReduceT<T, TN>(int op, ArrayView<T> src, ArrayView<T> dst, int outN, ReduceLayout l) where T : unmanaged where TN : struct, INum<T>
    {
        int gs = ReduceGroup;
        if (gs < 2 || l.Block <= 2 * gs || outN >= 4096)
        {
            Get("reduceThreads", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ReduceLayout, int>(Kernels.ReduceThreads<T, TN>))
                (outN, src, dst, l, op);
            return;
        }
        var groups = Get("reduceGroups", typeof(T), typeof(T), () => acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ReduceLayout, int, int, int>(Kernels.ReduceGroups<T, TN>));
        long want = (l.Block + (long)gs * 32 - 1) / ((long)gs * 32);
        int chunks = (int)Math.Max(1L, Math.Min(want, Math.Max(1, 2048 / outN)));
        if (chunks == 1)
        {
            groups(new KernelConfig(new Index1D(outN), new Index1D(gs)), src, dst, l, op, 1, gs);
            return;
        }
        using var partial = acc.Allocate1D<T>((long)outN * chunks);
        groups(new KernelConfig(new Index1D(outN * chunks), new Index1D(gs)), src, partial.View, l, op, chunks, gs);
        var l2 = new ReduceLayout
        {
            Kept = new Strided { Rank = 1, Shape = Dims8.From(new[] { outN }), S0 = Dims8.From(new[] { chunks }) },
            Reduced = new Strided { Rank = 1, Shape = Dims8.From(new[] { chunks }), S0 = Dims8.From(new[] { 1 }) },
            Block = chunks,
        };
        ReduceT<T, TN>(op, partial.View, dst, outN, l2);
        acc.Synchronize();
    }

    /// <summary>dst[o] = the int64 index of the max/min of output o's block (one thread per output).</summary>
    public void ArgReduce(ElementType t, int op, MemoryBuffer src, MemoryBuffer dst, int outN, ReduceLayout l)
    {
        if (outN == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: ArgT<float, F32>(op, src, dst, outN, l); break;
            case ElementType.Float64: ArgT<double, F64>(op, src, dst, outN, l); break;
            case ElementType.Int32: ArgT<int, I32>(op, src, dst, outN, l); break;
            case ElementType.Int64: ArgT<long, I64>(op, src, dst, outN, l); break;
            default: throw new ArgumentException("argmax/argmin are not defined for bool", nameof(t));
        }
    }

    private void ArgT<T, TN>(int op, MemoryBuffer src, MemoryBuffer dst, int outN, ReduceLayout l) where T : unmanaged where TN : struct, INum<T> =>
        Get("argReduce", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ReduceLayout, int>(Kernels.ArgReduce<T, TN>))
            (outN, V<T>(src), V<long>(dst), l, op);

    /// <summary>c = a x b for contiguous [batch, n, k] x [batch, k, m] with the tiled shared-memory kernel.</summary>
    public void MatMul(ElementType t, MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int batch, int n, int k, int m)
    {
        if (batch * n * m == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: MatMulT<float, F32>(a, b, c, batch, n, k, m); break;
            case ElementType.Float64: MatMulT<double, F64>(a, b, c, batch, n, k, m); break;
            case ElementType.Int32: MatMulT<int, I32>(a, b, c, batch, n, k, m); break;
            case ElementType.Int64: MatMulT<long, I64>(a, b, c, batch, n, k, m); break;
            default: throw new ArgumentException("matmul is not defined for bool", nameof(t));
        }
    }

    private void MatMulT<T, TN>(MemoryBuffer a, MemoryBuffer b, MemoryBuffer c, int batch, int n, int k, int m) where T : unmanaged where TN : struct, INum<T>
    {
        if (k == 0)
        {
            FillT(c, batch * n * m, default(TN).Zero());
            return;
        }
        var kernel = Get("matmul", typeof(T), typeof(T), () => acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, int, int>(Kernels.MatMul<T, TN>));
        int tile = Tile;
        int gx = (m + tile - 1) / tile;
        int gy = (n + tile - 1) / tile;
        const int maxZ = 65535;
        for (int off = 0; off < batch; off += maxZ)
        {
            int gz = Math.Min(maxZ, batch - off);
            kernel(new KernelConfig(new Index3D(gx, gy, gz), new Index3D(tile, tile, 1)), V<T>(a), V<T>(b), V<T>(c), n, k, m, tile, off);
        }
    }

    private ArrayView<long> ResetErr()
    {
        err ??= acc.Allocate1D<long>(2);
        err.View.BaseView.MemSetToZero();
        return err.View;
    }

    private (bool, long) ReadErr()
    {
        var h = new long[2];
        System.Threading.Interlocked.Increment(ref downloads);
        acc.Synchronize();
        err!.View.BaseView.CopyToCPU(h);
        return (h[0] == 0, h[1]);
    }

    /// <summary>dst = gather(src, index) over the n index elements; returns (true, 0) or (false, an out-of-range index).</summary>
    public (bool Ok, long BadIndex) Gather(ElementType t, MemoryBuffer src, MemoryBuffer index, MemoryBuffer dst, int n, IndexLayout l)
    {
        if (n == 0) return (true, 0L);
        Bind();
        lock (errGate)
        {
            var e = ResetErr();
            switch (t)
            {
                case ElementType.Float32: GatherT<float>(src, index, dst, n, l, e); break;
                case ElementType.Float64: GatherT<double>(src, index, dst, n, l, e); break;
                case ElementType.Int32: GatherT<int>(src, index, dst, n, l, e); break;
                case ElementType.Int64: GatherT<long>(src, index, dst, n, l, e); break;
                default: GatherT<byte>(src, index, dst, n, l, e); break;
            }
            return ReadErr();
        }
    }

    private void GatherT<T>(MemoryBuffer src, MemoryBuffer index, MemoryBuffer dst, int n, IndexLayout l, ArrayView<long> e) where T : unmanaged =>
        Get("gather", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, IndexLayout, ArrayView<long>>(Kernels.Gather<T>))
            (n, V<T>(src), V<long>(index), V<T>(dst), l, e);

    /// <summary>dst += scatter(src, index) over the n index elements (atomic adds); returns as Gather does.</summary>
    public (bool Ok, long BadIndex) ScatterAdd(ElementType t, MemoryBuffer dst, MemoryBuffer index, MemoryBuffer src, int n, IndexLayout l)
    {
        if (n == 0) return (true, 0L);
        Bind();
        lock (errGate)
        {
            var e = ResetErr();
            switch (t)
            {
                case ElementType.Float32: ScatterT<float, F32>(dst, index, src, n, l, e); break;
                case ElementType.Float64: ScatterT<double, F64>(dst, index, src, n, l, e); break;
                case ElementType.Int32: ScatterT<int, I32>(dst, index, src, n, l, e); break;
                case ElementType.Int64: ScatterT<long, I64>(dst, index, src, n, l, e); break;
                default: throw new ArgumentException("scatterAdd is not defined for bool", nameof(t));
            }
            return ReadErr();
        }
    }

    private void ScatterT<T, TN>(MemoryBuffer dst, MemoryBuffer index, MemoryBuffer src, int n, IndexLayout l, ArrayView<long> e) where T : unmanaged where TN : struct, INum<T> =>
        Get("scatterAdd", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, IndexLayout, ArrayView<long>>(Kernels.ScatterAdd<T, TN>))
            (n, V<T>(dst), V<long>(index), V<T>(src), l, e);

    /// <summary>Solves A X = B in place for batch systems: a holds contiguous [batch, n, n] (overwritten by its LU
    /// factors), x holds [batch, n, m] (B on entry, X on return); one thread per system (SolveKernels.LuSolve).</summary>
    public void LuSolve(ElementType t, MemoryBuffer a, MemoryBuffer x, int batch, int n, int m)
    {
        if (batch * n * m == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: LuSolveT<float, F32>(a, x, batch, n, m); break;
            case ElementType.Float64: LuSolveT<double, F64>(a, x, batch, n, m); break;
            default: throw new ArgumentException($"solve needs a float type, got {t}", nameof(t));
        }
    }

    private void LuSolveT<T, TN>(MemoryBuffer a, MemoryBuffer x, int batch, int n, int m) where T : unmanaged where TN : struct, INum<T> =>
        Get("luSolve", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int>(SolveKernels.LuSolve<T, TN>))
            (batch, V<T>(a), V<T>(x), n, m);

    /// <summary>dst = inclusive cumulative sum of src viewed as [outer, len, inner] along len.</summary>
    public void Cumsum(ElementType t, MemoryBuffer src, MemoryBuffer dst, int outer, int len, int inner)
    {
        int lines = outer * inner;
        if (lines == 0 || len == 0) return;
        Bind();
        switch (t)
        {
            case ElementType.Float32: CumsumT<float, F32>(src, dst, lines, len, inner); break;
            case ElementType.Float64: CumsumT<double, F64>(src, dst, lines, len, inner); break;
            case ElementType.Int32: CumsumT<int, I32>(src, dst, lines, len, inner); break;
            case ElementType.Int64: CumsumT<long, I64>(src, dst, lines, len, inner); break;
            default: throw new ArgumentException("cumsum is not defined for bool", nameof(t));
        }
    }

    private void CumsumT<T, TN>(MemoryBuffer src, MemoryBuffer dst, int lines, int len, int inner) where T : unmanaged where TN : struct, INum<T> =>
        Get("cumsum", typeof(T), typeof(T), () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, int, int>(Kernels.Cumsum<T, TN>))
            (lines, V<T>(src), V<T>(dst), len, inner);
}
