namespace Genesis.NN

open System
open Genesis

/// How a layer's parameter is initialised (draws use the generator seeded by gs.init(seed = ...)).
type Init =
    /// Uniform in +-gain sqrt(6 / (fanIn + fanOut)) (Glorot/Xavier uniform).
    | GlorotUniform
    /// A (semi-)orthogonal matrix times gain: Q of the QR factorisation of a standard normal matrix, signs fixed by diag R.
    | Orthogonal of gain: float
    /// All zeros.
    | Zeros
    /// Uniform in [low, high).
    | Uniform of low: float * high: float

/// Parameter initialisers over host arrays ([rows; cols] row-major; a vector has rows = its length, cols = 1).
module Initializers =
    /// A standard normal draw (Box-Muller) from r.
    let private normal (r: Random) =
        let u1 = 1.0 - r.NextDouble()
        sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * r.NextDouble())

    /// Q ([rows; cols], orthonormal rows or columns, whichever are fewer) from a standard normal matrix, by modified
    /// Gram-Schmidt on the longer side with the sign convention of diag R > 0.
    let orthogonal (r: Random) (rows: int) (cols: int) (gain: float) =
        let tall = rows >= cols
        let n, k = (if tall then rows, cols else cols, rows) // k vectors of length n
        let v = Array.init k (fun _ -> Array.init n (fun _ -> normal r))
        for j in 0 .. k - 1 do
            for i in 0 .. j - 1 do
                let d = Array.fold2 (fun a x y -> a + x * y) 0.0 v[i] v[j]
                for t in 0 .. n - 1 do v[j][t] <- v[j][t] - d * v[i][t]
            let norm = sqrt (Array.sumBy (fun x -> x * x) v[j])
            for t in 0 .. n - 1 do v[j][t] <- v[j][t] / norm
        Array.init (rows * cols) (fun x ->
            let i, j = x / cols, x % cols
            gain * (if tall then v[j][i] else v[i][j]))

    /// The values of a [rows; cols] parameter (fan in = cols, fan out = rows) under an initialiser.
    let values (init: Init) (rows: int) (cols: int) : float[] =
        match init with
        | Zeros -> Array.zeroCreate (rows * cols)
        | GlorotUniform ->
            let a = sqrt (6.0 / float (rows + cols))
            Runtime.withRandom (fun r -> Array.init (rows * cols) (fun _ -> (2.0 * r.NextDouble() - 1.0) * a))
        | Uniform(lo, hi) -> Runtime.withRandom (fun r -> Array.init (rows * cols) (fun _ -> lo + (hi - lo) * r.NextDouble()))
        | Orthogonal gain -> Runtime.withRandom (fun r -> orthogonal r rows cols gain)

/// A layer or network (torch.nn.Module): forward over a batch with a leading env dimension, named parameters (requiresGrad
/// leaves) and buffers (constants such as running statistics), saving and loading them as safetensors.
[<AbstractClass>]
type Module() =
    /// The output for input x ([B; inFeatures] or [inFeatures]).
    abstract forward: x: Tensor -> Tensor
    /// The learnable parameters with their names (PyTorch state_dict names: "0.weight", "0.bias", ...).
    abstract namedParameters: unit -> (string * Tensor)[]
    /// Buffers saved with the parameters but not learned (running statistics), with their names.
    abstract namedBuffers: unit -> (string * Tensor)[]
    default _.namedBuffers() = [||]

    /// The learnable parameters (requiresGrad leaves), for an optimiser or clipGradNorm.
    member m.parameters() = m.namedParameters() |> Array.map snd
    /// Clears every parameter's grad.
    member m.zeroGrad() = for p in m.parameters() do p.zeroGrad()
    /// Number of learnable scalars.
    member m.numParameters = m.parameters() |> Array.sumBy (fun p -> p.numel)
    /// Parameters and buffers by name (what save writes and load reads).
    member m.stateDict() = Array.append (m.namedParameters()) (m.namedBuffers())

    /// Writes parameters and buffers to a safetensors file (Float64/Float32 as held, little-endian).
    member m.save(path: string) = Safetensors.save path (m.stateDict()) [| "format", "genesis-dotnet" |]

    /// Reads parameters and buffers from a safetensors file: every name must be present with the same shape and no
    /// other name may appear; on any error the module is left unchanged.
    member m.load(path: string) =
        let entries = Safetensors.load path
        let byName = entries |> Array.map (fun e -> e.name, e) |> dict
        let state = m.stateDict()
        let names = state |> Array.map fst |> Set.ofArray
        let missing = state |> Array.map fst |> Array.filter (fun n -> not (byName.ContainsKey n))
        if missing.Length > 0 then
            raise (GenesisException(sprintf "safetensors '%s': missing tensors %s (the file holds %s)" path (String.Join(", ", missing)) (String.Join(", ", entries |> Array.map (fun e -> e.name)))))
        let extra = entries |> Array.filter (fun e -> not (names.Contains e.name)) |> Array.map (fun e -> e.name)
        if extra.Length > 0 then
            raise (GenesisException(sprintf "safetensors '%s': unexpected tensors %s (the module has %s)" path (String.Join(", ", extra)) (String.Join(", ", names))))
        for n, t in state do
            let e = byName[n]
            if e.shape <> t.shape then
                raise (GenesisException(sprintf "safetensors '%s': tensor '%s' has shape %s, the module expects %s" path n (Shape.format e.shape) (Shape.format t.shape)))
        // everything checked: now write
        for n, t in state do
            let e = byName[n]
            t.copy_(gs.fromArray(e.values, shape = e.shape, dtype = t.dtype)) |> ignore
