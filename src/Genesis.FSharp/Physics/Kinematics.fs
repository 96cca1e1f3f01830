namespace Genesis.Physics

open Genesis

/// Poses and motion subspaces of every body, batched over envs.
type Kinematics =
    { /// Body frame origins [B; nbody; 3].
      xpos: Tensor
      /// Body frame orientations [B; nbody; 3; 3].
      xmat: Tensor
      /// Body COM positions [B; nbody; 3].
      xipos: Tensor
      /// Motion subspace of each dof about the world origin, [B; nv; 6] = [axis; anchor x axis].
      cdof: Tensor }

/// Forward kinematics (MuJoCo mj_kinematics + the cdof part of mj_comPos, about the world origin).
module Kinematics =
    let private pick (t: Tensor) (i: int) = t.[i]

    /// Link poses and dof motion subspaces from qpos [B; nq].
    let compute (model: Model) (qpos: Tensor) : Kinematics =
        let topo, p = model.topology, model.parameters
        let b = qpos.shape[0]
        let dtype = qpos.dtype
        // constant parameters give constant rotations: computed once per raw tensor
        let bodyR =
            if p.bodyQuat.isConstant then (Constants.get p.bodyQuat.raw Constants.BodyRotation p.bodyQuat (fun () -> Spatial.quatToMat p.bodyQuat)).WithScene p.bodyQuat.scene
            else Spatial.quatToMat p.bodyQuat
        let zeros3 = Constants.ofValues Constants.shared (Constants.ZeroPositions b) qpos [| b; 3 |] (fun () -> Array.zeroCreate (3 * b))
        let eye3 = Constants.get Constants.shared (Constants.Identities3 b) qpos (fun () -> (Spatial.eyeLike qpos 3).expand([ b; 3; 3 ]))
        let xpos = Array.zeroCreate<Tensor> topo.nbody
        let xmat = Array.zeroCreate<Tensor> topo.nbody
        let cdof = Array.zeroCreate<Tensor> topo.nv
        let q0 = topo.qpos0
        for i in 0 .. topo.nbody - 1 do
            let par = topo.bodyParent[i]
            let pPar, rPar = if par < 0 then zeros3, eye3 else xpos[par], xmat[par]
            let mutable r = rPar.matmul(pick bodyR i)
            let mutable pos = pPar + Spatial.rotate rPar (pick p.bodyPos i)
            let pending = ResizeArray<int * Tensor>()
            for j in topo.bodyJoints[i] do
                let adr = topo.jntQposAdr[j]
                let dof = topo.jntDofAdr[j]
                let jpos = pick p.jntPos j
                let anchor = pos + Spatial.rotate r jpos
                let axisW = Spatial.rotate r (pick p.jntAxis j)
                match topo.jntType[j] with
                | Slide ->
                    let q = qpos.narrow(1, adr, 1) - q0[adr]
                    pos <- pos + axisW * q
                    cdof[dof] <- gs.cat([| gs.zerosLike axisW; axisW |], -1)
                | Hinge ->
                    let q = qpos.narrow(1, adr, 1).squeeze(1) - q0[adr]
                    r <- r.matmul(Spatial.axisAngleToMat (pick p.jntAxis j) q)
                    pos <- anchor - Spatial.rotate r jpos
                    cdof[dof] <- gs.cat([| axisW; Spatial.cross anchor axisW |], -1)
                | Ball ->
                    r <- r.matmul(Spatial.quatToMat (qpos.narrow(1, adr, 4)))
                    pos <- anchor - Spatial.rotate r jpos
                    pending.Add((dof, anchor))
                | Free ->
                    pos <- qpos.narrow(1, adr, 3)
                    r <- Spatial.quatToMat (qpos.narrow(1, adr + 3, 4))
                    for k in 0 .. 2 do
                        cdof[dof + k] <-
                            Constants.get Constants.shared (Constants.FreeLinearAxis(b, k)) qpos (fun () ->
                                Spatial.constLike qpos [| 6 |] (Array.init 6 (fun m -> if m = 3 + k then 1.0 else 0.0)) |> fun c -> c.expand([ b; 6 ]))
                    pending.Add((dof + 3, pos))
            // ball and free rotations: the body's final axes about the joint anchor
            for (dof, anchor) in pending do
                for k in 0 .. 2 do
                    let axis = r.narrow(2, k, 1).squeeze(2)
                    cdof[dof + k] <- gs.cat([| axis; Spatial.cross anchor axis |], -1)
            xpos[i] <- pos
            xmat[i] <- r
        let xposT = gs.stack(xpos, 1)
        let xmatT = gs.stack(xmat, 1)
        let xipos = xposT + Spatial.rotate xmatT p.bodyIpos
        let cdofT = if topo.nv = 0 then gs.zeros([ b; 0; 6 ], dtype = dtype) else gs.stack(cdof, 1)
        { xpos = xposT; xmat = xmatT; xipos = xipos; cdof = cdofT }
