namespace Genesis

open System
open System.Runtime.CompilerServices

/// A stage of a computation recorded on a ScalarTape as one block (a hand-written adjoint): its outputs are new leaf
/// entries recorded after the block, and the sweep calls Backward once their adjoints are complete.
[<AbstractClass>]
type TapeBlock() =
    /// Adds into adj (indexed by id - 1) the adjoints of the block's inputs, from those of its outputs.
    abstract Backward: adj: float[] -> unit

/// A Wengert list of scalar operations (one per thread): entry k names its parents and the partial derivative on each
/// edge (edges offsets[k] .. offsets[k + 1] - 1 of two flat arrays; constant parents are not stored), so a reverse
/// sweep over preallocated arrays gives every adjoint without allocation. An entry may have any number of parents:
/// a dot product of n pairs is one entry with up to 2n edges instead of 2n - 1 binary entries. The physics fast path
/// runs on TapeReal values to record a segment of steps for its vector-Jacobian product.
[<Sealed; AllowNullLiteral>]
type ScalarTape() =
    let mutable count = 0
    let mutable edges = 0
    let mutable offsets: int[] = Array.zeroCreate 4097
    let mutable parents: int[] = Array.zeroCreate 8192
    let mutable partials: float[] = Array.zeroCreate 8192
    let mutable adjoints: float[] = Array.zeroCreate 4096
    let mutable nBlocks = 0
    let mutable blockAt: int[] = Array.zeroCreate 64
    let mutable blockOf: TapeBlock[] = Array.zeroCreate 64

    [<ThreadStatic; DefaultValue>]
    static val mutable private current: ScalarTape

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    static member private Create() =
        let fresh = ScalarTape()
        ScalarTape.current <- fresh
        fresh

    /// The tape of the calling thread (created on first use).
    static member Current =
        let t = ScalarTape.current
        if isNull t then ScalarTape.Create() else t

    [<MethodImpl(MethodImplOptions.NoInlining)>]
    member private _.Grow(moreEdges: int) =
        if count + 2 > offsets.Length then Array.Resize(&offsets, offsets.Length * 2)
        if edges + moreEdges > parents.Length then
            let size = max (parents.Length * 2) (edges + moreEdges)
            Array.Resize(&parents, size)
            Array.Resize(&partials, size)

    /// Entries recorded since the last Clear.
    member _.Count = count

    /// Edges (non-constant parents) recorded since the last Clear.
    member _.EdgeCount = edges

    /// Forgets every entry (the arrays are kept for the next recording).
    member _.Clear() =
        count <- 0
        edges <- 0
        Array.Clear(blockOf, 0, nBlocks)
        nBlocks <- 0

    /// Records block b: its outputs are the leaves recorded next (Leaf), and the sweep calls b.Backward after
    /// their adjoints are complete (before any entry recorded earlier).
    member t.Block(b: TapeBlock) =
        if nBlocks = blockAt.Length then
            Array.Resize(&blockAt, nBlocks * 2)
            Array.Resize(&blockOf, nBlocks * 2)
        blockAt[nBlocks] <- t.Push(0, 0.0, 0, 0.0) - 1
        blockOf[nBlocks] <- b
        nBlocks <- nBlocks + 1

    /// Records a node with parents p1, p2 (ids, 0 = none) and the partials d1, d2; returns its id (index + 1).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member t.Push(p1: int, d1: float, p2: int, d2: float) =
        let c = count
        if c + 2 > offsets.Length || edges + 2 > parents.Length then t.Grow 2
        let mutable e = edges
        if p1 > 0 then
            parents[e] <- p1
            partials[e] <- d1
            e <- e + 1
        if p2 > 0 then
            parents[e] <- p2
            partials[e] <- d2
            e <- e + 1
        edges <- e
        count <- c + 1
        offsets[c + 1] <- e
        c + 1

    /// Starts an entry with up to maxEdges parents (add them with Edge, then Close).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member t.Open(maxEdges: int) = if count + 2 > offsets.Length || edges + maxEdges > parents.Length then t.Grow maxEdges

    /// Adds parent id (ignored when 0, a constant) with partial d to the entry being recorded.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member _.Edge(id: int, d: float) =
        if id > 0 then
            let e = edges
            parents[e] <- id
            partials[e] <- d
            edges <- e + 1

    /// Ends the entry opened by Open: its id, or 0 (a constant, nothing recorded) when it has no parent.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member _.Close() =
        let c = count
        if edges = offsets[c] then 0
        else
            count <- c + 1
            offsets[c + 1] <- edges
            c + 1

    /// A new independent variable (a leaf without parents); returns its id.
    member t.Leaf() = t.Push(0, 0.0, 0, 0.0)

    /// Zeroes the adjoints of every entry; then Seed the outputs, Sweep, and read the inputs with Adjoint.
    member _.ResetAdjoints() =
        if adjoints.Length < count then adjoints <- Array.zeroCreate (offsets.Length - 1)
        else Array.Clear(adjoints, 0, count)

    /// Adds g to the adjoint of entry id (ignored for constants, id 0).
    member _.Seed(id: int, g: float) = if id > 0 then adjoints[id - 1] <- adjoints[id - 1] + g

    /// The adjoint of entry id after Sweep (0 for constants).
    member _.Adjoint(id: int) = if id > 0 then adjoints[id - 1] else 0.0

    /// Propagates the adjoints of entries hi down to lo.
    member private _.SweepRange(hi: int, lo: int) =
        let adj = adjoints
        let off = offsets
        let ps = parents
        let ds = partials
        for k in hi .. -1 .. lo do
            let g = adj[k]
            if g <> 0.0 then
                for e in off[k] .. off[k + 1] - 1 do
                    let a = ps[e] - 1
                    adj[a] <- adj[a] + ds[e] * g

    /// Propagates the seeded adjoints from the last entry to the first (blocks through their Backward).
    member t.Sweep() =
        let mutable top = count - 1
        for b in nBlocks - 1 .. -1 .. 0 do
            let at = blockAt[b]
            t.SweepRange(top, at + 1)
            blockOf[b].Backward adjoints
            top <- at - 1
        t.SweepRange(top, 0)

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
    /// a[ao] b[bo] + a[ao + sa] b[bo + sb] + a[ao + 2 sa] b[bo + 2 sb], summed left to right.
    static member inline Dot3(a: float[], ao: int, sa: int, b: float[], bo: int, sb: int) =
        a[ao] * b[bo] + a[ao + sa] * b[bo + sb] + a[ao + 2 * sa] * b[bo + 2 * sb]
    /// The same on the tape: one entry with an edge per non-constant factor.
    static member Dot3(a: TapeReal[], ao: int, sa: int, b: TapeReal[], bo: int, sb: int) =
        let a0, a1, a2 = a[ao], a[ao + sa], a[ao + 2 * sa]
        let b0, b1, b2 = b[bo], b[bo + sb], b[bo + 2 * sb]
        let v = a0.v * b0.v + a1.v * b1.v + a2.v * b2.v
        if (a0.id ||| a1.id ||| a2.id ||| b0.id ||| b1.id ||| b2.id) = 0 then TapeReal(v, 0)
        else
            let t = ScalarTape.Current
            t.Open 6
            t.Edge(a0.id, b0.v)
            t.Edge(b0.id, a0.v)
            t.Edge(a1.id, b1.v)
            t.Edge(b1.id, a1.v)
            t.Edge(a2.id, b2.v)
            t.Edge(b2.id, a2.v)
            TapeReal(v, t.Close())
    /// a[ao..ao+5] . b[bo..bo+5], summed left to right.
    static member inline Dot6(a: float[], ao: int, b: float[], bo: int) =
        a[ao] * b[bo] + a[ao + 1] * b[bo + 1] + a[ao + 2] * b[bo + 2] + a[ao + 3] * b[bo + 3] + a[ao + 4] * b[bo + 4] + a[ao + 5] * b[bo + 5]
    /// The same on the tape: one entry with an edge per non-constant factor.
    static member Dot6(a: TapeReal[], ao: int, b: TapeReal[], bo: int) =
        let mutable v = 0.0
        let mutable ids = 0
        for i in 0 .. 5 do
            let x, y = a[ao + i], b[bo + i]
            v <- (if i = 0 then x.v * y.v else v + x.v * y.v)
            ids <- ids ||| x.id ||| y.id
        if ids = 0 then TapeReal(v, 0)
        else
            let t = ScalarTape.Current
            t.Open 12
            for i in 0 .. 5 do
                let x, y = a[ao + i], b[bo + i]
                t.Edge(x.id, y.v)
                t.Edge(y.id, x.v)
            TapeReal(v, t.Close())
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
    let inline private dot3With (_: ^W) (a: ^T[]) (ao: int) (sa: int) (b: ^T[]) (bo: int) (sb: int) : ^T =
        ((^W or ^T): (static member Dot3: ^T[] * int * int * ^T[] * int * int -> ^T) (a, ao, sa, b, bo, sb))
    /// a[ao] b[bo] + a[ao + sa] b[bo + sb] + a[ao + 2 sa] b[bo + 2 sb] (one tape entry for TapeReal).
    let inline dot3 (a: ^T[]) (ao: int) (sa: int) (b: ^T[]) (bo: int) (sb: int) : ^T = dot3With Unchecked.defaultof<RealOps> a ao sa b bo sb
    let inline private dot6With (_: ^W) (a: ^T[]) (ao: int) (b: ^T[]) (bo: int) : ^T =
        ((^W or ^T): (static member Dot6: ^T[] * int * ^T[] * int -> ^T) (a, ao, b, bo))
    /// The dot product of the 6-vectors a[ao..] and b[bo..] (one tape entry for TapeReal).
    let inline dot6 (a: ^T[]) (ao: int) (b: ^T[]) (bo: int) : ^T = dot6With Unchecked.defaultof<RealOps> a ao b bo
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
