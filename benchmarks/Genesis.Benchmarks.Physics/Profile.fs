/// The Tensor path per stage: kernels run (Apply.OpsRun) and time per call, at one state of a model.
module Genesis.Benchmarks.Physics.Profile

open System.Diagnostics
open Genesis
open Genesis.Physics

/// Seconds per call of f (the fastest of 5 windows of at least budget / 5 seconds and 2 calls each, after a warm-up
/// call: the machine is shared, the fastest window is the least disturbed) and the kernels one call runs.
let measure (budget: float) (f: unit -> unit) =
    f ()
    let ops0 = Apply.OpsRun
    f ()
    let ops = Apply.OpsRun - ops0
    Timing.fastestWindow 5 budget 2 1 (fun _ -> f ()), ops

/// The stages of one Euler step (Physics.step's eulerStep, stage by stage) as named thunks.
let stages (model: Model) (sp: SimParams) (state: State) (control: Control) =
    let h = sp.dt / float sp.substeps
    let kin = Kinematics.compute model state.qpos
    let dyn = Dynamics.compute model kin state.qvel
    let fd = Physics.forward model sp state.qpos state.qvel control
    let nv = model.topology.nv
    let rhs = (fd.qfrcSmooth - fd.dynamics.qfrcBias).unsqueeze(-1)
    let a = fd.dynamics.qM + gs.eye(nv, dtype = state.qvel.dtype) * (model.parameters.dofDamping * h) + fd.contactDamping * h
    [ "Kinematics.compute", (fun () -> Kinematics.compute model state.qpos |> ignore)
      "Dynamics.compute (CRBA + RNEA)", (fun () -> Dynamics.compute model kin state.qvel |> ignore)
      "Passive.compute", (fun () -> Passive.compute model state.qpos state.qvel |> ignore)
      "Actuation.compute", (fun () -> Actuation.compute model control state.qpos state.qvel |> ignore)
      "Contact.compute", (fun () -> Contact.compute model sp.contact kin state.qvel h |> ignore)
      "Solve.solve (M + hD + hC)", (fun () -> Solve.solve a rhs |> ignore)
      "Integrate.integratePos", (fun () -> Integrate.integratePos model.topology state.qpos state.qvel h |> ignore)
      "Physics.step (total)", (fun () -> Physics.step model sp state control |> ignore) ]
    |> fun l -> ignore dyn; l

/// Single ops on tiny tensors: the per-op overhead the stages pay.
let micro () =
    let a = gs.tensor([ 0.1; 0.2; 0.3 ], dtype = DType.Float64)
    let b = gs.tensor([ 0.4; 0.5; 0.6 ], dtype = DType.Float64)
    let q = gs.tensor([ 0.9; 0.1; 0.2; 0.3 ], dtype = DType.Float64)
    let m = gs.eye(3, dtype = DType.Float64)
    [ "[3] + [3]", (fun () -> a + b |> ignore)
      "[3] * scalar", (fun () -> a * 2.0 |> ignore)
      "[3,3] matmul [3,3]", (fun () -> m.matmul(m) |> ignore)
      "narrow [3] -> [1]", (fun () -> a.narrow(0, 1, 1) |> ignore)
      "Spatial.quatToMat [4]", (fun () -> Spatial.quatToMat q |> ignore) ]
