namespace Genesis

open System
open System.Runtime.CompilerServices

/// One entry of a ScalarTape: up to two parents (ids, 0 = none) and the partial derivative on each edge.
[<Struct; NoEquality; NoComparison>]
type TapeEntry =
    /// First parent id (0 = none).
    val mutable P1: int
    /// Second parent id (0 = none).
    val mutable P2: int
    /// d entry / d first parent.
    val mutable D1: float
    /// d entry / d second parent.
    val mutable D2: float

/// A Wengert list of scalar operations (one per thread): each entry names up to two parents and the local partial
/// derivative on each edge, so a reverse sweep over a preallocated array gives every adjoint without allocation.
/// The physics fast path runs on TapeReal values to record a segment of steps for its vector-Jacobian product.
[<Sealed; AllowNullLiteral>]
type ScalarTape() =
    let mutable count = 0
    let mutable entries: TapeEntry[] = Array.zeroCreate 4096
    let mutable adjoints: float[] = Array.zeroCreate 4096

    [<ThreadStatic; DefaultValue>]
    static val mutable private current: ScalarTape

    /// The tape of the calling thread (created on first use).
    static member Current =
        let t = ScalarTape.current
        if isNull t then
            let fresh = ScalarTape()
            ScalarTape.current <- fresh
            fresh
        else t

    member private _.Grow() = Array.Resize(&entries, entries.Length * 2)

    /// Entries recorded since the last Clear.
    member _.Count = count

    /// Forgets every entry (the arrays are kept for the next recording).
    member _.Clear() = count <- 0

    /// Records a node with parents p1, p2 (ids, 0 = none) and the partials d1, d2; returns its id (index + 1).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member t.Push(p1: int, d1: float, p2: int, d2: float) =
        let c = count
        if c = entries.Length then t.Grow()
        let e = &entries[c]
        e.P1 <- p1
        e.D1 <- d1
        e.P2 <- p2
        e.D2 <- d2
        count <- c + 1
        c + 1

    /// A new independent variable (a leaf without parents); returns its id.
    member t.Leaf() = t.Push(0, 0.0, 0, 0.0)

    /// Zeroes the adjoints of every entry; then Seed the outputs, Sweep, and read the inputs with Adjoint.
    member _.ResetAdjoints() =
        if adjoints.Length < count then adjoints <- Array.zeroCreate entries.Length
        else Array.Clear(adjoints, 0, count)

    /// Adds g to the adjoint of entry id (ignored for constants, id 0).
    member _.Seed(id: int, g: float) = if id > 0 then adjoints[id - 1] <- adjoints[id - 1] + g

    /// The adjoint of entry id after Sweep (0 for constants).
    member _.Adjoint(id: int) = if id > 0 then adjoints[id - 1] else 0.0

    /// Propagates the seeded adjoints from the last entry to the first.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member _.Sweep() =
        let adj = adjoints
        let es = entries
        for k in count - 1 .. -1 .. 0 do
            let g = adj[k]
            if g <> 0.0 then
                let e = &es[k]
                let a = e.P1
                if a > 0 then adj[a - 1] <- adj[a - 1] + e.D1 * g
                let b = e.P2
                if b > 0 then adj[b - 1] <- adj[b - 1] + e.D2 * g

/// A float64 value that records every operation on it on the thread's ScalarTape: `id` names its tape entry, 0 for a
/// constant (so a zero-initialised array holds constants). Operations on constants only record nothing.
[<Struct; NoEquality; NoComparison>]
type TapeReal =
    /// The value.
    val v: float
    /// The tape entry (index + 1), or 0 for a constant.
    val id: int
    /// A value with its tape entry.
    new(value, tapeId) = { v = value; id = tapeId }

    /// A constant (recorded nowhere).
    static member inline Const(x: float) = TapeReal(x, 0)

    /// A new variable on the thread's tape.
    static member Variable(x: float) = TapeReal(x, ScalarTape.Current.Leaf())

    /// The result of an operation with two operands and the partial derivative with respect to each.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member Node2(v: float, a: TapeReal, da: float, b: TapeReal, db: float) =
        if a.id = 0 && b.id = 0 then TapeReal(v, 0) else TapeReal(v, ScalarTape.Current.Push(a.id, da, b.id, db))

    /// The result of an operation with one operand and its derivative.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member Node1(v: float, a: TapeReal, da: float) =
        if a.id = 0 then TapeReal(v, 0) else TapeReal(v, ScalarTape.Current.Push(a.id, da, 0, 0.0))

    /// Sum.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (+)(a: TapeReal, b: TapeReal) = TapeReal.Node2(a.v + b.v, a, 1.0, b, 1.0)
    /// Difference.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (-)(a: TapeReal, b: TapeReal) = TapeReal.Node2(a.v - b.v, a, 1.0, b, -1.0)
    /// Product.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (*)(a: TapeReal, b: TapeReal) = TapeReal.Node2(a.v * b.v, a, b.v, b, a.v)
    /// Quotient.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (/)(a: TapeReal, b: TapeReal) =
        let q = a.v / b.v
        TapeReal.Node2(q, a, 1.0 / b.v, b, -q / b.v)
    /// Negation.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    static member (~-)(a: TapeReal) = TapeReal.Node1(-a.v, a, -1.0)
    /// Square root.
    static member Sqrt(a: TapeReal) =
        let r = sqrt a.v
        TapeReal.Node1(r, a, 0.5 / r)
    /// Sine.
    static member Sin(a: TapeReal) = TapeReal.Node1(sin a.v, a, cos a.v)
    /// Cosine.
    static member Cos(a: TapeReal) = TapeReal.Node1(cos a.v, a, -(sin a.v))
    /// Exponential.
    static member Exp(a: TapeReal) =
        let e = exp a.v
        TapeReal.Node1(e, a, e)
    /// Natural logarithm.
    static member Log(a: TapeReal) = TapeReal.Node1(log a.v, a, 1.0 / a.v)
    /// Absolute value (derivative sign(x), 0 at 0).
    static member Abs(a: TapeReal) = TapeReal.Node1(abs a.v, a, (if a.v > 0.0 then 1.0 elif a.v < 0.0 then -1.0 else 0.0))
    /// atan2(y, x).
    static member Atan2(y: TapeReal, x: TapeReal) =
        let r2 = x.v * x.v + y.v * y.v
        TapeReal.Node2(Math.Atan2(y.v, x.v), y, x.v / r2, x, -y.v / r2)
    /// The value (the primal, without its derivative).
    static member inline op_Explicit(a: TapeReal) : float = a.v
    /// The constant 0.
    static member Zero = TapeReal(0.0, 0)
    /// The constant 1.
    static member One = TapeReal(1.0, 0)
    override a.ToString() = sprintf "%g (tape %d)" a.v a.id

/// Overloads that let the physics kernels be written once, generic over float and TapeReal (statically resolved).
type RealOps =
    /// x as a float.
    static member inline Of(_: float, x: float) = x
    /// x as a TapeReal constant.
    static member inline Of(_: TapeReal, x: float) = TapeReal.Const x

    /// log(1 + x) accurate for tiny x (as CpuKernels computes it).
    static member Log1pAccurate(x: float) =
        let u = 1.0 + x
        if u = 1.0 then x
        elif Double.IsInfinity u || Double.IsNaN u || u <= 0.0 then log u
        else log u * (x / (u - 1.0))

    /// softplus as the CPU kernels compute it.
    static member Softplus(v: float) = if Double.IsNaN v then v else Math.Max(v, 0.0) + RealOps.Log1pAccurate(exp (-(abs v)))
    /// softplus, with derivative sigmoid(v).
    static member Softplus(a: TapeReal) = TapeReal.Node1(RealOps.Softplus a.v, a, RealOps.Sigmoid a.v)
    /// The logistic function.
    static member Sigmoid(v: float) = 1.0 / (1.0 + exp (-v))
    /// The logistic function, with derivative s (1 - s).
    static member Sigmoid(a: TapeReal) =
        let s = RealOps.Sigmoid a.v
        TapeReal.Node1(s, a, s * (1.0 - s))
    /// max(v, 0) with NaN kept (as the CPU kernels compute it).
    static member Relu(v: float) = if v > 0.0 || Double.IsNaN v then v else 0.0
    /// max(v, 0), derivative 1 where v > 0.
    static member Relu(a: TapeReal) = if a.v > 0.0 || Double.IsNaN a.v then a else TapeReal.Const 0.0

/// Generic scalar helpers over float and TapeReal for the physics kernels.
module Real =
    let inline private ofWith (_: ^W) (x: float) : ^T = ((^W or ^T): (static member Of: ^T * float -> ^T) (Unchecked.defaultof< ^T>, x))
    /// The constant x as a ^T (float: x itself; TapeReal: a constant).
    let inline lift (x: float) : ^T = ofWith Unchecked.defaultof<RealOps> x
    let inline private softplusWith (_: ^W) (x: ^T) : ^T = ((^W or ^T): (static member Softplus: ^T -> ^T) x)
    /// softplus(x) = log(1 + e^x), stable.
    let inline softplus (x: ^T) : ^T = softplusWith Unchecked.defaultof<RealOps> x
    let inline private sigmoidWith (_: ^W) (x: ^T) : ^T = ((^W or ^T): (static member Sigmoid: ^T -> ^T) x)
    /// 1 / (1 + e^-x).
    let inline sigmoid (x: ^T) : ^T = sigmoidWith Unchecked.defaultof<RealOps> x
    let inline private reluWith (_: ^W) (x: ^T) : ^T = ((^W or ^T): (static member Relu: ^T -> ^T) x)
    /// max(x, 0), NaN kept.
    let inline relu (x: ^T) : ^T = reluWith Unchecked.defaultof<RealOps> x
    /// The value of x as a float (its primal for a TapeReal).
    let inline value (x: ^T) : float = float x
    /// The larger of a and b, a when a is NaN (the CPU kernels' rule).
    let inline tmax (a: ^T) (b: ^T) : ^T = if Double.IsNaN(float a) || float a >= float b then a else b
    /// The smaller of a and b, a when a is NaN.
    let inline tmin (a: ^T) (b: ^T) : ^T = if Double.IsNaN(float a) || float a <= float b then a else b

/// Arithmetic operators restricted to operands and result of one type, opened by the kernels that are generic over
/// float and TapeReal: every intermediate of an inline generic expression then has the kernel's scalar type
/// (integer index arithmetic is unaffected).
module HomogeneousArithmetic =
    /// a + b with a, b and the result of one type.
    let inline (+) (a: ^T) (b: ^T) : ^T = Operators.(+) a b
    /// a - b with a, b and the result of one type.
    let inline (-) (a: ^T) (b: ^T) : ^T = Operators.(-) a b
    /// a * b with a, b and the result of one type.
    let inline (*) (a: ^T) (b: ^T) : ^T = Operators.(*) a b
    /// a / b with a, b and the result of one type.
    let inline (/) (a: ^T) (b: ^T) : ^T = Operators.(/) a b
    /// -a of the same type.
    let inline (~-) (a: ^T) : ^T = Operators.(~-) a
