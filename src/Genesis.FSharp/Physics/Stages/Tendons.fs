namespace Genesis.Physics

open System
open Genesis

/// An MJCF entity's tendons and actuator transmissions on Tensors (MuJoCo's mj_tendon, mj_transmission, the tendon
/// part of mj_passive and mj_fwdActuation), for a model built from that entity alone (Model.build [| spec |]). The
/// reference form: the step's kernels and adjoint do not have it yet, so a Scene rejects tendons that change the
/// motion (SceneBuild) and maps joint-transmission actuators onto its dof controls instead (FileActuators).
module Tendons =
    let private joint (topo: Topology) (owner: string) (name: string) =
        match Array.tryFindIndex ((=) name) topo.jntName with
        | Some j when topo.jntType[j] = Hinge || topo.jntType[j] = Slide -> j
        | Some j -> raise (GenesisNotSupportedException(sprintf "%s: joint '%s' is a %A joint; only hinge and slide joints are supported here" owner name topo.jntType[j]))
        | None -> raise (GenesisException(sprintf "%s: joint '%s' is not in the model" owner name))

    let private site (spec: EntitySpec) (owner: string) (name: string) =
        match spec.sites |> Array.tryFind (fun s -> s.name = name) with
        | Some s -> s
        | None -> raise (GenesisException(sprintf "%s: site '%s' is not in the model" owner name))

    /// World position [B; 3] and orientation [B; 3; 3] of a site.
    let siteFrame (kin: Kinematics) (s: SiteSpec) =
        let r = kin.xmat.narrow(1, s.body, 1).squeeze(1)
        kin.xpos.narrow(1, s.body, 1).squeeze(1) + Spatial.rotate r (Spatial.constLike kin.xpos [| 3 |] s.pos),
        r.matmul(Spatial.quatToMat (Spatial.constLike kin.xpos [| 4 |] s.quat))

    /// The dofs that move body b, as a [nv; 1] 0/1 column.
    let private moving (topo: Topology) (kin: Kinematics) (b: int) =
        let mask = Model.ancestorMask topo
        Spatial.constLike kin.cdof [| topo.nv; 1 |] mask[b * topo.nv .. (b + 1) * topo.nv - 1]

    /// Jacobian [B; 3; nv] of the world point p [B; 3] fixed to body b: column d = v_d + w_d x p (MuJoCo mj_jac).
    let pointJacobian (topo: Topology) (kin: Kinematics) (b: int) (p: Tensor) =
        let ang, lin = kin.cdof.narrow(-1, 0, 3), kin.cdof.narrow(-1, 3, 3)
        ((lin + Spatial.cross ang (p.unsqueeze(1).expandAs ang)) * moving topo kin b).transpose(1, 2)

    /// Jacobian [B; 3; nv] of the world direction a [B; 3] fixed to body b: column d = w_d x a (MuJoCo mj_jacPointAxis).
    let axisJacobian (topo: Topology) (kin: Kinematics) (b: int) (a: Tensor) =
        let ang = kin.cdof.narrow(-1, 0, 3)
        (Spatial.cross ang (a.unsqueeze(1).expandAs ang) * moving topo kin b).transpose(1, 2)

    /// u^T J for u [B; 3], J [B; 3; nv] -> [B; nv].
    let private rowTimes (u: Tensor) (j: Tensor) = u.unsqueeze(1).matmul(j).squeeze(1)

    /// Length [B] and moment arm dL/dq [B; nv] of a tendon: fixed L = sum coef q; spatial L = sum |p_{i+1} - p_i|
    /// over its sites, moment sum u_i^T (J_{i+1} - J_i) with u_i the unit segment directions.
    let lengthAndMoment (topo: Topology) (spec: EntitySpec) (kin: Kinematics) (qpos: Tensor) (t: TendonSpec) =
        let owner = sprintf "tendon '%s'" t.name
        match t.path with
        | FixedPath js ->
            let qc, dc = Array.zeroCreate topo.nq, Array.zeroCreate topo.nv
            for name, coef in js do
                let j = joint topo owner name
                qc[topo.jntQposAdr[j]] <- qc[topo.jntQposAdr[j]] + coef
                dc[topo.jntDofAdr[j]] <- dc[topo.jntDofAdr[j]] + coef
            let b = qpos.shape[0]
            qpos.matmul(Spatial.constLike qpos [| topo.nq; 1 |] qc).squeeze(-1), (Spatial.constLike qpos [| 1; topo.nv |] dc).expand([ b; topo.nv ])
        | SpatialPath names ->
            let sites = names |> Array.map (site spec owner)
            let pos = sites |> Array.map (fun s -> fst (siteFrame kin s))
            let jac = Array.map2 (fun (s: SiteSpec) p -> pointJacobian topo kin s.body p) sites pos
            let segs =
                Array.init (sites.Length - 1) (fun i ->
                    let d = pos[i + 1] - pos[i]
                    let len = d.norm(2.0, -1, false)
                    len, rowTimes (d / len.unsqueeze(-1)) (jac[i + 1] - jac[i]))
            segs |> Array.map fst |> Array.reduce (+), segs |> Array.map snd |> Array.reduce (+)

    /// Each tendon's spring rest length: springlength, else its length at qpos0 (MuJoCo tendon_lengthspring).
    let restLengths (model: Model) (spec: EntitySpec) =
        let q0 = Spatial.constLike model.parameters.gravity [| 1; model.topology.nq |] model.topology.qpos0
        let kin0 = Kinematics.compute model q0
        spec.tendons |> Array.map (fun t ->
            match t.springlength with
            | Some l -> l
            | None -> (fst (lengthAndMoment model.topology spec kin0 q0 t)).toFloatArray()[0])

    /// Tendon spring-damper forces [B; nv]: sum over tendons of J^T (-stiffness (L - rest) - damping J qvel).
    let passive (model: Model) (spec: EntitySpec) (kin: Kinematics) (qpos: Tensor) (qvel: Tensor) =
        let rest = restLengths model spec
        spec.tendons
        |> Array.mapi (fun i t -> i, t)
        |> Array.filter (fun (_, t) -> t.stiffness <> 0.0 || t.damping <> 0.0)
        |> Array.fold (fun (acc: Tensor) (i, t) ->
            let l, j = lengthAndMoment model.topology spec kin qpos t
            let f = -t.stiffness * (l - rest[i]) - t.damping * (j * qvel).sum(-1)
            acc + j * f.unsqueeze(-1)) (gs.zerosLike qvel)

    /// An actuator's length [B] and moment [B; nv] (MuJoCo actuator_length, actuator_moment): gear times the joint
    /// coordinate, the tendon length, or the slider-crank length L = a.v - sqrt((a.v)^2 + r^2 - |v|^2) with v = crank
    /// site - slider site and a the slider site's z axis (L = a.v where the root is imaginary).
    let transmission (topo: Topology) (spec: EntitySpec) (kin: Kinematics) (qpos: Tensor) (a: ActuatorSpec) =
        let owner = sprintf "actuator '%s'" a.name
        let l, m =
            match a.transmission with
            | JointTrn name ->
                let j = joint topo owner name
                let row = Array.init topo.nv (fun d -> if d = topo.jntDofAdr[j] then 1.0 else 0.0)
                qpos.narrow(1, topo.jntQposAdr[j], 1).squeeze(1), (Spatial.constLike qpos [| 1; topo.nv |] row).expand([ qpos.shape[0]; topo.nv ])
            | TendonTrn name ->
                match spec.tendons |> Array.tryFind (fun t -> t.name = name) with
                | Some t -> lengthAndMoment topo spec kin qpos t
                | None -> raise (GenesisException(sprintf "%s: tendon '%s' is not in the model" owner name))
            | SliderCrankTrn(crankName, sliderName, r) ->
                let crank, slider = site spec owner crankName, site spec owner sliderName
                let pc, _ = siteFrame kin crank
                let ps, rs = siteFrame kin slider
                let axis = rs.narrow(2, 2, 1).squeeze(2)
                let v = pc - ps
                let av = (v * axis).sum(-1)
                let det = av * av + r * r - (v * v).sum(-1)
                let ok = det.gt(0.0).cast(det.dtype).detach()
                // where det <= 0 MuJoCo takes L = a.v: the root and its derivative are masked out (kept finite)
                let sdet = (det * ok + (1.0 - ok)).sqrt()
                let length = av - sdet * ok
                let dldv = axis * (1.0 - ok * av / sdet).unsqueeze(-1) + v * (ok / sdet).unsqueeze(-1)
                let dlda = v * (1.0 - ok * av / sdet).unsqueeze(-1)
                let jv = pointJacobian topo kin crank.body pc - pointJacobian topo kin slider.body ps
                length, rowTimes dldv jv + rowTimes dlda (axisJacobian topo kin slider.body axis)
        l * a.gear, m * a.gear

    /// Generalised actuator forces [B; nv] (MuJoCo qfrc_actuator) from ctrl [B; nu]: ctrl clamped to ctrlrange,
    /// force = gain ctrl + bias0 + bias1 L + bias2 dL/dt clamped to forcerange, qfrc = sum moment force.
    let actuatorForces (topo: Topology) (spec: EntitySpec) (kin: Kinematics) (qpos: Tensor) (qvel: Tensor) (ctrl: Tensor) =
        let nu = spec.actuators.Length
        if ctrl.dim <> 2 || ctrl.shape[1] <> nu then
            invalidArg "ctrl" (sprintf "actuatorForces: ctrl must be [B; %d] (one column per actuator), got %A" nu ctrl.shape)
        let clamp (x: Tensor) (r: (float * float) option) =
            match r with
            | Some(lo, hi) -> x.clamp(min = lo, max = hi)
            | None -> x
        spec.actuators
        |> Array.mapi (fun i a -> i, a)
        |> Array.fold (fun (acc: Tensor) (i, a) ->
            let l, m = transmission topo spec kin qpos a
            let u = clamp (ctrl.narrow(1, i, 1).squeeze(1)) a.ctrlrange
            let f = clamp (a.gain * u + a.bias[0] + a.bias[1] * l + a.bias[2] * (m * qvel).sum(-1)) a.forcerange
            acc + m * f.unsqueeze(-1)) (gs.zerosLike qvel)
