/// Helpers shared by the NN tests: flat views of parameter lists and relative errors.
module Genesis.Tests.NN.NNTestUtil

open Genesis

/// Max |expected - actual| relative to max |expected| (at least 1e-8).
let maxRel (e: float[]) (a: float[]) =
    let scale = max 1e-8 (e |> Array.map abs |> Array.max)
    Array.map2 (fun x y -> abs (x - y)) e a |> Array.max |> fun d -> d / scale

/// The grads of the tensors, concatenated.
let grads (ts: Tensor[]) = ts |> Array.collect (fun t -> t.grad.toFloatArray())

/// The values of the tensors, concatenated.
let flatValues (ts: Tensor[]) = ts |> Array.collect (fun t -> t.toFloatArray())

/// Writes concatenated values back into the tensors (in place, keeping them leaves).
let setFlat (ts: Tensor[]) (v: float[]) =
    let mutable o = 0
    for p in ts do
        p.copy_(gs.tensor(v[o .. o + p.numel - 1]).reshape(p.shape)) |> ignore
        o <- o + p.numel

/// Central-difference gradient of a scalar function of the tensors' values at their current values (restored after).
let fdGradient (ts: Tensor[]) (f: unit -> float) (h: float) =
    let x0 = flatValues ts
    let g =
        Array.init x0.Length (fun j ->
            let at (d: float) =
                let x = Array.copy x0
                x[j] <- x[j] + d
                setFlat ts x
                f ()
            (at h - at -h) / (2.0 * h))
    setFlat ts x0
    g
