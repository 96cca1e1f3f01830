/// Contacts that couple trees (a body resting on another): the coupled trees are solved as islands, densely over their
/// own dofs (IslandSolveKernel), the other trees by the tree LDL. Checked against the dense solve over all dofs of the
/// assembled system, and the Euler adjoint through islands against central differences and the tape.
module Genesis.Tests.Physics.IslandTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// Solves a x = b by Gaussian elimination with partial pivoting on copies (the dense all-dof reference).
let private denseSolve (n: int) (a0: float[]) (b0: float[]) =
    let a, x = Array.copy a0, Array.copy b0
    for c in 0 .. n - 1 do
        let piv = seq { c .. n - 1 } |> Seq.maxBy (fun r -> abs a[r * n + c])
        for k in 0 .. n - 1 do
            let t = a[c * n + k] in a[c * n + k] <- a[piv * n + k]; a[piv * n + k] <- t
        let t = x[c] in x[c] <- x[piv]; x[piv] <- t
        for r in c + 1 .. n - 1 do
            let f = a[r * n + c] / a[c * n + c]
            for k in c .. n - 1 do a[r * n + k] <- a[r * n + k] - f * a[c * n + k]
            x[r] <- x[r] - f * x[c]
    for c in n - 1 .. -1 .. 0 do
        let mutable s = x[c]
        for k in c + 1 .. n - 1 do s <- s - a[c * n + k] * x[k]
        x[c] <- s / a[c * n + c]
    x

/// Two spheres of radius 0.1 stacked at (x, 0), the lower one resting on the plane.
let private sphereStack (x: float) (count: int) =
    [| for k in 0 .. count - 1 -> Primitives.sphere (0.1, pos = [| x + 0.01 * float k; 0.0; 0.099 + 0.198 * float k |]) |]

/// Boxes of side 0.2 stacked at (x, 0).
let private boxStack (x: float) (count: int) =
    [| for k in 0 .. count - 1 -> Primitives.box ([| 0.2; 0.2; 0.2 |], pos = [| x + 0.01 * float k; 0.0; 0.099 + 0.199 * float k |]) |]

/// The state of a scene after `steps` fast steps from rest.
let private settled (m: Model) (sp: SimParams) (steps: int) =
    let sim = FastSim(m, sp, 1)
    for _ in 1 .. steps do sim.step ()
    Array.copy sim.qpos, Array.copy sim.qvel

[<Tests>]
let tests =
    testList "Physics.Islands" [
        test "three stacks and two free spheres: the island solve equals the dense solve over all dofs (1e-12)" {
            GsSetup.ensure64 ()
            let specs =
                Array.concat [ [| Primitives.plane () |]; sphereStack 0.0 3; boxStack 1.0 2; sphereStack 2.0 2
                               [| Primitives.sphere (0.1, pos = [| 3.0; 0.0; 0.099 |]); Primitives.sphere (0.1, pos = [| 4.0; 0.0; 1.0 |]) |] ]
            let m = Model.build specs DType.Float64
            let sp = { SimParams.defaults with dt = 0.002 }
            let q, v = settled m sp 5
            let fm = FastStep.prepare m
            let nv, p = fm.nv, fm.pattern
            let w = FastModelBuild.rent fm
            try
                let h = sp.dt / float sp.substeps
                FastStep.evaluateFloat fm w sp h true (Array.create nv DriveCode.Force) q v (Array.zeroCreate nv)
                let a = Array.copy w.qM
                for k in 0 .. nv - 1 do
                    let d = TreePattern.diag p k
                    a[d] <- a[d] + fm.dofDamping[k] * h + w.limitDiag[k] * h
                // the reference: M + h D + h C assembled over all dofs (nv x nv), C's cross terms in both halves
                let full = TreePattern.toDense p a
                let c = w.cross
                Expect.isGreaterThan c.Count 0 "contacts between moving bodies"
                for t in 0 .. c.Count - 1 do
                    let j, k = c.Rows[t], c.Cols[t]
                    full[j * nv + k] <- full[j * nv + k] - c.Values[t]
                    full[k * nv + j] <- full[k * nv + j] - c.Values[t]
                let expected = denseSolve nv full w.rhs
                let x = Array.copy w.rhs
                FastStep.Instances.islandSolveFloat p w a x
                let g = w.islands
                Expect.equal g.Count 3 "three islands: the stacks (the free spheres touch no other body)"
                Expect.equal g.Largest 18 "the largest island: three free spheres"
                Expect.equal w.islandBlock.Length (18 * 18) "the dense buffer: the largest island's dofs squared"
                Expect.equal g.start[3] (18 + 12 + 12) "island dofs"
                let scale = expected |> Array.map abs |> Array.max
                Array.iteri2 (fun i a b -> Expect.floatClose { absolute = 1e-12 * scale; relative = 1e-12 } a b (sprintf "qacc[%d]" i)) x expected
            finally FastModelBuild.giveBack fm w
        }
        test "the Euler adjoint through steps with two islands = central differences (state, controls), = the tape (controls)" {
            GsSetup.ensure64 ()
            let specs = Array.concat [ [| Primitives.plane () |]; sphereStack 0.0 2; boxStack 1.0 2 ]
            let m = Model.build specs DType.Float64
            let sp = { SimParams.defaults with dt = 0.005 }
            let q, v = settled m sp 10
            let fm = FastStep.prepare m
            let tm = FastModelBuild.toTape fm
            let nq, nv, k = fm.nq, fm.nv, 2
            let rnd = Random 5
            let codes = Array.init k (fun _ -> Array.create nv DriveCode.Force)
            let ctrls = Array.init k (fun _ -> Array.init nv (fun _ -> rnd.NextDouble() - 0.5))
            let aQ, aV = Array.init nq (fun _ -> rnd.NextDouble() - 0.5), Array.init nv (fun _ -> rnd.NextDouble() - 0.5)
            // L = aQ . qpos_k + aV . qvel_k after k steps from (q, v) under ctrls, on floats
            let loss (q: float[]) (v: float[]) (ctrls: float[][]) =
                let w = FastModelBuild.rent fm
                try
                    Array.blit q 0 w.qpos 0 nq
                    Array.blit v 0 w.qvel 0 nv
                    let mutable islands = Int32.MaxValue
                    for t in 0 .. k - 1 do
                        Array.blit ctrls[t] 0 w.ctrl 0 nv
                        FastStep.stepWork fm w sp codes[t]
                        islands <- min islands (if w.cross.Count > 0 then w.islands.Count else 0)
                    Array.fold2 (fun s a b -> s + a * b) 0.0 aQ w.qpos + Array.fold2 (fun s a b -> s + a * b) 0.0 aV w.qvel, islands
                finally FastModelBuild.giveBack fm w
            Expect.equal (snd (loss q v ctrls)) 2 "every step has two islands (the stacks)"
            let hq, hv, hc, _ = EulerAdjoint.segmentVjp fm tm sp codes 1 q v ctrls aQ aV
            let central (perturb: float -> float) =
                let e = 1e-6
                (perturb e - perturb -e) / (2.0 * e)
            let tol = { absolute = 1e-6; relative = 1e-5 }
            for i in 0 .. nv - 1 do
                let fd = central (fun e -> let v' = Array.copy v in v'[i] <- v'[i] + e; fst (loss q v' ctrls))
                Expect.floatClose tol hv[i] fd (sprintf "d/dqvel[%d]" i)
                let fdc = central (fun e -> let c' = Array.map Array.copy ctrls in c'[0][i] <- c'[0][i] + e; fst (loss q v c'))
                Expect.floatClose tol hc.[0].[i] fdc (sprintf "d/dctrl0[%d]" i)
            // the free joints' positions (x, y, z of each body)
            for b in 0 .. nq / 7 - 1 do
                for c in 0 .. 2 do
                    let i = 7 * b + c
                    let fd = central (fun e -> let q' = Array.copy q in q'[i] <- q'[i] + e; fst (loss q' v ctrls))
                    Expect.floatClose tol hq[i] fd (sprintf "d/dqpos[%d]" i)
            // the same sub-steps recorded on the tape (the island LU on TapeReal): the controls' gradient, which reaches
            // the state only through the solve (the taped path's position and velocity gradients through contacts
            // between two moving bodies differ from the hand adjoint and the differences above on main already)
            let _, _, tc = SegmentVjp.tapedSegmentVjp fm tm sp codes 1 q v ctrls aQ aV
            let close = { absolute = 1e-9; relative = 1e-8 }
            for t in 0 .. k - 1 do
                Array.iteri2 (fun i a b -> Expect.floatClose close a b (sprintf "tape d/dctrl%d[%d]" t i)) hc[t] tc[t]
        }
    ]
