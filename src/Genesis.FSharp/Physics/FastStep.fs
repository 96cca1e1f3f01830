namespace Genesis.Physics

open System
open System.Runtime.CompilerServices
open System.Runtime.ExceptionServices
open System.Threading.Tasks
open Genesis
open Genesis.Physics.FastMath
open Genesis.Real
open Genesis.HomogeneousArithmetic

/// Physics.step on plain float64 arrays (MuJoCo style): the same stages (kinematics, CRBA, RNEA, passive, actuation,
/// contact with its implicit damping, Euler with implicit damping or RK4, quaternion integration) without tensors and
/// without allocation per step, batched over envs with Parallel.For. Not differentiable: Scene.step uses it when
/// SimOptions(requiresGrad = false); the Tensor path stays the reference it is tested against (to 1e-10).
module FastStep =
    /// Envs per call from which the batch is split over the cores.
    let private parallelFrom = 8

    /// Writes [axis; anchor x axis] as the motion subspace of dof d.
    let inline internal setCdof (cdof: ^T[]) (d: int) (ax: ^T) (ay: ^T) (az: ^T) (px: ^T) (py: ^T) (pz: ^T) =
        let o = d * 6
        cdof[o] <- ax
        cdof[o + 1] <- ay
        cdof[o + 2] <- az
        cdof[o + 3] <- py * az - pz * ay
        cdof[o + 4] <- pz * ax - px * az
        cdof[o + 5] <- px * ay - py * ax

    /// One joint of body i (frame r = xmat[o9..], origin xpos[o3..]): moves the frame and writes its cdof.
    let inline internal joint (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) (i: int) (j: int) (pending: byref<int>) =
        let xpos, xmat, cdof = w.xpos, w.xmat, w.cdof
        let o3, o9, j3 = i * 3, i * 9, j * 3
        let adr, dof = m.jntQposAdr[j], m.jntDofAdr[j]
        let jp = m.jntPos
        let anx = xpos[o3] + rowDot xmat o9 0 jp j3
        let any = xpos[o3 + 1] + rowDot xmat o9 1 jp j3
        let anz = xpos[o3 + 2] + rowDot xmat o9 2 jp j3
        let awx, awy, awz = rowDot xmat o9 0 m.jntAxis j3, rowDot xmat o9 1 m.jntAxis j3, rowDot xmat o9 2 m.jntAxis j3
        // pos = anchor - r jpos once r has turned
        let inline reanchor () =
            let px, py, pz = rowDot xmat o9 0 jp j3, rowDot xmat o9 1 jp j3, rowDot xmat o9 2 jp j3
            xpos[o3] <- anx - px
            xpos[o3 + 1] <- any - py
            xpos[o3 + 2] <- anz - pz
        match m.jntType[j] with
        | Slide ->
            let q = qpos[adr] - m.qpos0[adr]
            xpos[o3] <- xpos[o3] + awx * q
            xpos[o3 + 1] <- xpos[o3 + 1] + awy * q
            xpos[o3 + 2] <- xpos[o3 + 2] + awz * q
            let zero = lift 0.0
            setCdof cdof dof zero zero zero zero zero zero
            cdof[dof * 6 + 3] <- awx
            cdof[dof * 6 + 4] <- awy
            cdof[dof * 6 + 5] <- awz
        | Hinge ->
            // r <- r (I + sin q K + (1 - cos q) K^2) (Rodrigues)
            let q = qpos[adr] - m.qpos0[adr]
            let s, c = sin q, lift 1.0 - cos q
            let rj, r0 = w.tmp9, w.tmp9b
            for k in 0 .. 8 do
                rj[k] <- (lift (if k % 4 = 0 then 1.0 else 0.0) + s * m.jntK[j * 9 + k]) + c * m.jntKK[j * 9 + k]
            Array.blit xmat o9 r0 0 9
            mul33 r0 0 rj 0 xmat o9
            reanchor ()
            setCdof cdof dof awx awy awz anx any anz
        | Ball ->
            let rj, r0 = w.tmp9, w.tmp9b
            FastModelBuild.quatToMatInto qpos adr rj 0
            Array.blit xmat o9 r0 0 9
            mul33 r0 0 rj 0 xmat o9
            reanchor ()
            w.pendingDof[pending] <- dof
            w.pendingAnchor[3 * pending] <- anx
            w.pendingAnchor[3 * pending + 1] <- any
            w.pendingAnchor[3 * pending + 2] <- anz
            pending <- pending + 1
        | Free ->
            xpos[o3] <- qpos[adr]
            xpos[o3 + 1] <- qpos[adr + 1]
            xpos[o3 + 2] <- qpos[adr + 2]
            FastModelBuild.quatToMatInto qpos (adr + 3) xmat o9
            let zero = lift 0.0
            for k in 0 .. 2 do
                setCdof cdof (dof + k) zero zero zero zero zero zero
                cdof[(dof + k) * 6 + 3 + k] <- lift 1.0
            w.pendingDof[pending] <- dof + 3
            w.pendingAnchor[3 * pending] <- qpos[adr]
            w.pendingAnchor[3 * pending + 1] <- qpos[adr + 1]
            w.pendingAnchor[3 * pending + 2] <- qpos[adr + 2]
            pending <- pending + 1

    /// Forward kinematics (Kinematics.compute): xpos, xmat, xipos and cdof of every body from qpos.
    let inline internal kinematicsInto (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) =
        let xpos, xmat = w.xpos, w.xmat
        for i in 0 .. m.nbody - 1 do
            let par = m.parent[i]
            let o3, o9 = i * 3, i * 9
            if par < 0 then
                Array.blit m.bodyR o9 xmat o9 9
                Array.blit m.bodyPos o3 xpos o3 3
            else
                mul33 xmat (par * 9) m.bodyR o9 xmat o9
                for k in 0 .. 2 do
                    xpos[o3 + k] <- xpos[par * 3 + k] + rowDot xmat (par * 9) k m.bodyPos o3
            let mutable pending = 0
            for j in m.bodyJntAdr[i] .. m.bodyJntAdr[i] + m.bodyJntNum[i] - 1 do
                joint m w qpos i j &pending
            // ball and free rotations: the body's final axes about the joint anchor
            for p in 0 .. pending - 1 do
                let ax, ay, az = w.pendingAnchor[3 * p], w.pendingAnchor[3 * p + 1], w.pendingAnchor[3 * p + 2]
                for k in 0 .. 2 do
                    setCdof w.cdof (w.pendingDof[p] + k) xmat[o9 + k] xmat[o9 + 3 + k] xmat[o9 + 6 + k] ax ay az
        for i in 0 .. m.nbody - 1 do
            for k in 0 .. 2 do
                w.xipos[i * 3 + k] <- xpos[i * 3 + k] + rowDot xmat (i * 9) k m.bodyIpos (i * 3)

    /// Spatial inertia of body b about the world origin (Spatial.spatialInertia) into w.cinert.
    let inline internal spatialInertia (m: FastModel< ^T>) (w: FastWork< ^T>) (b: int) =
        let s, ci = w.scratch, w.cinert
        let o9, co = b * 9, b * 36
        // I_world = (R I) R^T at s[0..8]; [c]x at s[9..17]; [c]x [c]x at s[18..26]
        mul33 w.xmat o9 m.bodyInertia o9 w.tmp9 0
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                s[i * 3 + j] <- rowDot w.tmp9 0 i w.xmat (o9 + j * 3)
        let cx, cy, cz = w.xipos[b * 3], w.xipos[b * 3 + 1], w.xipos[b * 3 + 2]
        let zero = lift 0.0
        s[9] <- zero; s[10] <- -cz; s[11] <- cy
        s[12] <- cz; s[13] <- zero; s[14] <- -cx
        s[15] <- -cy; s[16] <- cx; s[17] <- zero
        mul33 s 9 s 9 s 18
        let mass = m.bodyMass[b]
        for i in 0 .. 2 do
            for j in 0 .. 2 do
                ci[co + i * 6 + j] <- s[i * 3 + j] - mass * s[18 + i * 3 + j]
                ci[co + i * 6 + 3 + j] <- mass * s[9 + i * 3 + j]
                ci[co + (3 + i) * 6 + j] <- -(mass * s[9 + i * 3 + j])
                ci[co + (3 + i) * 6 + 3 + j] <- mass * lift (if i = j then 1.0 else 0.0)

    /// Mass matrix by CRBA (composite inertias; armature on the diagonal) into w.qM; with hK > 0, M + h C for the contact
    /// stiffness K per body in w.kbody (C = sum_b J_b^T K_b J_b has the form of M).
    let inline internal crba (m: FastModel< ^T>) (w: FastWork< ^T>) (hK: float) =
        let nb, nv = m.nbody, m.nv
        let ic, qM, cdof, f = w.icomp, w.qM, w.cdof, w.scratch
        if hK > 0.0 then
            let hKT = lift hK
            for i in 0 .. nb * 36 - 1 do ic[i] <- w.cinert[i] + hKT * w.kbody[i]
        else Array.blit w.cinert 0 ic 0 (nb * 36)
        for b in nb - 1 .. -1 .. 0 do
            let par = m.parent[b]
            if par >= 0 then
                for k in 0 .. 35 do
                    ic[par * 36 + k] <- ic[par * 36 + k] + ic[b * 36 + k]
        Array.Clear qM
        for k in 0 .. nv - 1 do
            mul66v ic (m.dofBody[k] * 36) cdof (k * 6) f 0
            for j in m.dofAnc[k] do
                let v = dot6 cdof (j * 6) f 0
                qM[j * nv + k] <- v
                qM[k * nv + j] <- v
            qM[k * nv + k] <- qM[k * nv + k] + m.dofArmature[k]

    /// Bias forces by RNEA with qacc = 0 (velocities, cdof_dot, accelerations from -gravity, subtree forces) into w.bias.
    let inline internal rnea (m: FastModel< ^T>) (w: FastWork< ^T>) (qvel: ^T[]) =
        let nb, nv = m.nbody, m.nv
        let cvel, cacc, cfrc, cdof, cdd, s = w.cvel, w.cacc, w.cfrc, w.cdof, w.cdofDot, w.scratch
        for b in 0 .. nb - 1 do
            let par = m.parent[b]
            for i in 0 .. 5 do
                cvel[b * 6 + i] <- if par < 0 then lift 0.0 else cvel[par * 6 + i]
            for k in m.bodyDofAdr[b] .. m.bodyDofAdr[b] + m.bodyDofNum[b] - 1 do
                for i in 0 .. 5 do
                    cvel[b * 6 + i] <- cvel[b * 6 + i] + cdof[k * 6 + i] * qvel[k]
        // cdof_dot = v x cdof (crm(v) m = [w x a; u x a + w x l]) with v the velocity of the frame carrying the
        // dof's axis: the parent body plus this body's joints up to and including the dof's joint (MuJoCo
        // mj_comVel); zero for axes fixed in the world
        let fv = w.frameVel
        for b in 0 .. nb - 1 do
            let par = m.parent[b]
            for i in 0 .. 5 do
                fv[i] <- if par < 0 then lift 0.0 else cvel[par * 6 + i]
            for j in m.bodyJntAdr[b] .. m.bodyJntAdr[b] + m.bodyJntNum[b] - 1 do
                let d0 = m.jntDofAdr[j]
                let nd = match m.jntType[j] with Free -> 6 | Ball -> 3 | Hinge | Slide -> 1
                for k in d0 .. d0 + nd - 1 do
                    for i in 0 .. 5 do
                        fv[i] <- fv[i] + cdof[k * 6 + i] * qvel[k]
                for k in d0 .. d0 + nd - 1 do
                    let o = k * 6
                    let wx, wy, wz, ux, uy, uz = fv[0], fv[1], fv[2], fv[3], fv[4], fv[5]
                    let ax, ay, az, lx, ly, lz = cdof[o], cdof[o + 1], cdof[o + 2], cdof[o + 3], cdof[o + 4], cdof[o + 5]
                    let mv = m.dofMoving[k]
                    cdd[o] <- (wy * az - wz * ay) * mv
                    cdd[o + 1] <- (wz * ax - wx * az) * mv
                    cdd[o + 2] <- (wx * ay - wy * ax) * mv
                    cdd[o + 3] <- ((uy * az - uz * ay) + (wy * lz - wz * ly)) * mv
                    cdd[o + 4] <- ((uz * ax - ux * az) + (wz * lx - wx * lz)) * mv
                    cdd[o + 5] <- ((ux * ay - uy * ax) + (wx * ly - wy * lx)) * mv
        for b in 0 .. nb - 1 do
            let par = m.parent[b]
            for i in 0 .. 5 do
                cacc[b * 6 + i] <- if par >= 0 then cacc[par * 6 + i] elif i < 3 then lift 0.0 else -m.gravity[i - 3]
            for k in m.bodyDofAdr[b] .. m.bodyDofAdr[b] + m.bodyDofNum[b] - 1 do
                for i in 0 .. 5 do
                    cacc[b * 6 + i] <- cacc[b * 6 + i] + cdd[k * 6 + i] * qvel[k]
            // f = I a + v x* (I v), v x* = [[wx, ux], [0, wx]]
            mul66v w.cinert (b * 36) cvel (b * 6) s 0
            mul66v w.cinert (b * 36) cacc (b * 6) s 6
            let o = b * 6
            let wx, wy, wz, ux, uy, uz = cvel[o], cvel[o + 1], cvel[o + 2], cvel[o + 3], cvel[o + 4], cvel[o + 5]
            let ix, iy, iz, lx, ly, lz = s[0], s[1], s[2], s[3], s[4], s[5]
            cfrc[o] <- s[6] + ((wy * iz - wz * iy) + (uy * lz - uz * ly))
            cfrc[o + 1] <- s[7] + ((wz * ix - wx * iz) + (uz * lx - ux * lz))
            cfrc[o + 2] <- s[8] + ((wx * iy - wy * ix) + (ux * ly - uy * lx))
            cfrc[o + 3] <- s[9] + (wy * lz - wz * ly)
            cfrc[o + 4] <- s[10] + (wz * lx - wx * lz)
            cfrc[o + 5] <- s[11] + (wx * ly - wy * lx)
        for b in nb - 1 .. -1 .. 0 do
            let par = m.parent[b]
            if par >= 0 then
                for i in 0 .. 5 do
                    cfrc[par * 6 + i] <- cfrc[par * 6 + i] + cfrc[b * 6 + i]
        for k in 0 .. nv - 1 do
            w.bias[k] <- dot6 cdof (k * 6) cfrc (m.dofBody[k] * 6)

    /// A control mode as the kernels' DriveCode.
    let internal modeCode (c: ControlMode) =
        match c with
        | ControlMode.Force -> DriveCode.Force
        | ControlMode.Position -> DriveCode.Position
        | ControlMode.Velocity -> DriveCode.Velocity

    /// JointLimits.compute for dof k: the limit torque, with its velocity derivative (c + h k while violated) in w.limitDiag.
    let inline internal limitTorque (m: FastModel< ^T>) (w: FastWork< ^T>) (k: int) (q: ^T) (qv: ^T) (h: float) : ^T =
        let lo, hi = m.dofLimitLo[k], m.dofLimitHi[k]
        let zero = lift 0.0
        if Double.IsNaN(value lo) && Double.IsNaN(value hi) then
            w.limitDiag[k] <- zero
            zero
        else
            let s = lift JointLimits.softness
            let spLo, actLo = if Double.IsNaN(value lo) then zero, zero else (let b = (lo - q) / s in softplus b, sigmoid b)
            let spHi, actHi = if Double.IsNaN(value hi) then zero, zero else (let a = (q - hi) / s in softplus a, sigmoid a)
            w.limitDiag[k] <- (actLo + actHi) * lift (JointLimits.damping + h * JointLimits.stiffness)
            (spLo - spHi) * (lift JointLimits.stiffness * s) - (actLo + actHi) * qv * lift JointLimits.damping

    /// The Hamilton product a * b of quaternions given as (w, x, y, z) components.
    let inline internal quatMul (aw: ^T) (ax: ^T) (ay: ^T) (az: ^T) (bw: ^T) (bx: ^T) (by: ^T) (bz: ^T) =
        struct (aw * bw - ax * bx - ay * by - az * bz,
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw)

    /// Passive.quatSprings into w.rhs: free translations -k (x - x0), rotations -k r with r the rotation vector from
    /// the rest orientation (qpos0) to the current one (Spatial.quatSub), on every ball/free joint with a stiffness.
    let inline internal quatSprings (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) =
        for j in 0 .. m.jntType.Length - 1 do
            let jt = m.jntType[j]
            if jt = Ball || jt = Free then
                let d, a = m.jntDofAdr[j], m.jntQposAdr[j]
                let n = JointSpec.nvOf jt
                let mutable any = false
                for i in 0 .. n - 1 do any <- any || value m.dofStiffness[d + i] <> 0.0
                if any then
                    let rot, ang = (if jt = Free then a + 3, d + 3 else a, d)
                    if jt = Free then
                        for i in 0 .. 2 do
                            w.rhs[d + i] <- w.rhs[d + i] - m.dofStiffness[d + i] * (qpos[a + i] - m.qpos0[a + i])
                    // conj(q0) * (q / |q|), then its rotation vector as Spatial.quatToRotVec
                    let qw, qx, qy, qz = qpos[rot], qpos[rot + 1], qpos[rot + 2], qpos[rot + 3]
                    let nrm = sqrt (qw * qw + qx * qx + qy * qy + qz * qz)
                    let qw, qx, qy, qz = qw / nrm, qx / nrm, qy / nrm, qz / nrm
                    let struct (pw, px, py, pz) =
                        quatMul m.qpos0[rot] -m.qpos0[rot + 1] -m.qpos0[rot + 2] -m.qpos0[rot + 3] qw qx qy qz
                    let flip = lift (if value pw < 0.0 then -1.0 else 1.0)
                    let pw, px, py, pz = pw * flip, px * flip, py * flip, pz * flip
                    let s2 = px * px + py * py + pz * pz
                    let small = value s2 < 1e-24
                    let sn = sqrt (s2 + lift (if small then 1.0 else 0.0))
                    let f = if small then lift 2.0 + s2 / lift 3.0 else lift 2.0 * atan2 sn pw / sn
                    w.rhs[ang] <- w.rhs[ang] - m.dofStiffness[ang] * (px * f)
                    w.rhs[ang + 1] <- w.rhs[ang + 1] - m.dofStiffness[ang + 1] * (py * f)
                    w.rhs[ang + 2] <- w.rhs[ang + 2] - m.dofStiffness[ang + 2] * (pz * f)

    /// w.rhs = actuation + passive + contact (+ joint limits) - bias (the contact forces already in w.qfrcContact).
    let inline internal forces (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (modes: DriveCode[]) (qpos: ^T[]) (qvel: ^T[]) (ctrl: ^T[]) =
        let limits = sp.enableJointLimits && m.hasLimits
        let h = sp.dt / float sp.substeps
        let anyPos = Array.contains DriveCode.Position modes
        let anyVel = Array.contains DriveCode.Velocity modes
        let zero = lift 0.0
        for k in 0 .. m.nv - 1 do
            let qa = m.dofQposAdr[k]
            let q = if qa >= 0 then qpos[qa] else zero
            let v, qv, mode = ctrl[k], qvel[k], modes[k]
            let mutable tau = v * lift (if mode = DriveCode.Force then 1.0 else 0.0)
            if anyPos then tau <- tau + (m.kp[k] * (v - q) - m.kv[k] * qv) * lift (if mode = DriveCode.Position then 1.0 else 0.0)
            if anyVel then tau <- tau + m.kv[k] * (v - qv) * lift (if mode = DriveCode.Velocity then 1.0 else 0.0)
            let lo, hi = m.forceLo[k], m.forceHi[k]
            tau <- if Double.IsNaN(value tau) || value tau >= value lo then tau else lo
            tau <- if Double.IsNaN(value tau) || value tau <= value hi then tau else hi
            // Actuation.computeWithDamping: kv + h kp (position) or kv (velocity) where the force is not saturated
            let pdDiag =
                if mode = DriveCode.Force || not (value tau > value lo && value tau < value hi) then zero
                elif mode = DriveCode.Position then m.kv[k] + m.kp[k] * lift h
                else m.kv[k]
            w.limitDiag[k] <- zero
            let passive = -(m.dofStiffness[k] * (q - m.dofSpringref[k])) - m.dofDamping[k] * qv
            let smooth = tau + passive + (if sp.enableContact then w.qfrcContact[k] else zero)
            let smooth = if limits then smooth + limitTorque m w k q qv h else smooth
            w.limitDiag[k] <- w.limitDiag[k] + pdDiag
            w.rhs[k] <- smooth - w.bias[k]

    /// Factorises the SPD matrix a (nv x nv, symmetric, nonzero only between a dof and its ancestors) in place as
    /// L^T D L along the dof tree (MuJoCo mj_factorM: no fill-in).
    let inline internal ldlFactor (n: int) (parent: int[]) (a: ^T[]) =
        for k in n - 1 .. -1 .. 0 do
            let mutable i = parent[k]
            while i >= 0 do
                let t = a[k * n + i] / a[k * n + k]
                let mutable j = i
                while j >= 0 do
                    a[i * n + j] <- a[i * n + j] - t * a[k * n + j]
                    j <- parent[j]
                a[k * n + i] <- t
                i <- parent[i]

    /// Solves (L^T D L) x = b in place in x with the factor of ldlFactor (MuJoCo mj_solveM).
    let inline internal ldlSolveFactored (n: int) (parent: int[]) (a: ^T[]) (x: ^T[]) =
        for k in n - 1 .. -1 .. 0 do
            let mutable i = parent[k]
            while i >= 0 do
                x[i] <- x[i] - a[k * n + i] * x[k]
                i <- parent[i]
        for k in 0 .. n - 1 do
            x[k] <- x[k] / a[k * n + k]
        for k in 0 .. n - 1 do
            let mutable i = parent[k]
            while i >= 0 do
                x[k] <- x[k] - a[k * n + i] * x[i]
                i <- parent[i]

    /// Factorises a in place (ldlFactor), then solves into x (ldlSolveFactored).
    let inline internal ldlSolve (n: int) (parent: int[]) (a: ^T[]) (x: ^T[]) =
        ldlFactor n parent a
        ldlSolveFactored n parent a x

    /// Kinematics, dynamics and forces at (qpos, qvel): w.qM (M, or M + h C when needC), w.rhs = f - bias.
    let inline internal evaluate (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (needC: bool) (modes: DriveCode[]) (qpos: ^T[]) (qvel: ^T[]) (ctrl: ^T[]) =
        kinematicsInto m w qpos
        for b in 0 .. m.nbody - 1 do spatialInertia m w b
        rnea m w qvel
        if sp.enableContact then FastContact.compute m w sp.contact h needC
        crba m w (if needC then h else 0.0)
        forces m w sp modes qpos qvel ctrl
        quatSprings m w qpos

    /// The rotation q * exp(w dt / 2) of the quaternion at q[qo..] by the angular velocity v[vo..], normalised, into out[oo..].
    let inline internal quatStep (q: ^T[]) (qo: int) (v: ^T[]) (vo: int) (dt: float) (out: ^T[]) (oo: int) =
        let half = lift (0.5 * dt)
        let hx, hy, hz = v[vo] * half, v[vo + 1] * half, v[vo + 2] * half
        let theta2 = hx * hx + hy * hy + hz * hz
        let small = value theta2 < 1e-24
        let theta = sqrt (theta2 + lift (if small then 1.0 else 0.0))
        let sinc = if small then lift 1.0 - theta2 / lift 6.0 else sin theta / theta
        let bw = if small then lift 1.0 - theta2 / lift 2.0 else cos theta
        let bx, by, bz = hx * sinc, hy * sinc, hz * sinc
        let struct (nw, nx, ny, nz) = quatMul q[qo] q[qo + 1] q[qo + 2] q[qo + 3] bw bx by bz
        let n = sqrt (nw * nw + nx * nx + ny * ny + nz * nz)
        out[oo] <- nw / n
        out[oo + 1] <- nx / n
        out[oo + 2] <- ny / n
        out[oo + 3] <- nz / n

    /// Integrate.integratePos: qpos advanced by qvel over dt into out (out may be qpos).
    let inline internal integratePos (m: FastModel< ^T>) (qpos: ^T[]) (qvel: ^T[]) (dt: float) (out: ^T[]) =
        for j in 0 .. m.jntType.Length - 1 do
            let a, d = m.jntQposAdr[j], m.jntDofAdr[j]
            match m.jntType[j] with
            | Hinge | Slide -> out[a] <- qpos[a] + qvel[d] * lift dt
            | Ball -> quatStep qpos a qvel d dt out a
            | Free ->
                for k in 0 .. 2 do
                    out[a + k] <- qpos[a + k] + qvel[d + k] * lift dt
                quatStep qpos (a + 3) qvel (d + 3) dt out (a + 3)

    /// Semi-implicit Euler with implicit joint and contact damping: (M + h D + h C) qacc = f - bias (w.qpos, w.qvel in
    /// place); `ev` is `evaluate` instantiated for the scalar type (one method, so that the steps stay small) and `solve`
    /// is ldlSolve or a replacement with the same result.
    let inline internal eulerStepWith ([<InlineIfLambda>] ev) ([<InlineIfLambda>] solve) (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        let nv = m.nv
        let withC = sp.enableContact
        ev m w sp h withC modes w.qpos w.qvel w.ctrl
        let a = w.qM
        let hT = lift h
        for k in 0 .. nv - 1 do
            a[k * nv + k] <- a[k * nv + k] + m.dofDamping[k] * hT
        // joint limits and PD control, treated implicitly as on the Tensor path
        for k in 0 .. nv - 1 do
            a[k * nv + k] <- a[k * nv + k] + w.limitDiag[k] * hT
        if withC && w.denseC then
            for i in 0 .. nv * nv - 1 do
                a[i] <- a[i] + w.cmat[i]
            DenseLU.luSolveInPlace nv a 1 w.rhs
        else solve nv m.dofParent a w.rhs
        for k in 0 .. nv - 1 do
            w.qvel[k] <- w.qvel[k] + w.rhs[k] * hT
        integratePos m w.qpos w.qvel h w.qpos

    /// qacc = M^-1 (f - bias) at (qpos, qvel) into acc (explicit damping, for RK4).
    let inline internal accelerationWith ([<InlineIfLambda>] ev) ([<InlineIfLambda>] solve) (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (modes: DriveCode[]) (qpos: ^T[]) (qvel: ^T[]) (acc: ^T[]) =
        ev m w sp h false modes qpos qvel w.ctrl
        solve m.nv m.dofParent w.qM w.rhs
        Array.blit w.rhs 0 acc 0 m.nv

    /// Classic RK4 (Physics.step's scheme) on w.qpos, w.qvel in place.
    let inline internal rk4StepWith ([<InlineIfLambda>] ev) ([<InlineIfLambda>] solve) (m: FastModel< ^T>) (w: FastWork< ^T>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        let nv = m.nv
        let v, a, qv, q = w.v, w.a, w.qvel, w.qposTmp
        let half, whole, two, six = lift (h / 2.0), lift h, lift 2.0, lift 6.0
        Array.blit qv 0 v[0] 0 nv
        accelerationWith ev solve m w sp h modes w.qpos v[0] a[0]
        for k in 0 .. nv - 1 do v[1][k] <- qv[k] + a[0][k] * half
        integratePos m w.qpos v[0] (h / 2.0) q
        accelerationWith ev solve m w sp h modes q v[1] a[1]
        for k in 0 .. nv - 1 do v[2][k] <- qv[k] + a[1][k] * half
        integratePos m w.qpos v[1] (h / 2.0) q
        accelerationWith ev solve m w sp h modes q v[2] a[2]
        for k in 0 .. nv - 1 do v[3][k] <- qv[k] + a[2][k] * whole
        integratePos m w.qpos v[2] h q
        accelerationWith ev solve m w sp h modes q v[3] a[3]
        for k in 0 .. nv - 1 do
            qv[k] <- qv[k] + (a[0][k] + two * a[1][k] + two * a[2][k] + a[3][k]) * lift (h / 6.0)
            v[0][k] <- (v[0][k] + two * v[1][k] + two * v[2][k] + v[3][k]) / six
        integratePos m w.qpos v[0] h w.qpos

    /// evaluate on float64.
    let internal evaluateFloat (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (h: float) (needC: bool) (modes: DriveCode[]) (qpos: float[]) (qvel: float[]) (ctrl: float[]) =
        evaluate m w sp h needC modes qpos qvel ctrl

    /// The generic stage kernels instantiated on float64 and on the scalar tape, for callers outside this assembly's
    /// inlining (the stage contract tests): each forwards to the one kernel above.
    module internal Instances =
        /// kinematicsInto on the tape.
        let kinematicsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (qpos: TapeReal[]) = kinematicsInto m w qpos
        /// spatialInertia of every body on the tape.
        let spatialInertiaTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) = for b in 0 .. m.nbody - 1 do spatialInertia m w b
        /// rnea on the tape.
        let rneaTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (qvel: TapeReal[]) = rnea m w qvel
        /// crba on the tape.
        let crbaTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (hK: float) = crba m w hK
        /// ldlSolve on the tape.
        let ldlSolveTape (n: int) (parent: int[]) (a: TapeReal[]) (x: TapeReal[]) = ldlSolve n parent a x
        /// ldlSolve on float64.
        let ldlSolveFloat (n: int) (parent: int[]) (a: float[]) (x: float[]) = ldlSolve n parent a x
        /// integratePos on float64.
        let integratePosFloat (m: FastModel<float>) (qpos: float[]) (qvel: float[]) (dt: float) (out: float[]) = integratePos m qpos qvel dt out

    /// Contact forces (and their stiffness) on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal contactTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (h: float) (needC: bool) = FastContact.compute m w sp.contact h needC
    /// The contact points of the pairs not skipped (FastContact.pairs) on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal contactPairsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (h: float) (skip: bool[]) =
        FastContact.pairs m w sp.contact h true skip
    /// The springs of ball and free joints (quatSprings) on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal quatSpringsTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (qpos: TapeReal[]) = quatSprings m w qpos
    /// Actuation, passive forces, limits and quaternion springs on the scalar tape.
    [<MethodImpl(MethodImplOptions.NoInlining)>]
    let internal forcesTape (m: FastModel<TapeReal>) (w: FastWork<TapeReal>) (sp: SimParams) (modes: DriveCode[]) (qpos: TapeReal[]) (qvel: TapeReal[]) (ctrl: TapeReal[]) =
        forces m w sp modes qpos qvel ctrl
        quatSprings m w qpos

    /// One sub-step of w.qpos, w.qvel under w.ctrl on float64.
    let private subStepFloat (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (h: float) (modes: DriveCode[]) =
        match sp.integrator with
        | Integrator.Euler -> eulerStepWith evaluateFloat (fun n p a x -> ldlSolve n p a x) m w sp h modes
        | Integrator.RK4 -> rk4StepWith evaluateFloat (fun n p a x -> ldlSolve n p a x) m w sp h modes

    /// One step of w.qpos, w.qvel under w.ctrl on float64, in place, in sp.substeps sub-steps.
    let internal stepWork (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (modes: DriveCode[]) =
        let h = sp.dt / float sp.substeps
        for _ in 1 .. sp.substeps do
            subStepFloat m w sp h modes

    /// Steps envs [e0, e1) of the batch in place, in sp.substeps sub-steps.
    let private stepRange (m: FastModel<float>) (w: FastWork<float>) (sp: SimParams) (modes: DriveCode[]) (qpos: float[]) (qvel: float[]) (ctrl: float[]) (e0: int) (e1: int) =
        let nq, nv = m.nq, m.nv
        for e in e0 .. e1 - 1 do
            Array.blit qpos (e * nq) w.qpos 0 nq
            Array.blit qvel (e * nv) w.qvel 0 nv
            Array.blit ctrl (e * nv) w.ctrl 0 nv
            stepWork m w sp modes
            Array.blit w.qpos 0 qpos (e * nq) nq
            Array.blit w.qvel 0 qvel (e * nv) nv

    /// Steps nEnvs envs in place: qpos [nEnvs * nq], qvel [nEnvs * nv], ctrl [nEnvs * nv] row-major, over the cores when large.
    let internal stepBatch (m: FastModel<float>) (sp: SimParams) (modes: ControlMode[]) (nEnvs: int) (qpos: float[]) (qvel: float[]) (ctrl: float[]) =
        let codes = modes |> Array.map modeCode
        let cores = Environment.ProcessorCount
        if nEnvs < parallelFrom || cores = 1 then
            let w = FastModelBuild.rent m
            try stepRange m w sp codes qpos qvel ctrl 0 nEnvs
            finally FastModelBuild.giveBack m w
        else
            let chunks = min nEnvs (4 * cores)
            try
                Parallel.For(0, chunks, fun c ->
                    let w = FastModelBuild.rent m
                    try stepRange m w sp codes qpos qvel ctrl (c * nEnvs / chunks) ((c + 1) * nEnvs / chunks)
                    finally FastModelBuild.giveBack m w)
                |> ignore
            with :? AggregateException as e when e.InnerExceptions.Count > 0 -> ExceptionDispatchInfo.Throw(e.InnerExceptions[0])

    let private cache = ConditionalWeakTable<Model, FastModel<float>>()

    /// The fast-path constants of a model, read once and re-read when a parameter tensor was replaced in place.
    let internal prepare (model: Model) : FastModel<float> =
        let fm = cache.GetValue(model, fun m -> FastModelBuild.build m)
        if FastModelBuild.readFrom model.parameters fm.source then fm
        else
            let fresh = FastModelBuild.build model
            cache.AddOrUpdate(model, fresh)
            fresh

    /// Physics.step on the fast path: the same state after sp.dt, as constant tensors of the state's dtype (no graph).
    let step (model: Model) (sp: SimParams) (state: State) (control: Control) : State =
        let m = prepare model
        let scene = Apply.sceneOf [| state.qpos; state.qvel; control.values |]
        let b = state.qpos.shape[0]
        let qpos, qvel = state.qpos.toFloatArray(), state.qvel.toFloatArray()
        let ctrl = control.values.expand([ b; m.nv ]).toFloatArray()
        stepBatch m sp control.modes b qpos qvel ctrl
        let out (like: Tensor) (values: float[]) = (Tensor.Constant(like, values, like.shape)).WithScene scene
        let h = sp.dt / float sp.substeps
        let mutable time = state.time
        for _ in 1 .. sp.substeps do time <- time + h
        { qpos = out state.qpos qpos; qvel = out state.qvel qvel; time = time }

    /// Kinematics.compute on the fast path: poses and motion subspaces as constant tensors of qpos' dtype (no graph).
    let kinematics (model: Model) (qpos: Tensor) : Kinematics =
        let m = prepare model
        let b, nb, nv = qpos.shape[0], m.nbody, m.nv
        let q = qpos.toFloatArray()
        let xpos, xmat, xipos, cdof = Array.zeroCreate (b * nb * 3), Array.zeroCreate (b * nb * 9), Array.zeroCreate (b * nb * 3), Array.zeroCreate (b * nv * 6)
        let w = FastModelBuild.rent m
        try
            for e in 0 .. b - 1 do
                Array.blit q (e * m.nq) w.qpos 0 m.nq
                kinematicsInto m w w.qpos
                Array.blit w.xpos 0 xpos (e * nb * 3) (nb * 3)
                Array.blit w.xmat 0 xmat (e * nb * 9) (nb * 9)
                Array.blit w.xipos 0 xipos (e * nb * 3) (nb * 3)
                Array.blit w.cdof 0 cdof (e * nv * 6) (nv * 6)
        finally FastModelBuild.giveBack m w
        let t (values: float[]) (shape: int[]) = Tensor.Constant(qpos, values, shape).WithScene qpos.scene
        { xpos = t xpos [| b; nb; 3 |]; xmat = t xmat [| b; nb; 3; 3 |]; xipos = t xipos [| b; nb; 3 |]; cdof = t cdof [| b; nv; 6 |] }

/// A batch of envs of one model stepped on the fast path over float64 arrays it owns (no tensors): set qpos, qvel and
/// ctrl (row-major [nEnvs * n]) and the modes, then step().
[<Sealed>]
type FastSim(model: Model, simParams: SimParams, nEnvs: int) =
    do if nEnvs < 1 then raise (ArgumentException(sprintf "FastSim: nEnvs must be >= 1, got %d" nEnvs, "nEnvs"))
    let m = FastStep.prepare model
    let qpos0 = Array.init (nEnvs * m.nq) (fun i -> m.qpos0[i % m.nq])
    let qvel0: float[] = Array.zeroCreate (nEnvs * m.nv)
    let ctrl0: float[] = Array.zeroCreate (nEnvs * m.nv)
    let mutable modes0 = Array.create m.nv ControlMode.Force
    let mutable time0 = 0.0
    /// Number of envs.
    member _.nEnvs = nEnvs
    /// Generalised positions [nEnvs * nq] (row-major; starts at qpos0).
    member _.qpos = qpos0
    /// Generalised velocities [nEnvs * nv] (starts at 0).
    member _.qvel = qvel0
    /// Control values [nEnvs * nv]: forces or targets by mode.
    member _.ctrl = ctrl0
    /// The control mode of each dof (Force by default).
    member _.modes
        with get () = modes0
        and set (v: ControlMode[]) =
            if v.Length <> m.nv then raise (ArgumentException(sprintf "FastSim.modes: expected %d modes, got %d" m.nv v.Length, "modes"))
            modes0 <- v
    /// Simulated time (s).
    member _.time = time0
    /// Advances every env by dt.
    member _.step() =
        FastStep.stepBatch m simParams modes0 nEnvs qpos0 qvel0 ctrl0
        time0 <- time0 + simParams.dt


