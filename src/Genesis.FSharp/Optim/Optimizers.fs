namespace Genesis

open System

/// The torch.optim shape: parameters (requiresGrad leaves), zeroGrad(), step() updating values in place.
[<AbstractClass>]
type Optimizer(parameters: seq<Tensor>) =
    let ps = Seq.toArray parameters
    do
        if ps.Length = 0 then raise (ArgumentException("optimizer: no parameters given", "parameters"))
        for p in ps do
            if not (p.isLeaf && p.requiresGrad) then
                raise (GenesisException(sprintf "optimizer: every parameter must be a requiresGrad leaf, got a tensor of shape %s that is not" (Shape.format p.shape)))
    /// The parameters being optimised.
    member _.parameters = ps
    /// Clears every parameter's grad.
    member _.zeroGrad() = for p in ps do p.zeroGrad()
    /// Updates every parameter from its grad (parameters without grad are skipped).
    member o.step() =
        ps |> Array.iteri (fun i p ->
            let g = p.grad
            if not (isNull g) then p.copy_(o.Update(i, p.detach(true), g)) |> ignore)
    /// The new value of parameter i from its current value and gradient.
    abstract Update: index: int * value: Tensor * grad: Tensor -> Tensor

/// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch semantics).
type SGD(parameters: seq<Tensor>, lr: float, ?momentum: float, ?dampening: float, ?weightDecay: float, ?nesterov: bool) =
    inherit Optimizer(parameters)
    let momentum = defaultArg momentum 0.0
    let dampening = defaultArg dampening 0.0
    let weightDecay = defaultArg weightDecay 0.0
    let nesterov = defaultArg nesterov false
    do
        if nesterov && (momentum <= 0.0 || dampening <> 0.0) then
            raise (ArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening = 0", "nesterov"))
    let buffers = Collections.Generic.Dictionary<int, Tensor>()
    /// The learning rate (settable, e.g. by a scheduler).
    member val lr = lr with get, set
    /// v <- momentum v + (1 - dampening) g; p <- p - lr (g + momentum v if nesterov else v).
    override o.Update(i, p, g) =
        let g = if weightDecay <> 0.0 then g + p * weightDecay else g
        let d =
            if momentum = 0.0 then g
            else
                let b =
                    match buffers.TryGetValue i with
                    | true, b -> b * momentum + g * (1.0 - dampening)
                    | _ -> g
                buffers[i] <- b
                if nesterov then g + b * momentum else b
        p - d * o.lr

/// Adam / AdamW-free Adam with bias correction and optional AMSGrad (PyTorch semantics).
type Adam(parameters: seq<Tensor>, ?lr: float, ?beta1: float, ?beta2: float, ?eps: float, ?weightDecay: float, ?amsgrad: bool) =
    inherit Optimizer(parameters)
    let b1 = defaultArg beta1 0.9
    let b2 = defaultArg beta2 0.999
    let eps = defaultArg eps 1e-8
    let weightDecay = defaultArg weightDecay 0.0
    let amsgrad = defaultArg amsgrad false
    let m = Collections.Generic.Dictionary<int, Tensor>()
    let v = Collections.Generic.Dictionary<int, Tensor>()
    let vmax = Collections.Generic.Dictionary<int, Tensor>()
    let steps = Collections.Generic.Dictionary<int, int>()
    /// The learning rate (settable, e.g. by a scheduler).
    member val lr = defaultArg lr 0.001 with get, set
    /// m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; p <- p - lr mhat / (sqrt vhat + eps).
    override o.Update(i, p, g) =
        let g = if weightDecay <> 0.0 then g + p * weightDecay else g
        let t = (match steps.TryGetValue i with | true, t -> t | _ -> 0) + 1
        steps[i] <- t
        let mi = match m.TryGetValue i with | true, x -> x * b1 + g * (1.0 - b1) | _ -> g * (1.0 - b1)
        let vi = match v.TryGetValue i with | true, x -> x * b2 + g * g * (1.0 - b2) | _ -> g * g * (1.0 - b2)
        m[i] <- mi
        v[i] <- vi
        let vUse =
            if amsgrad then
                let mx = match vmax.TryGetValue i with | true, x -> x.maximum(vi) | _ -> vi
                vmax[i] <- mx
                mx
            else vi
        let bc1 = 1.0 - Math.Pow(b1, float t)
        let bc2 = 1.0 - Math.Pow(b2, float t)
        p - (mi / bc1) * o.lr / ((vUse / bc2).sqrt() + eps)

/// Learning-rate schedules.
type StepLR(optimizer: Optimizer, stepSize: int, ?gamma: float) =
    let gamma = defaultArg gamma 0.1
    let mutable epoch = 0
    let setLr (f: float -> float) =
        match optimizer with
        | :? Adam as a -> a.lr <- f a.lr
        | :? SGD as s -> s.lr <- f s.lr
        | _ -> ()
    /// Advances one epoch; every stepSize epochs the learning rate is multiplied by gamma.
    member _.step() =
        epoch <- epoch + 1
        if epoch % stepSize = 0 then setLr (fun lr -> lr * gamma)
