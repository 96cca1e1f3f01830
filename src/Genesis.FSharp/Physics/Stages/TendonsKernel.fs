namespace Genesis.Physics

open System
open Genesis

/// The step's tendon forces on arrays (Tendons.compute), generic over the scalar.
module internal TendonsKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Whether tendon t exerts a force: a spring, a damper, or a range while limits are on.
    let active (t: FixedTendon) (limits: bool) = t.stiffness <> 0.0 || t.damping <> 0.0 || (limits && t.range.IsSome)

    /// The force along tendon t at length l and rate ld (Tendons.compute's f).
    let inline force (t: FixedTendon) (limits: bool) (l: ^T) (ld: ^T) : ^T =
        let f = lift (-t.stiffness) * (l - lift t.rest) - lift t.damping * ld
        match t.range with
        | Some(lo, hi) when limits ->
            let s = lift JointLimits.softness
            let b, c = (lift lo - l) / s, (l - lift hi) / s
            f + (softplus b - softplus c) * lift (JointLimits.stiffness * JointLimits.softness) - (sigmoid b + sigmoid c) * ld * lift JointLimits.damping
        | _ -> f

    /// Adds the forces coef f of the model's tendons at (qpos, qvel) into w.rhs and their implicit diagonal
    /// coef^2 (act_lo + act_hi) (c + h k) into w.limitDiag (Tendons.compute).
    let inline forces (m: FastModel< ^T>) (w: FastWork< ^T>) (limits: bool) (h: float) (qpos: ^T[]) (qvel: ^T[]) =
        for t in m.tendons do
            if active t limits then
                let mutable l = lift 0.0
                let mutable ld = lift 0.0
                for i in 0 .. t.dof.Length - 1 do
                    l <- l + lift t.coef[i] * qpos[m.dofQposAdr[t.dof[i]]]
                    ld <- ld + lift t.coef[i] * qvel[t.dof[i]]
                let f = force t limits l ld
                for i in 0 .. t.dof.Length - 1 do
                    w.rhs[t.dof[i]] <- w.rhs[t.dof[i]] + lift t.coef[i] * f
                match t.range with
                | Some(lo, hi) when limits ->
                    let s = lift JointLimits.softness
                    let act = (sigmoid ((lift lo - l) / s) + sigmoid ((l - lift hi) / s)) * lift (JointLimits.damping + h * JointLimits.stiffness)
                    for i in 0 .. t.dof.Length - 1 do
                        w.limitDiag[t.dof[i]] <- w.limitDiag[t.dof[i]] + lift (t.coef[i] * t.coef[i]) * act
                | _ -> ()

/// The hand-written adjoint of the tendon forces (part of EulerAdjoint's forces adjoint).
module internal TendonsAdjoint =
    /// The adjoint of TendonsKernel.forces at (qpos, qvel) from gRhs and gDiag, the adjoints of the forces and of the
    /// implicit diagonal: adds those of qpos and qvel into gq and gv.
    let forces (fm: FastModel<float>) (limits: bool) (h: float) (qpos: float[]) (qvel: float[]) (gRhs: float[]) (gDiag: int -> float) (gq: float[]) (gv: float[]) =
        for t in fm.tendons do
            if TendonsKernel.active t limits then
                let mutable l, ld, gf = 0.0, 0.0, 0.0
                for i in 0 .. t.dof.Length - 1 do
                    let d = t.dof[i]
                    l <- l + t.coef[i] * qpos[fm.dofQposAdr[d]]
                    ld <- ld + t.coef[i] * qvel[d]
                    gf <- gf + t.coef[i] * gRhs[d]
                // f = -k (l - rest) - c ld, plus (sp(b) - sp(c)) K s - (sig b + sig c) ld D with b = (lo - l) / s,
                // c = (l - hi) / s while limited
                let mutable dl, dld = -t.stiffness, -t.damping
                match t.range with
                | Some(lo, hi) when limits ->
                    let s, kL, dL = JointLimits.softness, JointLimits.stiffness, JointLimits.damping
                    let sb, sc = RealOps.Sigmoid((lo - l) / s), RealOps.Sigmoid((l - hi) / s)
                    dl <- dl - kL * (sb + sc) + (sb * (1.0 - sb) - sc * (1.0 - sc)) * ld * dL / s
                    dld <- dld - (sb + sc) * dL
                    // diag_d = coef_d^2 (sb + sc) (D + h K)
                    let mutable gAct = 0.0
                    for i in 0 .. t.dof.Length - 1 do gAct <- gAct + gDiag t.dof[i] * t.coef[i] * t.coef[i]
                    let gl = gAct * (dL + h * kL) * (sc * (1.0 - sc) - sb * (1.0 - sb)) / s
                    for i in 0 .. t.dof.Length - 1 do
                        let qa = fm.dofQposAdr[t.dof[i]]
                        gq[qa] <- gq[qa] + t.coef[i] * gl
                | _ -> ()
                for i in 0 .. t.dof.Length - 1 do
                    let d = t.dof[i]
                    gq[fm.dofQposAdr[d]] <- gq[fm.dofQposAdr[d]] + t.coef[i] * gf * dl
                    gv[d] <- gv[d] + t.coef[i] * gf * dld
