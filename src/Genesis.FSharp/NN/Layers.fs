namespace Genesis.NN

open System
open Genesis

/// Shape checks shared by the layers.
module internal LayerChecks =
    /// Raises unless x is [n] or [B; n], naming the layer, expected and actual shapes.
    let features (layer: string) (n: int) (x: Tensor) =
        let ok = (x.dim = 1 || x.dim = 2) && x.shape[x.dim - 1] = n
        if not ok then
            raise (GenesisException(sprintf "%s: expected input of shape [%d] or [B; %d], got %s" layer n n (Shape.format x.shape)))

    /// A new requiresGrad leaf [shape] of the gs float type from an initialiser ([rows; cols] fan convention).
    let leaf (init: Init) (shape: int[]) =
        let rows = shape[0]
        let cols = if shape.Length > 1 then shape[1] else 1
        gs.fromArray(Initializers.values init rows cols, shape = shape, requiresGrad = true)

/// y = x W^T + b (torch.nn.Linear): weight [outFeatures; inFeatures], bias [outFeatures].
type Linear(inFeatures: int, outFeatures: int, ?bias: bool, ?weightInit: Init, ?biasInit: Init) =
    inherit Module()
    do
        if inFeatures <= 0 || outFeatures <= 0 then
            raise (ArgumentException(sprintf "Linear: feature counts must be positive, got %d -> %d" inFeatures outFeatures))
    let w = LayerChecks.leaf (defaultArg weightInit GlorotUniform) [| outFeatures; inFeatures |]
    let biasT = if defaultArg bias true then Some(LayerChecks.leaf (defaultArg biasInit Zeros) [| outFeatures |]) else None
    /// The weight [outFeatures; inFeatures].
    member _.weight = w
    /// The bias [outFeatures] (null without bias).
    member _.bias = match biasT with Some b -> b | None -> null
    /// Input features.
    member _.inFeatures = inFeatures
    /// Output features.
    member _.outFeatures = outFeatures
    /// x W^T + b for x [B; in] or [in].
    override _.forward x =
        LayerChecks.features "Linear" inFeatures x
        let y = x.matmul(w.transpose(0, 1))
        match biasT with
        | Some b -> y + b
        | None -> y
    /// weight, then bias.
    override _.namedParameters() =
        match biasT with
        | Some b -> [| "weight", w; "bias", b |]
        | None -> [| "weight", w |]

/// Elementwise activations (a layer without parameters).
[<AbstractClass>]
type Activation() =
    inherit Module()
    /// No parameters.
    override _.namedParameters() = [||]

/// tanh(x).
type Tanh() =
    inherit Activation()
    /// tanh(x).
    override _.forward x = x.tanh()

/// max(x, 0).
type ReLU() =
    inherit Activation()
    /// max(x, 0).
    override _.forward x = x.relu()

/// x for x > 0, alpha (exp x - 1) otherwise.
type ELU(?alpha: float) =
    inherit Activation()
    let a = defaultArg alpha 1.0
    /// The negative-side scale.
    member _.alpha = a
    /// x for x > 0, alpha (exp x - 1) otherwise (exp of min(x, 0): no overflow in the branch not taken).
    override _.forward x = Tensor.where(x.gt(0.0), x, (x.clamp(max = 0.0).exp() - 1.0) * a)

/// log(1 + exp(beta x)) / beta.
type Softplus(?beta: float) =
    inherit Activation()
    let bt = defaultArg beta 1.0
    /// The sharpness.
    member _.beta = bt
    /// log(1 + exp(beta x)) / beta.
    override _.forward x = if bt = 1.0 then x.softplus() else (x * bt).softplus() / bt

/// 1 / (1 + exp(-x)).
type Sigmoid() =
    inherit Activation()
    /// 1 / (1 + exp(-x)).
    override _.forward x = x.sigmoid()

/// Layers applied in order (torch.nn.Sequential); parameter names are prefixed with the layer's index.
type Sequential(layers: seq<Module>) =
    inherit Module()
    let ls = Seq.toArray layers
    /// The layers.
    member _.layers = ls
    /// Applies every layer in turn.
    override _.forward x = ls |> Array.fold (fun y l -> l.forward y) x
    /// "i.name" for parameter name of layer i.
    override _.namedParameters() =
        ls |> Array.mapi (fun i l -> l.namedParameters() |> Array.map (fun (n, p) -> sprintf "%d.%s" i n, p)) |> Array.concat
    /// "i.name" for buffer name of layer i.
    override _.namedBuffers() =
        ls |> Array.mapi (fun i l -> l.namedBuffers() |> Array.map (fun (n, p) -> sprintf "%d.%s" i n, p)) |> Array.concat

/// A running normaliser of observations: (x - mean) / sqrt(var + eps), clipped to +-clip; mean and var are buffers
/// updated from batches (update) by the parallel-variance formula, not learned and not differentiated.
type ObsNormalizer(size: int, ?eps: float, ?clip: float) =
    inherit Module()
    let eps = defaultArg eps 1e-8
    let clip = defaultArg clip 10.0
    let mu = gs.zeros([ size ])
    let sigma2 = gs.ones([ size ])
    let n = gs.zeros([ 1 ])
    /// Running mean [size].
    member _.mean = mu
    /// Running variance [size].
    member _.var = sigma2
    /// Samples seen.
    member _.count = n.item()
    /// Folds a batch [B; size] (or [size]) into the running mean and variance (Chan et al.'s parallel update).
    member _.update(x: Tensor) =
        LayerChecks.features "ObsNormalizer.update" size x
        let v = x.detach(true).toFloatArray()
        let b = v.Length / size
        let n0 = n.item()
        let m0 = mu.toFloatArray()
        let s0 = sigma2.toFloatArray()
        let bm = Array.init size (fun j -> (Seq.init b (fun i -> v[i * size + j]) |> Seq.sum) / float b)
        let bv = Array.init size (fun j -> (Seq.init b (fun i -> (v[i * size + j] - bm[j]) ** 2.0) |> Seq.sum) / float b)
        let nn = n0 + float b
        let m = Array.init size (fun j -> m0[j] + (bm[j] - m0[j]) * float b / nn)
        let s =
            if n0 = 0.0 then bv
            else Array.init size (fun j -> (s0[j] * n0 + bv[j] * float b + (bm[j] - m0[j]) ** 2.0 * n0 * float b / nn) / nn)
        mu.copy_(gs.tensor(m)) |> ignore
        sigma2.copy_(gs.tensor(s)) |> ignore
        n.copy_(gs.tensor([| nn |])) |> ignore
    /// (x - mean) / sqrt(var + eps) clipped to +-clip (differentiable in x).
    override _.forward x =
        LayerChecks.features "ObsNormalizer" size x
        ((x - mu) / (sigma2 + eps).sqrt()).clamp(-clip, clip)
    /// No learnable parameters.
    override _.namedParameters() = [||]
    /// mean, var, count.
    override _.namedBuffers() = [| "mean", mu; "var", sigma2; "count", n |]

/// Activation kinds for NN.mlp.
type ActivationKind =
    /// tanh.
    | Tanh = 0
    /// max(x, 0).
    | ReLU = 1
    /// ELU with alpha 1.
    | ELU = 2
    /// softplus.
    | Softplus = 3
    /// logistic sigmoid.
    | Sigmoid = 4

/// Network builders and gradient utilities (torch.nn.utils).
[<AbstractClass; Sealed>]
type NN =
    /// A new activation layer of a kind.
    static member activation(kind: ActivationKind) : Module =
        match kind with
        | ActivationKind.Tanh -> Tanh()
        | ActivationKind.ReLU -> ReLU()
        | ActivationKind.ELU -> ELU()
        | ActivationKind.Softplus -> Softplus()
        | ActivationKind.Sigmoid -> Sigmoid()
        | k -> raise (ArgumentException(sprintf "NN.activation: unknown kind %O" k))

    /// A multilayer perceptron: Linear layers sizes[i] -> sizes[i+1] with the activation between them (none after the
    /// last unless outputActivation); weights Glorot-uniform unless weightInit, biases zero.
    static member mlp(sizes: seq<int>, ?activation: ActivationKind, ?outputActivation: ActivationKind, ?weightInit: Init, ?lastInit: Init) =
        let sizes = Seq.toArray sizes
        if sizes.Length < 2 then raise (ArgumentException(sprintf "NN.mlp: need at least an input and an output size, got %d sizes" sizes.Length, "sizes"))
        let act = defaultArg activation ActivationKind.Tanh
        let n = sizes.Length - 1
        let layers =
            [| for i in 0 .. n - 1 do
                 let init = if i = n - 1 then defaultArg lastInit (defaultArg weightInit GlorotUniform) else defaultArg weightInit GlorotUniform
                 yield Linear(sizes[i], sizes[i + 1], weightInit = init) :> Module
                 if i < n - 1 then yield NN.activation act
                 elif outputActivation.IsSome then yield NN.activation outputActivation.Value |]
        Sequential(layers)

    /// Scales the parameters' grads in place so that their total 2-norm is at most maxNorm (torch.nn.utils.clip_grad_norm_:
    /// coefficient min(1, maxNorm / (total + 1e-6))); returns the total norm before clipping. Parameters without grad are skipped.
    static member clipGradNorm(parameters: seq<Tensor>, maxNorm: float) : float =
        if not (maxNorm > 0.0) then raise (ArgumentException(sprintf "clipGradNorm: maxNorm must be positive, got %g" maxNorm, "maxNorm"))
        let ps = parameters |> Seq.filter (fun p -> not (isNull p.grad)) |> Seq.toArray
        let total = ps |> Array.sumBy (fun p -> p.grad.toFloatArray() |> Array.sumBy (fun g -> g * g)) |> sqrt
        let coef = maxNorm / (total + 1e-6)
        if coef < 1.0 then
            for p in ps do
                match p.Node with
                | TRev(_, r, _) -> r.Grad <- (r.Grad * coef).detach(true)
                | _ -> ()
        total
