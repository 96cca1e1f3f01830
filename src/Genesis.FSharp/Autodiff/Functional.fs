namespace Genesis

/// Functional (nested) differentiation. Each call takes a fresh nesting tag, so calls nest freely: forward over
/// forward, forward over reverse, reverse over reverse and reverse over forward are all exact.
module Functional =
    /// Makes x a forward-mode input with tangent v at a fresh tag.
    let internal forwardDiff (tag: int64) (x: Tensor) (v: Tensor) =
        if v.shape <> x.shape then
            raise (GenesisException(sprintf "jvp: tangent shape %s does not match input shape %s" (Shape.format v.shape) (Shape.format x.shape)))
        Tensor(TFwd(x, v.cast x.dtype, tag), x.scene)

    /// Makes x a reverse-mode input at a fresh tag.
    let internal reverseDiff (tag: int64) (x: Tensor) = Tensor(TRev(x, ReverseNode(null, [||]), tag), x.scene)

    /// The value of y one level below tag.
    let internal primalAt (tag: int64) (y: Tensor) = if y.TagValue = tag then y.primal else y

    /// The tangent of y at tag (zeros when y does not depend on the input).
    let internal tangentAt (tag: int64) (y: Tensor) =
        match y.Node with
        | TFwd(_, t, tg) when tg = tag -> t
        | _ -> Apply.zerosLike y

    let private checkFloat (name: string) (x: Tensor) =
        if not x.dtype.IsFloating then
            raise (GenesisException(sprintf "%s: can only differentiate with respect to float tensors, got %O" name x.dtype))

    /// f(x) and the Jacobian-vector product J_f(x) v (forward mode).
    let fjvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
        checkFloat "jvp" x
        let tag = Tags.next ()
        let y = f (forwardDiff tag x v)
        primalAt tag y, tangentAt tag y

    /// f(x) and the vector-Jacobian product v^T J_f(x) (reverse mode).
    let fvjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
        checkFloat "vjp" x
        let tag = Tags.next ()
        let xr = reverseDiff tag x
        let y = f xr
        if v.shape <> y.shape then
            raise (GenesisException(sprintf "vjp: cotangent shape %s does not match output shape %s" (Shape.format v.shape) (Shape.format y.shape)))
        if y.TagValue = tag && y.isReverse then Reverse.run y (v.cast y.dtype) false false
        primalAt tag y, Reverse.leafAdjoint xr

    /// f(x) and the gradient of a scalar-valued f at x.
    let fgrad (f: Tensor -> Tensor) (x: Tensor) =
        checkFloat "grad" x
        let tag = Tags.next ()
        let xr = reverseDiff tag x
        let y = f xr
        if y.numel <> 1 then
            raise (GenesisException(sprintf "grad: f must return a scalar (one element), got shape %s; use jacobian or vjp" (Shape.format y.shape)))
        if y.TagValue = tag && y.isReverse then Reverse.run y (Apply.add (Apply.zerosLike y) (Apply.scalarLike y 1.0)) false false
        primalAt tag y, Reverse.leafAdjoint xr

    /// The gradient of a scalar-valued f at x.
    let grad f x = fgrad f x |> snd
    /// J_f(x) v.
    let jvp f x v = fjvp f x v |> snd
    /// v^T J_f(x).
    let vjp f x v = fvjp f x v |> snd
    /// The directional derivative grad f(x) . v of a scalar-valued f (forward mode).
    let gradv f x v =
        let _, t = fjvp f x v
        if t.numel <> 1 then raise (GenesisException(sprintf "gradv: f must return a scalar, got shape %s" (Shape.format t.shape)))
        t

    /// The derivative of a scalar-to-tensor function f at scalar x.
    let diff (f: Tensor -> Tensor) (x: Tensor) =
        if x.numel <> 1 then raise (GenesisException(sprintf "diff: x must be a scalar, got shape %s" (Shape.format x.shape)))
        jvp f x (Apply.add (Apply.zerosLike x) (Apply.scalarLike x 1.0))

    /// The n-th derivative of f at scalar x (nested forward mode).
    let rec diffn (n: int) (f: Tensor -> Tensor) (x: Tensor) =
        if n < 0 then raise (GenesisException "diffn: order must be >= 0")
        elif n = 0 then f x
        else diffn (n - 1) (diff f) x

    /// The second derivative of f at scalar x.
    let diff2 f x = diffn 2 f x

    let private unit (x: Tensor) (i: int) =
        let e = Array.zeroCreate<float> x.numel
        e[i] <- 1.0
        Tensor(TConst(x.raw.Backend.FromHostArray(e, [| x.numel |]).Cast x.dtype), null) |> ShapeOps.reshape x.shape

    /// The Jacobian of f at x as [f(x).numel; x.numel] (forward mode when inputs are fewer, else reverse mode).
    let jacobian (f: Tensor -> Tensor) (x: Tensor) =
        checkFloat "jacobian" x
        let y = f (x.detach())
        let m, n = y.numel, x.numel
        if n <= m then
            [| for j in 0 .. n - 1 -> (jvp f x (unit x j)).reshape [ m ] |] |> ShapeOps.stack 1
        else
            [| for i in 0 .. m - 1 -> (vjp f x (unit y i)).reshape [ n ] |] |> ShapeOps.stack 0

    /// J_f(x) v (alias of jvp, DiffSharp naming).
    let jacobianv f x v = jvp f x v
    /// J_f(x)^T v (alias of vjp, DiffSharp naming).
    let jacobianTv f x v = vjp f x v

    /// The Hessian-vector product H_f(x) v of a scalar-valued f (forward over reverse).
    let hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = jvp (grad f) x v

    /// The Hessian of a scalar-valued f at x as [x.numel; x.numel] (forward over reverse).
    let hessian (f: Tensor -> Tensor) (x: Tensor) =
        checkFloat "hessian" x
        let n = x.numel
        [| for j in 0 .. n - 1 -> (hvp f x (unit x j)).reshape [ n ] |] |> ShapeOps.stack 1
