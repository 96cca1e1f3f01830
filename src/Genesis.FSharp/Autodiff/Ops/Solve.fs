namespace Genesis

/// Dense LU with partial pivoting on flat arrays, generic over float and TapeReal (the fast path records it on the tape).
module DenseLU =
    open Genesis.HomogeneousArithmetic

    /// Solves a x = x in place for x of n x bcols row-major (LU with partial pivoting); a is destroyed.
    let inline internal luSolveInPlace (n: int) (a: ^T[]) (bcols: int) (x: ^T[]) =
        for c in 0 .. n - 1 do
            let mutable piv = c
            for r in c + 1 .. n - 1 do
                if abs (Real.value a[r * n + c]) > abs (Real.value a[piv * n + c]) then piv <- r
            if piv <> c then
                for k in 0 .. n - 1 do
                    let t = a[c * n + k]
                    a[c * n + k] <- a[piv * n + k]
                    a[piv * n + k] <- t
                for k in 0 .. bcols - 1 do
                    let t = x[c * bcols + k]
                    x[c * bcols + k] <- x[piv * bcols + k]
                    x[piv * bcols + k] <- t
            let d = a[c * n + c]
            for r in c + 1 .. n - 1 do
                let f = a[r * n + c] / d
                if Real.value f <> 0.0 then
                    for k in c .. n - 1 do
                        a[r * n + k] <- a[r * n + k] - f * a[c * n + k]
                    for k in 0 .. bcols - 1 do
                        x[r * bcols + k] <- x[r * bcols + k] - f * x[c * bcols + k]
        for c in n - 1 .. -1 .. 0 do
            let d = a[c * n + c]
            for k in 0 .. bcols - 1 do
                let mutable s = x[c * bcols + k]
                for m in c + 1 .. n - 1 do
                    s <- s - a[c * n + m] * x[m * bcols + k]
                x[c * bcols + k] <- s / d

/// Batched dense linear solves A x = b (LU with partial pivoting, on the host, or on the device for a backend that
/// implements IDeviceSolve), differentiable in A and b.
module Solve =
    let private luSolve (n: int) (a: float[]) (bcols: int) (b: float[]) =
        // a: n x n row-major, b: n x bcols row-major (both copied); returns x
        let x = Array.copy b
        DenseLU.luSolveInPlace n (Array.copy a) bcols x
        x

    type internal SolveOp() =
        inherit Op()
        static member val Instance = SolveOp()
        override _.Name = "solve"
        override _.Forward(raws) =
            let a, b = raws[0], raws[1]
            let n = a.Shape[a.Rank - 1]
            let m = b.Shape[b.Rank - 1]
            let batch = Shape.numel a.Shape[.. a.Rank - 3]
            match box a with
            | :? IDeviceSolve as d -> d.Solve b
            | _ ->
                let av = RawTensor.toFloatArray a
                let bv = RawTensor.toFloatArray b
                let out = Array.zeroCreate (batch * n * m)
                for k in 0 .. batch - 1 do
                    let x = luSolve n av[k * n * n .. (k + 1) * n * n - 1] m bv[k * n * m .. (k + 1) * n * m - 1]
                    Array.blit x 0 out (k * n * m) (n * m)
                a.Backend.FromHostArray(out, b.Shape).Cast a.DType
        override _.Jvp(inputs, res, i, tangent) =
            // d x = A^-1 (d b - d A x)
            if i = 1 then Apply.apply SolveOp.Instance [| inputs[0]; tangent |]
            else -(Apply.apply SolveOp.Instance [| inputs[0]; tangent.matmul(res) |])
        override _.Vjp(inputs, res, i, adjoint) =
            // g_b = A^-T g, g_A = -g_b x^T
            let gb = Apply.apply SolveOp.Instance [| inputs[0].transpose(-1, -2); adjoint |]
            if i = 1 then gb else -(gb.matmul(res.transpose(-1, -2)))

    /// Solves A X = B for A [..., n, n] and B [..., n, m] (equal batch dims; float dtypes).
    let solve (a: Tensor) (b: Tensor) =
        if a.dim < 2 || a.shape[a.dim - 1] <> a.shape[a.dim - 2] then
            raise (GenesisException(sprintf "solve: A must be [..., n, n], got %s" (Shape.format a.shape)))
        if b.dim <> a.dim || b.shape[.. b.dim - 2] <> a.shape[.. a.dim - 2] then
            raise (GenesisException(sprintf "solve: B must be [..., n, m] with A's batch, A is %s, B is %s" (Shape.format a.shape) (Shape.format b.shape)))
        let a, b = Apply.promote "solve" a b
        Apply.apply SolveOp.Instance [| a; b |]
