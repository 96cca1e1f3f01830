namespace Genesis

open System
open System.Collections.Generic

/// Nesting tags: each differentiation gets a fresh, larger tag; the largest tag among an op's inputs is the
/// perturbation being differentiated, so nested derivatives never confuse one another. Tag 0 is the imperative
/// (requiresGrad / backward) level, below every functional derivative.
module internal Tags =
    let mutable private counter = 0L
    /// The imperative tag shared by every requiresGrad leaf.
    let imperative = 0L
    /// A fresh tag larger than every tag handed out before.
    let next () = Threading.Interlocked.Increment(&counter)

/// A small cache of scalar raw tensors: operands such as `x * 0.9` and the constants of derivative rules are
/// created on every op, and a recorded graph keeps them alive. Raw tensors are immutable, so sharing them is safe;
/// entries are immutable objects, so a race costs only a miss.
module internal ScalarRaws =
    /// One cached scalar: its backend, dtype, value bits and raw tensor.
    [<Sealed; AllowNullLiteral>]
    type Entry(backend: IRawBackend, dtype: DType, bits: int64, raw: RawTensor) =
        /// The backend the raw tensor lives on.
        member _.Backend = backend
        /// The exact dtype.
        member _.DType = dtype
        /// The value's IEEE bits (so that -0.0 and NaN payloads are told apart).
        member _.Bits = bits
        /// The shared scalar raw tensor.
        member _.Raw = raw

    let private entries: Entry[] = Array.zeroCreate 256

    /// The scalar raw tensor of value v, dtype and backend (cached by value bits).
    let get (backend: IRawBackend) (dtype: DType) (v: float) : RawTensor =
        let bits = BitConverter.DoubleToInt64Bits v
        let i = int ((uint64 bits * 0x9E3779B97F4A7C15UL) >>> 56) ^^^ (dtype.SizeInBytes <<< 3)
        let e = entries[i]
        if not (isNull e) && obj.ReferenceEquals(e.Backend, backend) && e.Bits = bits && e.DType = dtype then e.Raw
        else
            let raw = backend.Full([||], dtype, v)
            entries[i] <- Entry(backend, dtype, bits, raw)
            raw

/// A differentiable tensor (genesis.Tensor / DiffSharp semantics). Its node is a constant raw tensor, a forward
/// (primal, tangent, tag) or a reverse (primal, reverse node, tag) value; `scene` is the owning Scene or null.
[<AllowNullLiteral; Sealed>]
type Tensor internal (node: TensorNode, scene: obj) =
    let mutable node = node
    // Cached from the node, because every op reads them (a match on the node is a type test): the constant raw
    // tensor at the bottom of the nesting, the nesting tag (-1 for a constant) and the kind (0 constant,
    // 1 forward, 2 reverse).
    let mutable rawCache = Tensor.RawOf node
    let mutable tag = Tensor.TagOf node
    let mutable kind = Tensor.KindOf node

    static member private RawOf(n: TensorNode) : RawTensor =
        match n with
        | TConst r -> r
        | TFwd(p, _, _) | TRev(p, _, _) -> p.raw

    static member private TagOf(n: TensorNode) =
        match n with
        | TConst _ -> -1L
        | TFwd(_, _, t) | TRev(_, _, t) -> t

    static member private KindOf(n: TensorNode) =
        match n with
        | TConst _ -> 0
        | TFwd _ -> 1
        | TRev _ -> 2

    member internal _.Node
        with get () = node
        and set v =
            node <- v
            rawCache <- Tensor.RawOf v
            tag <- Tensor.TagOf v
            kind <- Tensor.KindOf v

    /// The Scene this tensor derives from, or null when it was not produced by a scene.
    member _.scene = scene

    /// The constant raw tensor at the bottom of the nesting.
    member t.raw: RawTensor = rawCache

    /// The shape.
    member t.shape: int[] = t.raw.Shape
    /// The exact dtype.
    member t.dtype: DType = t.raw.DType
    /// The device the storage lives on.
    member t.device: Device = t.raw.Device
    /// The number of dimensions.
    member t.dim: int = t.raw.Rank
    /// The number of elements.
    member t.numel: int = t.raw.Numel

    /// The nesting tag of a differentiable tensor (None for a constant).
    member internal _.Tag = if tag < 0L then None else Some tag

    /// The nesting tag, -1 for a constant (no allocation, for the hot paths).
    member internal _.TagValue = tag

    /// The value one nesting level down (the tensor itself for a constant).
    member t.primal: Tensor =
        match node with
        | TConst _ -> t
        | TFwd(p, _, _) | TRev(p, _, _) -> p

    /// The value with every nesting level removed (a constant).
    member t.primalDeep: Tensor =
        match node with
        | TConst _ -> t
        | _ -> Tensor(TConst t.raw, scene)

    /// The tangent of a forward-mode tensor (null otherwise).
    member _.tangent: Tensor =
        match node with
        | TFwd(_, d, _) -> d
        | _ -> null

    /// True for a constant (not differentiated) tensor.
    member _.isConstant = kind = 0
    /// True for a forward-mode tensor.
    member _.isForward = kind = 1
    /// True for a reverse-mode tensor.
    member _.isReverse = kind = 2

    /// True for a tensor created with requiresGrad (a leaf whose grad backward() fills).
    member _.isLeaf =
        match node with
        | TRev(_, r, _) -> isNull r.Op
        | _ -> true

    /// True when backward() will compute a gradient for (or through) this tensor.
    member _.requiresGrad =
        match node with
        | TRev(_, _, tag) -> tag = Tags.imperative
        | _ -> false

    /// The gradient accumulated by backward() on a requiresGrad leaf, or null.
    member _.grad: Tensor =
        match node with
        | TRev(_, r, _) -> r.Grad
        | _ -> null

    /// Clears the accumulated gradient (genesis zero_grad).
    member _.zeroGrad() =
        match node with
        | TRev(_, r, _) -> r.Grad <- null
        | _ -> ()

    /// Turns a constant tensor into a requiresGrad leaf in place (PyTorch requires_grad_()).
    member t.requiresGrad_() : Tensor =
        match node with
        | TConst _ ->
            if not t.dtype.IsFloating then
                raise (GenesisException(sprintf "only float tensors can require gradients, got %O" t.dtype))
            t.Node <- TRev(Tensor(node, null), ReverseNode(null, [||]), Tags.imperative)
            t
        | TRev(_, _, tag) when tag = Tags.imperative -> t
        | _ -> raise (GenesisException "requiresGrad_ is only allowed on a constant tensor")

    /// Overwrites the values of a leaf or constant in place (PyTorch copy_ under no_grad): identity, requiresGrad and grad are kept.
    member t.copy_(source: Tensor) : Tensor =
        if source.shape <> t.shape then
            raise (GenesisException(sprintf "copy_: source shape %s does not match %s" (Shape.format source.shape) (Shape.format t.shape)))
        let raw = if source.dtype = t.dtype then source.raw else source.raw.Cast t.dtype
        match node with
        | TConst _ -> t.Node <- TConst raw
        | TRev(_, r, tag) when isNull r.Op -> t.Node <- TRev(Tensor(TConst raw, null), r, tag)
        | _ -> raise (GenesisException "copy_ is only allowed on leaves and constants (not on results of differentiable ops)")
        t

    /// A constant copy cut from the graph (same scene unless sceneless).
    member t.detach(?sceneless: bool) =
        Tensor(TConst t.raw, (if defaultArg sceneless false then null else scene))

    /// The same tensor without its scene (graph kept).
    member t.sceneless() = Tensor(node, null)

    /// The same node with another scene.
    member internal t.WithScene(s: obj) = if Object.ReferenceEquals(s, scene) then t else Tensor(node, s)

    /// Throws unless storage is contiguous row-major (every tensor of these backends is).
    member t.assertContiguous() =
        if not t.raw.IsContiguous then
            raise (GenesisException(sprintf "tensor of shape %s is not contiguous" (Shape.format t.shape)))

    /// The elements as a flat host array of the dtype's .NET type.
    member t.toFlatArray() : Array = t.raw.ToHostArray()

    /// The elements converted to a flat float[] (row-major).
    member t.toFloatArray() : float[] = RawTensor.toFloatArray t.raw

    /// The single element of a one-element tensor as float.
    member t.item() : float =
        if t.numel <> 1 then
            raise (GenesisException(sprintf "item() needs exactly one element, tensor has shape %s" (Shape.format t.shape)))
        (t.toFloatArray())[0]

    /// Prints like PyTorch: tensor([...], dtype=...).
    override t.ToString() = TensorFormat.format t.shape t.dtype (t.toFloatArray()) (t.isReverse && t.requiresGrad)

/// The three kinds of tensor: constant, forward (primal, tangent, tag), reverse (primal, node, tag).
and internal TensorNode =
    | TConst of RawTensor
    | TFwd of primal: Tensor * tangent: Tensor * tag: int64
    | TRev of primal: Tensor * node: ReverseNode * tag: int64

/// The reverse-mode record of one op application: the op, its inputs, and the adjoint being accumulated.
and [<AllowNullLiteral>] internal ReverseNode(op: Op, inputs: Tensor[]) =
    /// The op that produced this value (null for a leaf).
    member _.Op = op
    /// The inputs as the op received them.
    member _.Inputs = inputs
    /// The adjoint accumulated during a reverse pass.
    member val Adjoint: Tensor = null with get, set
    /// The gradient accumulated on an imperative leaf.
    member val Grad: Tensor = null with get, set
    /// Set when an imperative backward pass has run through this node.
    member val Consumed = false with get, set
    /// The id of the last reverse pass that visited this node (its visited mark, cheaper than a hash set).
    member val VisitedBy = 0L with get, set
    /// Constant adjoints of boxes of this value (from slice ops) not yet added into Adjoint: (box starts, adjoint).
    member val PendingBoxes: System.Collections.Generic.List<struct (int[] * Tensor)> = null with get, set

/// An op whose output is the box [Starts, Starts + output shape) of its single input (slicing): the reverse pass
/// adds its constant adjoints into the input's adjoint in place instead of padding each to the full shape.
and internal IBoxSlice =
    /// Where the box starts in the input, per dimension.
    abstract Starts: int[]

/// An operation, defined once: its primal on raw tensors, its JVP and its VJP. `inputs` are the operands one
/// nesting level down (the active ones stripped to their primals), `result` the primal result.
and [<AbstractClass; AllowNullLiteral>] Op() =
    /// A short name for messages.
    abstract Name: string
    /// Computes the value on raw tensors.
    abstract Forward: RawTensor[] -> RawTensor
    /// The contribution of input i's tangent to the result's tangent.
    abstract Jvp: inputs: Tensor[] * result: Tensor * i: int * tangent: Tensor -> Tensor
    /// The contribution of the result's adjoint to input i's adjoint.
    abstract Vjp: inputs: Tensor[] * result: Tensor * i: int * adjoint: Tensor -> Tensor
    /// False for ops whose result is not differentiable (comparisons, argmax): the result is a constant.
    abstract IsDifferentiable: bool
    default _.IsDifferentiable = true
    /// False for inputs that carry no derivative (indices, masks).
    abstract Differentiates: int -> bool
    default _.Differentiates _ = true

/// Formatting of tensor values.
and internal TensorFormat =
    static member format (shape: int[]) (dtype: DType) (values: float[]) (requiresGrad: bool) =
        let fmt (v: float) =
            match dtype with
            | DType.Bool -> if v <> 0.0 then "True" else "False"
            | DType.Int32 | DType.Int64 | DType.UInt8 -> sprintf "%d" (int64 v)
            | _ ->
                if Double.IsNaN v then "nan"
                elif Double.IsPositiveInfinity v then "inf"
                elif Double.IsNegativeInfinity v then "-inf"
                else v.ToString("0.0000##", Globalization.CultureInfo.InvariantCulture)
        let rec go (dim: int) (offset: int) =
            if dim = shape.Length then fmt values[offset]
            else
                let stride = Shape.numel shape[dim + 1 ..]
                let n = shape[dim]
                let items =
                    if n > 12 then
                        [ for i in 0 .. 2 -> go (dim + 1) (offset + i * stride) ] @ [ "..." ] @ [ for i in n - 3 .. n - 1 -> go (dim + 1) (offset + i * stride) ]
                    else [ for i in 0 .. n - 1 -> go (dim + 1) (offset + i * stride) ]
                let sep = if dim = shape.Length - 1 then ", " else ",\n" + String(' ', dim + 8)
                "[" + String.Join(sep, items) + "]"
        let body = if values.Length = 0 then "[]" else go 0 0
        let extras =
            [ if dtype <> DType.Float32 && dtype <> DType.Int64 && dtype <> DType.Bool then sprintf "dtype=%O" dtype
              if requiresGrad then "requiresGrad=true" ]
        if extras.IsEmpty then sprintf "tensor(%s)" body else sprintf "tensor(%s, %s)" body (String.Join(", ", extras))

/// Applies ops to tensors at any nesting level: the largest tag among the inputs is differentiated, inputs with
/// smaller tags are constants at that level (this is what prevents perturbation confusion).
and [<AbstractClass; Sealed>] Apply =
    /// Primal kernels run so far (a diagnostic for profiling op counts; not synchronised across threads).
    static member val OpsRun = 0L with get, set

    /// Depth of gs.noGrad scopes open on this thread: while > 0, ops record no imperative (requiresGrad) graph.
    [<ThreadStatic; DefaultValue>]
    static val mutable private noGradDepth: int

    /// Open gs.noGrad scopes on this thread (ops on requiresGrad tensors give constants while > 0).
    static member NoGradDepth
        with get () = Apply.noGradDepth
        and set (v: int) = Apply.noGradDepth <- v

    static member private sceneError () : unit =
        raise (GenesisException "Tensors not derived from the same Scene object: combining tensors of two different scenes is not allowed")

    /// The common scene of the inputs (null when none has one); raises when two differ.
    static member sceneOf (inputs: Tensor[]) : obj =
        let mutable s = null
        for x in inputs do
            if not (isNull x) && not (isNull x.scene) then
                if isNull s then s <- x.scene
                elif not (Object.ReferenceEquals(s, x.scene)) then Apply.sceneError ()
        s

    /// Applies an op whose shape fix-ups (broadcast tangents, unbroadcast adjoints) the caller supplies.
    static member internal applyWith (fixTangent: Tensor -> Tensor -> Tensor) (op: Op) (inputs: Tensor[]) : Tensor =
        let scene = Apply.sceneOf inputs
        let mutable maxTag = -1L
        for x in inputs do
            if x.TagValue > maxTag then maxTag <- x.TagValue
        if maxTag < 0L then
            Apply.OpsRun <- Apply.OpsRun + 1L
            let raws = inputs |> Array.map (fun x -> x.raw)
            Tensor(TConst(op.Forward raws), scene)
        elif maxTag = Tags.imperative && Apply.noGradDepth > 0 then
            // inside gs.noGrad: the imperative level is dropped, nothing is recorded
            (Apply.applyWith fixTangent op (inputs |> Array.map (fun x -> if x.TagValue = maxTag then x.primal else x))).WithScene scene
        else
            let isActive (x: Tensor) = x.TagValue = maxTag
            let mutable anyF = false
            let mutable anyR = false
            for x in inputs do
                if isActive x then
                    if x.isForward then anyF <- true
                    elif x.isReverse then anyR <- true
            if anyF && anyR then
                raise (GenesisException(sprintf "%s: cannot mix forward- and reverse-mode tensors at the same nesting level" op.Name))
            let prim = Array.zeroCreate inputs.Length
            for i in 0 .. inputs.Length - 1 do
                let x = inputs[i]
                prim[i] <- if x.TagValue = maxTag then x.primal else x
            let res = Apply.applyWith fixTangent op prim
            if not op.IsDifferentiable then res.WithScene scene
            elif anyF then
                let mutable tan: Tensor = null
                for i in 0 .. inputs.Length - 1 do
                    if isActive inputs[i] && op.Differentiates i then
                        let ti = fixTangent res (op.Jvp(prim, res, i, inputs[i].tangent))
                        tan <- if isNull tan then ti else Apply.add tan ti
                let tan = if isNull tan then Apply.zerosLike res else tan
                Tensor(TFwd(res, tan, maxTag), scene)
            else
                Tensor(TRev(res, ReverseNode(op, inputs), maxTag), scene)

    /// Broadcasts a tangent to the result's shape (the default fix-up of apply).
    static member private broadcastTangent (res: Tensor) (t: Tensor) =
        if Shape.equal t.shape res.shape then t else Apply.expand res.shape t

    /// Applies an op to inputs at any nesting level.
    static member apply (op: Op) (inputs: Tensor[]) : Tensor =
        Apply.applyWith Apply.broadcastTangent op inputs

    /// A constant of zeros shaped like t (same dtype, device; no scene).
    static member zerosLike (t: Tensor) = Tensor(TConst(t.raw.Backend.Zeros(t.shape, t.dtype)), null)

    /// A scalar constant of t's dtype and device.
    static member scalarLike (t: Tensor) (v: float) = Tensor(TConst(ScalarRaws.get t.raw.Backend t.dtype v), null)

    /// Broadcasts t to a shape (differentiable; the adjoint sums back).
    static member expand (shape: int[]) (t: Tensor) : Tensor =
        if Shape.equal t.shape shape then t
        elif not (Shape.canExpand t.shape shape) then
            raise (GenesisException(sprintf "expand: shape %s cannot be expanded to %s" (Shape.format t.shape) (Shape.format shape)))
        else Apply.apply (ExpandOp shape) [| t |]

    /// Sums t down to a shape it was broadcast from (the adjoint of broadcasting).
    static member sumToShape (shape: int[]) (t: Tensor) : Tensor =
        if Shape.equal t.shape shape then t
        else Apply.apply (SumToShapeOp shape) [| t |]

    /// Casts to an exact dtype (differentiable between float types).
    static member cast (dtype: DType) (t: Tensor) : Tensor =
        if t.dtype = dtype then t else Apply.apply (CastOp dtype) [| t |]

    /// Promotes two operands to a common dtype; raises when they are not promotable.
    static member promote (name: string) (a: Tensor) (b: Tensor) =
        if a.dtype = b.dtype then a, b
        else
            match DTypes.tryPromote a.dtype b.dtype with
            | Some d -> Apply.cast d a, Apply.cast d b
            | None ->
                raise (GenesisException(sprintf "%s: dtype mismatch %O and %O cannot be combined implicitly; cast one with .cast(DType.%s)" name a.dtype b.dtype (if a.dtype = DType.Float64 then "Float64" else "Float32")))

    /// Elementwise binary op with promotion and broadcasting.
    static member binary (kind: BinaryKind) (a: Tensor) (b: Tensor) : Tensor =
        if a.device <> b.device then
            raise (GenesisException(sprintf "%A: tensors on devices %O and %O cannot be mixed" kind a.device b.device))
        if a.dtype = DType.Bool || b.dtype = DType.Bool then
            raise (GenesisException(sprintf "%A is not defined for bool tensors (cast to a number type first)" kind))
        // the op name is formatted only when a promotion is needed (sprintf "%A" costs microseconds per call)
        let a, b = if a.dtype = b.dtype then a, b else Apply.promote (sprintf "%A" kind) a b
        if not (Shape.equal a.shape b.shape) then Shape.broadcast a.shape b.shape |> ignore
        let a, b =
            if (kind = BinaryKind.Div || kind = BinaryKind.Pow || kind = BinaryKind.Atan2) && not a.dtype.IsFloating then
                let f = if a.dtype = DType.Int64 then DType.Float64 else DType.Float32
                Apply.cast f a, Apply.cast f b
            else a, b
        let res = Apply.apply (BinaryOp kind) [| a; b |]
        res

    /// Elementwise unary op (ints are cast to float first, as PyTorch does for math functions).
    static member unary (kind: UnaryKind) (a: Tensor) : Tensor =
        let a =
            if a.dtype.IsFloating then a
            elif kind = UnaryKind.Neg || kind = UnaryKind.Abs then a
            elif a.dtype = DType.Bool then raise (GenesisException(sprintf "%A is not defined for bool tensors" kind))
            else Apply.cast (if a.dtype = DType.Int64 then DType.Float64 else DType.Float32) a
        if not a.dtype.IsFloating then
            // integer negation and abs through exact integer arithmetic
            match kind with
            | UnaryKind.Neg -> Apply.binary BinaryKind.Sub (Apply.zerosLike a) a
            | _ -> Apply.binary BinaryKind.Mul a (Apply.apply (UnaryOp UnaryKind.Sign) [| Apply.cast DType.Float64 a |] |> Apply.cast a.dtype)
        else Apply.apply (UnaryOp kind) [| a |]

    /// a + b.
    static member add a b = Apply.binary BinaryKind.Add a b
    /// a - b.
    static member sub a b = Apply.binary BinaryKind.Sub a b
    /// a * b.
    static member mul a b = Apply.binary BinaryKind.Mul a b
    /// a / b.
    static member div a b = Apply.binary BinaryKind.Div a b
    /// -a.
    static member neg a = Apply.unary UnaryKind.Neg a

    /// Elementwise comparison giving a bool tensor (not differentiable).
    static member compare (kind: CompareKind) (a: Tensor) (b: Tensor) : Tensor =
        if not (Shape.equal a.shape b.shape) then Shape.broadcast a.shape b.shape |> ignore
        Apply.apply (CompareOp kind) [| a; b |]

    /// cond ? a : b (broadcasting; differentiable in a and b).
    static member where (cond: Tensor) (a: Tensor) (b: Tensor) : Tensor =
        if cond.dtype <> DType.Bool then
            raise (GenesisException(sprintf "where: condition must be a bool tensor, got %O" cond.dtype))
        let a, b = Apply.promote "where" a b
        Shape.broadcast (Shape.broadcast cond.shape a.shape) b.shape |> ignore
        Apply.apply WhereOp.Instance [| cond; a; b |]

/// Elementwise unary ops; each derivative is written once as df/dx.
and internal UnaryOp(kind: UnaryKind) =
    inherit Op()
    /// df/dx at x, given f(x).
    member _.Deriv(x: Tensor, f: Tensor) : Tensor =
        let c v = Apply.scalarLike x v
        let u k t = Apply.unary k t
        match kind with
        | UnaryKind.Neg -> Apply.neg (Apply.add (Apply.zerosLike x) (c 1.0))
        | UnaryKind.Exp -> f
        | UnaryKind.Log -> Apply.div (c 1.0) x
        | UnaryKind.Sqrt -> Apply.div (c 0.5) f
        | UnaryKind.Abs -> u UnaryKind.Sign x
        | UnaryKind.Sign | UnaryKind.Floor | UnaryKind.Ceil | UnaryKind.Round -> Apply.zerosLike x
        | UnaryKind.Sin -> u UnaryKind.Cos x
        | UnaryKind.Cos -> Apply.neg (u UnaryKind.Sin x)
        | UnaryKind.Tan -> Apply.add (c 1.0) (Apply.mul f f)
        | UnaryKind.Tanh -> Apply.sub (c 1.0) (Apply.mul f f)
        | UnaryKind.Sigmoid -> Apply.mul f (Apply.sub (c 1.0) f)
        | UnaryKind.Relu -> Apply.cast x.dtype (Apply.compare CompareKind.Gt x (c 0.0))
        | UnaryKind.Softplus -> u UnaryKind.Sigmoid x
        | UnaryKind.Asin -> Apply.div (c 1.0) (u UnaryKind.Sqrt (Apply.sub (c 1.0) (Apply.mul x x)))
        | UnaryKind.Acos -> Apply.div (c -1.0) (u UnaryKind.Sqrt (Apply.sub (c 1.0) (Apply.mul x x)))
        | UnaryKind.Atan -> Apply.div (c 1.0) (Apply.add (c 1.0) (Apply.mul x x))
        | UnaryKind.Sinh -> u UnaryKind.Cosh x
        | UnaryKind.Cosh -> u UnaryKind.Sinh x
        | UnaryKind.Log1p -> Apply.div (c 1.0) (Apply.add (c 1.0) x)
        | UnaryKind.Expm1 -> Apply.add f (c 1.0)
    override _.Name = (sprintf "%A" kind).ToLowerInvariant()
    override _.Forward(raws) = raws[0].Unary kind
    override o.Jvp(inputs, res, _, tangent) = Apply.mul tangent (o.Deriv(inputs[0], res))
    override o.Vjp(inputs, res, _, adjoint) = Apply.mul adjoint (o.Deriv(inputs[0], res))

/// Elementwise binary ops with broadcasting; each partial derivative is written once.
and internal BinaryOp(kind: BinaryKind) =
    inherit Op()
    /// d f / d input_i given a, b and f (shaped to broadcast with the result).
    member _.Partial(a: Tensor, b: Tensor, f: Tensor, i: int) : Tensor =
        let c v = Apply.scalarLike a v
        match kind, i with
        | BinaryKind.Add, _ -> c 1.0
        | BinaryKind.Sub, 0 -> c 1.0
        | BinaryKind.Sub, _ -> c -1.0
        | BinaryKind.Mul, 0 -> b
        | BinaryKind.Mul, _ -> a
        | BinaryKind.Div, 0 -> Apply.div (c 1.0) b
        | BinaryKind.Div, _ -> Apply.neg (Apply.div f b)
        | BinaryKind.Pow, 0 ->
            // b * a^(b-1), written so that a = 0 with b >= 1 stays finite
            Apply.mul b (Apply.binary BinaryKind.Pow a (Apply.sub b (c 1.0)))
        | BinaryKind.Pow, _ ->
            // f * log a, taken as 0 where a = 0 (the limit for b > 0)
            let la = Apply.unary UnaryKind.Log a
            let safe = Apply.where (Apply.compare CompareKind.Eq a (c 0.0)) (Apply.zerosLike la) la
            Apply.mul f safe
        | BinaryKind.Max, 0 -> Apply.cast a.dtype (Apply.compare CompareKind.Ge a b) |> Apply.mul (Apply.add (Apply.zerosLike f) (c 1.0))
        | BinaryKind.Max, _ -> Apply.cast a.dtype (Apply.compare CompareKind.Lt a b) |> Apply.mul (Apply.add (Apply.zerosLike f) (c 1.0))
        | BinaryKind.Min, 0 -> Apply.cast a.dtype (Apply.compare CompareKind.Le a b) |> Apply.mul (Apply.add (Apply.zerosLike f) (c 1.0))
        | BinaryKind.Min, _ -> Apply.cast a.dtype (Apply.compare CompareKind.Gt a b) |> Apply.mul (Apply.add (Apply.zerosLike f) (c 1.0))
        | BinaryKind.Atan2, 0 -> Apply.div b (Apply.add (Apply.mul a a) (Apply.mul b b))
        | BinaryKind.Atan2, _ -> Apply.neg (Apply.div a (Apply.add (Apply.mul a a) (Apply.mul b b)))
    override _.Name = (sprintf "%A" kind).ToLowerInvariant()
    override _.Forward(raws) = raws[0].Binary(kind, raws[1])
    override o.Jvp(inputs, res, i, tangent) =
        match kind, i with
        | BinaryKind.Add, _ | BinaryKind.Sub, 0 -> tangent
        | BinaryKind.Sub, _ -> Apply.neg tangent
        | _ -> Apply.mul tangent (o.Partial(inputs[0], inputs[1], res, i))
    override o.Vjp(inputs, res, i, adjoint) =
        let g =
            match kind, i with
            | BinaryKind.Add, _ | BinaryKind.Sub, 0 -> adjoint
            | BinaryKind.Sub, _ -> Apply.neg adjoint
            | _ -> Apply.mul adjoint (o.Partial(inputs[0], inputs[1], res, i))
        Apply.sumToShape inputs[i].shape g

/// Elementwise comparison (a constant bool result).
and internal CompareOp(kind: CompareKind) =
    inherit Op()
    override _.Name = (sprintf "%A" kind).ToLowerInvariant()
    override _.IsDifferentiable = false
    override _.Forward(raws) = raws[0].Compare(kind, raws[1])
    override _.Jvp(_, _, _, _) = invalidOp "comparisons have no derivative"
    override _.Vjp(_, _, _, _) = invalidOp "comparisons have no derivative"

/// cond ? a : b.
and internal WhereOp private () =
    inherit Op()
    static member val Instance = WhereOp()
    override _.Name = "where"
    override _.Differentiates i = i > 0
    override _.Forward(raws) = raws[1].Where(raws[0], raws[2])
    override _.Jvp(inputs, res, i, tangent) =
        let z = Apply.zerosLike res
        if i = 1 then Apply.where inputs[0] (Apply.expand res.shape tangent) z
        else Apply.where inputs[0] z (Apply.expand res.shape tangent)
    override _.Vjp(inputs, _, i, adjoint) =
        let z = Apply.zerosLike adjoint
        let g = if i = 1 then Apply.where inputs[0] adjoint z else Apply.where inputs[0] z adjoint
        Apply.sumToShape inputs[i].shape g

/// Broadcast to a larger shape.
and internal ExpandOp(shape: int[]) =
    inherit Op()
    override _.Name = "expand"
    override _.Forward(raws) = raws[0].Expand shape
    override _.Jvp(_, _, _, tangent) = Apply.expand shape tangent
    override _.Vjp(inputs, _, _, adjoint) = Apply.sumToShape inputs[0].shape adjoint

/// Sum a broadcast tensor back down to the shape it was broadcast from.
and internal SumToShapeOp(shape: int[]) =
    inherit Op()
    override _.Name = "sumToShape"
    override _.Forward(raws) =
        let src = raws[0].Shape
        let lead = src.Length - shape.Length
        let dims = [| for d in 0 .. src.Length - 1 do if d < lead || (shape[d - lead] = 1 && src[d] <> 1) then d |]
        let r = raws[0].Reduce(ReduceKind.Sum, dims, true)
        r.Reshape shape
    override _.Jvp(_, _, _, tangent) = Apply.sumToShape shape tangent
    override _.Vjp(inputs, _, _, adjoint) = Apply.expand inputs[0].shape adjoint

/// Conversion between dtypes.
and internal CastOp(dtype: DType) =
    inherit Op()
    override _.Name = "cast"
    override _.IsDifferentiable = dtype.IsFloating
    override _.Forward(raws) = raws[0].Cast dtype
    override _.Jvp(_, _, _, tangent) = Apply.cast dtype tangent
    override _.Vjp(inputs, _, _, adjoint) = Apply.cast inputs[0].dtype adjoint

/// Operators and elementwise members (intrinsic, so F# operator resolution sees them).
type Tensor with
    /// A scalar constant matching t (a non-integral value with an int tensor gives a float scalar; an integer outside
    /// 0..255 with a uint8 tensor gives an int64 scalar, so that uint8 + 300 is the int64 301, not an overflow).
    static member internal Scalar(t: Tensor, v: float) =
        if t.dtype.IsIntegral && Math.Round v <> v then
            Tensor(TConst(ScalarRaws.get t.raw.Backend (if t.dtype = DType.Int64 then DType.Float64 else DType.Float32) v), null)
        elif t.dtype = DType.UInt8 && not (v >= 0.0 && v <= 255.0) then
            Tensor(TConst(ScalarRaws.get t.raw.Backend DType.Int64 v), null)
        else Apply.scalarLike t v

    /// A constant from row-major float values, with another tensor's dtype and device (and no scene).
    static member Constant(like: Tensor, values: float[], shape: int[]) =
        let raw = like.raw.Backend.FromHostArray(values, shape)
        Tensor(TConst(if like.dtype.IsFloating then raw.Cast like.dtype else raw), null)

    /// Elementwise sum with broadcasting.
    static member (+)(a: Tensor, b: Tensor) = Apply.add a b
    /// Adds a scalar.
    static member (+)(a: Tensor, b: float) = Apply.add a (Tensor.Scalar(a, b))
    /// Adds to a scalar.
    static member (+)(a: float, b: Tensor) = Apply.add (Tensor.Scalar(b, a)) b
    /// Elementwise difference with broadcasting.
    static member (-)(a: Tensor, b: Tensor) = Apply.sub a b
    /// Subtracts a scalar.
    static member (-)(a: Tensor, b: float) = Apply.sub a (Tensor.Scalar(a, b))
    /// Subtracts from a scalar.
    static member (-)(a: float, b: Tensor) = Apply.sub (Tensor.Scalar(b, a)) b
    /// Elementwise product with broadcasting.
    static member (*)(a: Tensor, b: Tensor) = Apply.mul a b
    /// Multiplies by a scalar.
    static member (*)(a: Tensor, b: float) = Apply.mul a (Tensor.Scalar(a, b))
    /// Multiplies a scalar.
    static member (*)(a: float, b: Tensor) = Apply.mul (Tensor.Scalar(b, a)) b
    /// Elementwise true division with broadcasting (ints give floats).
    static member (/)(a: Tensor, b: Tensor) = Apply.div a b
    /// Divides by a scalar.
    static member (/)(a: Tensor, b: float) = Apply.div a (Tensor.Scalar(a, b))
    /// Divides a scalar.
    static member (/)(a: float, b: Tensor) = Apply.div (Tensor.Scalar(b, a)) b
    /// Elementwise negation.
    static member (~-)(a: Tensor) = Apply.neg a
    /// Elementwise power a ** b.
    static member Pow(a: Tensor, b: Tensor) = Apply.binary BinaryKind.Pow a b
    /// Elementwise power a ** b with a scalar exponent.
    static member Pow(a: Tensor, b: float) = Apply.binary BinaryKind.Pow a (Tensor.Scalar(a, b))
    /// Elementwise power of a scalar base.
    static member Pow(a: float, b: Tensor) = Apply.binary BinaryKind.Pow (Tensor.Scalar(b, a)) b

    /// Elementwise a ** b.
    member a.pow(b: Tensor) = Apply.binary BinaryKind.Pow a b
    /// Elementwise a ** b with a scalar exponent.
    member a.pow(b: float) = Apply.binary BinaryKind.Pow a (Tensor.Scalar(a, b))
    /// Elementwise a + b.
    member a.add(b: Tensor) = Apply.add a b
    /// Elementwise a - b.
    member a.sub(b: Tensor) = Apply.sub a b
    /// Elementwise a * b.
    member a.mul(b: Tensor) = Apply.mul a b
    /// Elementwise a / b.
    member a.div(b: Tensor) = Apply.div a b
    /// Elementwise -a.
    member a.neg() = Apply.neg a
    /// Elementwise e^a.
    member a.exp() = Apply.unary UnaryKind.Exp a
    /// Elementwise natural logarithm.
    member a.log() = Apply.unary UnaryKind.Log a
    /// Elementwise square root.
    member a.sqrt() = Apply.unary UnaryKind.Sqrt a
    /// Elementwise |a|.
    member a.abs() = Apply.unary UnaryKind.Abs a
    /// Elementwise sign (-1, 0, 1; derivative 0).
    member a.sign() = Apply.unary UnaryKind.Sign a
    /// Elementwise sine.
    member a.sin() = Apply.unary UnaryKind.Sin a
    /// Elementwise cosine.
    member a.cos() = Apply.unary UnaryKind.Cos a
    /// Elementwise tangent.
    member a.tan() = Apply.unary UnaryKind.Tan a
    /// Elementwise hyperbolic tangent.
    member a.tanh() = Apply.unary UnaryKind.Tanh a
    /// Elementwise hyperbolic sine.
    member a.sinh() = Apply.unary UnaryKind.Sinh a
    /// Elementwise hyperbolic cosine.
    member a.cosh() = Apply.unary UnaryKind.Cosh a
    /// Elementwise arcsine.
    member a.asin() = Apply.unary UnaryKind.Asin a
    /// Elementwise arccosine.
    member a.acos() = Apply.unary UnaryKind.Acos a
    /// Elementwise arctangent.
    member a.atan() = Apply.unary UnaryKind.Atan a
    /// Elementwise atan2(a, b).
    member a.atan2(b: Tensor) = Apply.binary BinaryKind.Atan2 a b
    /// Elementwise logistic sigmoid 1 / (1 + e^-a).
    member a.sigmoid() = Apply.unary UnaryKind.Sigmoid a
    /// Elementwise max(a, 0).
    member a.relu() = Apply.unary UnaryKind.Relu a
    /// Elementwise log(1 + e^a), computed stably.
    member a.softplus() = Apply.unary UnaryKind.Softplus a
    /// Elementwise log(1 + a).
    member a.log1p() = Apply.unary UnaryKind.Log1p a
    /// Elementwise e^a - 1.
    member a.expm1() = Apply.unary UnaryKind.Expm1 a
    /// Elementwise floor (derivative 0).
    member a.floor() = Apply.unary UnaryKind.Floor a
    /// Elementwise ceiling (derivative 0).
    member a.ceil() = Apply.unary UnaryKind.Ceil a
    /// Elementwise rounding to nearest even (derivative 0).
    member a.round() = Apply.unary UnaryKind.Round a
    /// Elementwise max(a, b) (gradient to a on ties).
    member a.maximum(b: Tensor) = Apply.binary BinaryKind.Max a b
    /// Elementwise min(a, b) (gradient to a on ties).
    member a.minimum(b: Tensor) = Apply.binary BinaryKind.Min a b
    /// Elementwise clamp to [min, max] (either bound optional; gradient 1 inside, 0 outside).
    member a.clamp(?min: float, ?max: float) =
        let lo = match min with Some m -> Apply.binary BinaryKind.Max a (Tensor.Scalar(a, m)) | None -> a
        match max with Some m -> Apply.binary BinaryKind.Min lo (Tensor.Scalar(a, m)) | None -> lo
    /// Converts to an exact dtype.
    member a.cast(dtype: DType) =
        if dtype.IsFamily then raise (GenesisException "cast needs an exact dtype (Float32, Float64, Int32, Int64, Bool)")
        Apply.cast dtype a
    /// Elementwise a == b (bool).
    member a.eq(b: Tensor) = Apply.compare CompareKind.Eq a b
    /// Elementwise a != b (bool).
    member a.ne(b: Tensor) = Apply.compare CompareKind.Ne a b
    /// Elementwise a < b (bool).
    member a.lt(b: Tensor) = Apply.compare CompareKind.Lt a b
    /// Elementwise a <= b (bool).
    member a.le(b: Tensor) = Apply.compare CompareKind.Le a b
    /// Elementwise a > b (bool).
    member a.gt(b: Tensor) = Apply.compare CompareKind.Gt a b
    /// Elementwise a >= b (bool).
    member a.ge(b: Tensor) = Apply.compare CompareKind.Ge a b
    /// Elementwise a == b with a scalar (bool).
    member a.eq(b: float) = Apply.compare CompareKind.Eq a (Tensor.Scalar(a, b))
    /// Elementwise a != b with a scalar (bool).
    member a.ne(b: float) = Apply.compare CompareKind.Ne a (Tensor.Scalar(a, b))
    /// Elementwise a < b with a scalar (bool).
    member a.lt(b: float) = Apply.compare CompareKind.Lt a (Tensor.Scalar(a, b))
    /// Elementwise a <= b with a scalar (bool).
    member a.le(b: float) = Apply.compare CompareKind.Le a (Tensor.Scalar(a, b))
    /// Elementwise a > b with a scalar (bool).
    member a.gt(b: float) = Apply.compare CompareKind.Gt a (Tensor.Scalar(a, b))
    /// Elementwise a >= b with a scalar (bool).
    member a.ge(b: float) = Apply.compare CompareKind.Ge a (Tensor.Scalar(a, b))
    /// cond ? a : b elementwise.
    static member where(cond: Tensor, a: Tensor, b: Tensor) = Apply.where cond a b
