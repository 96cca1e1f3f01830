using ILGPU;

namespace Genesis.Gpu.Kernels;

/// <summary>Dense linear solves on the device: the batched systems of the physics step (M + h D) qacc = f, one
/// thread per system.</summary>
public static class SolveKernels
{
    /// <summary>Solves system i of a batch in place by LU with partial pivoting, in the same order of operations as the
    /// host's DenseLU.luSolveInPlace: a is [batch, n, n] row-major (overwritten), x is [batch, n, m] (B in, X out).</summary>
    public static void LuSolve<T, TN>(Index1D i, ArrayView<T> a, ArrayView<T> x, int n, int m)
        where T : unmanaged where TN : struct, INum<T>
    {
        var num = default(TN);
        long ab = (long)(int)i * n * n;
        long xb = (long)(int)i * n * m;
        for (int c = 0; c < n; c++)
        {
            int piv = c;
            for (int r = c + 1; r < n; r++)
                if (num.Lt(Abs(num, a[ab + piv * n + c]), Abs(num, a[ab + r * n + c]))) piv = r;
            if (piv != c)
            {
                for (int k = 0; k < n; k++)
                {
                    T t = a[ab + c * n + k];
                    a[ab + c * n + k] = a[ab + piv * n + k];
                    a[ab + piv * n + k] = t;
                }
                for (int k = 0; k < m; k++)
                {
                    T t = x[xb + c * m + k];
                    x[xb + c * m + k] = x[xb + piv * m + k];
                    x[xb + piv * m + k] = t;
                }
            }
            T d = a[ab + c * n + c];
            for (int r = c + 1; r < n; r++)
            {
                T f = num.Binary(OpCode.Div, a[ab + r * n + c], d);
                if (num.Eq(f, num.Zero())) continue;
                for (int k = c; k < n; k++)
                    a[ab + r * n + k] = num.Binary(OpCode.Sub, a[ab + r * n + k], num.Mul(f, a[ab + c * n + k]));
                for (int k = 0; k < m; k++)
                    x[xb + r * m + k] = num.Binary(OpCode.Sub, x[xb + r * m + k], num.Mul(f, x[xb + c * m + k]));
            }
        }
        for (int c = n - 1; c >= 0; c--)
        {
            T d = a[ab + c * n + c];
            for (int k = 0; k < m; k++)
            {
                T s = x[xb + c * m + k];
                for (int j = c + 1; j < n; j++)
                    s = num.Binary(OpCode.Sub, s, num.Mul(a[ab + c * n + j], x[xb + j * m + k]));
                x[xb + c * m + k] = num.Binary(OpCode.Div, s, d);
            }
        }
    }

    private static T Abs<T, TN>(TN num, T v) where T : unmanaged where TN : struct, INum<T> =>
        num.Lt(v, num.Zero()) ? num.Binary(OpCode.Sub, num.Zero(), v) : v;
}
