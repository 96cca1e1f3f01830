namespace Genesis.Physics

open System
open System.Runtime.CompilerServices
open Genesis

/// Equality constraints as MuJoCo's soft constraints (mj_instantiateEquality, mj_makeImpedance and the solve of the
/// equality rows, docs/computation.md "Equality constraints"): residual r and Jacobian J per constraint, reference
/// acceleration aref = -B J qvel - K d(r) r, regulariser R = (1 - d) / d diagApprox, and the force J^T lambda with
/// (J M^-1 J^T + R) lambda = aref - J M^-1 f.
module Equality =
    /// MuJoCo's mjMINVAL.
    let internal minVal = 1e-15
    /// Added under the square root of a constraint's violation norm, so that its gradient is finite at zero.
    let internal normFloor = 1e-300

    /// Rows of one constraint: connect 3, weld 6, joint coupling 1.
    let rowsOf (e: EqualityConstraint) = match e.kind with Connect -> 3 | Weld -> 6 | JointCoupling -> 1

    /// MuJoCo's stiffness K and damping B of a constraint (solref: standard (timeconst, dampratio) with the time
    /// constant kept >= 2 h, or direct (-stiffness, -damping)) scaled by the impedance's dmax.
    let gains (e: EqualityConstraint) (h: float) =
        let dmax = e.solimp[1]
        let tc = if e.solref[0] > 0.0 then max e.solref[0] (2.0 * h) else e.solref[0]
        let k = if tc > 0.0 then 1.0 / max minVal (dmax * dmax * tc * tc * e.solref[1] * e.solref[1]) else -tc / max minVal (dmax * dmax)
        let b = if e.solref[1] > 0.0 then 2.0 / max minVal (dmax * tc) else -e.solref[1] / max minVal dmax
        k, b

    /// MuJoCo's impedance d(pos) (getimpedance with zero margin) on floats: dmin at 0 rising to dmax at |pos| = width.
    let impedance (solimp: float[]) (pos: float) =
        let d0, d1, width, mid, p = solimp[0], solimp[1], solimp[2], solimp[3], solimp[4]
        if d0 = d1 || width <= minVal then 0.5 * (d0 + d1)
        else
            let x = abs pos / width
            if x >= 1.0 then d1
            elif x <= 0.0 then d0
            else
                let y =
                    if p = 1.0 then x
                    elif x <= mid then x ** p / mid ** (p - 1.0)
                    else 1.0 - (1.0 - x) ** p / (1.0 - mid) ** (p - 1.0)
                d0 + y * (d1 - d0)

    /// The inverse mass matrix at qpos0 (float64), and the kinematics there.
    let private atQpos0 (model: Model) =
        let topo = model.topology
        let like = model.parameters.bodyMass
        let q0 = Spatial.constLike like [| 1; topo.nq |] topo.qpos0
        let kin = Kinematics.compute model q0
        let dyn = Dynamics.compute model kin (Spatial.constLike like [| 1; topo.nv |] (Array.zeroCreate topo.nv))
        let nv = topo.nv
        let a = dyn.qM.toFloatArray()
        let inv = Array.init (nv * nv) (fun k -> if k / nv = k % nv then 1.0 else 0.0)
        if nv > 0 then DenseLU.luSolveInPlace nv a nv inv
        inv, kin

    /// MuJoCo's body_invweight0 (translation, rotation) of body b: the mean diagonal of J M^-1 J^T over the COM
    /// Jacobian's translation and rotation rows at qpos0.
    let private bodyInvWeight (topo: Topology) (minv: float[]) (cdof: float[]) (xipos: float[]) (b: int) =
        let nv = topo.nv
        let mask = Model.ancestorMask topo
        let cols = [| for k in 0 .. nv - 1 do if mask[b * nv + k] = 1.0 then k |]
        let c = xipos[b * 3 .. b * 3 + 2]
        // translation column k: lin_k + ang_k x c; rotation column: ang_k
        let col (k: int) =
            let a, l = cdof[k * 6 .. k * 6 + 2], cdof[k * 6 + 3 .. k * 6 + 5]
            SpecMath.add l (SpecMath.cross a c), a
        let jc = cols |> Array.map col
        let trace (pick: float[] * float[] -> float[]) =
            let mutable s = 0.0
            for i in 0 .. cols.Length - 1 do
                for j in 0 .. cols.Length - 1 do
                    s <- s + SpecMath.dot (pick jc[i]) (pick jc[j]) * minv[cols[i] * nv + cols[j]]
            s / 3.0
        if cols.Length = 0 then 0.0, 0.0 else trace fst, trace snd

    let private cache = ConditionalWeakTable<Topology, EqualityConstants>()

    /// The constants of the model's equality constraints (rows, MuJoCo's efc_diagApprox per row, weld rotations),
    /// computed once per topology from the parameters at qpos0, as MuJoCo's mj_setConst does at compile time.
    let internal constants (model: Model) : EqualityConstants =
        cache.GetValue(model.topology, fun topo ->
            let items = topo.equality
            let rowAdr = items |> Array.map rowsOf |> Array.scan (+) 0
            let diag =
                if items.Length = 0 then [||]
                else
                    let minv, kin = atQpos0 model
                    let cdof, xipos = kin.cdof.toFloatArray(), kin.xipos.toFloatArray()
                    let trans (b: int) = fst (bodyInvWeight topo minv cdof xipos b)
                    let dofInv (j: int) = if j < 0 then 0.0 else (let d = topo.jntDofAdr[j] in minv[d * topo.nv + d])
                    items |> Array.collect (fun e ->
                        match e.kind with
                        // MuJoCo 2.2 approximates all six weld rows by the bodies' translational weights
                        | Connect | Weld -> Array.create (rowsOf e) (trans e.body1 + trans e.body2)
                        | JointCoupling -> [| dofInv e.joint1 + dofInv e.joint2 |])
            let relMat = items |> Array.map (fun e -> if e.kind = Weld then SpecMath.quatToMat e.data[6..9] else Array.zeroCreate 9)
            { items = items; rowAdr = rowAdr[.. items.Length - 1]; rows = rowAdr[items.Length]; diag = diag; relMat = relMat })

    /// Number of constraint rows of a model.
    let rowCount (model: Model) = (constants model).rows

    let private col (t: Tensor) (i: int) = t.narrow(1, i, 1)

    /// The point Jacobian [B; 3; nv] of body b at world points p [B; 3] (cdof [B; nv; 6] = (axis; linear part)).
    let private pointJacobian (topo: Topology) (kin: Kinematics) (b: int) (p: Tensor) =
        let nb, nv = p.shape[0], topo.nv
        let mask = Spatial.constLike p [| nv; 1 |] (Model.ancestorMask topo).[b * nv .. b * nv + nv - 1]
        let ang, lin = kin.cdof.narrow(2, 0, 3), kin.cdof.narrow(2, 3, 3)
        ((lin + Spatial.cross ang (p.unsqueeze(1).expand([ nb; nv; 3 ]))) * mask).transpose(1, 2)

    /// The rotation Jacobian [B; 3; nv] of body b.
    let private rotationJacobian (topo: Topology) (kin: Kinematics) (b: int) =
        let nv = topo.nv
        let mask = Spatial.constLike kin.cdof [| nv; 1 |] (Model.ancestorMask topo).[b * nv .. b * nv + nv - 1]
        (kin.cdof.narrow(2, 0, 3) * mask).transpose(1, 2)

    let private frame (kin: Kinematics) (b: int) = kin.xpos.narrow(1, b, 1).squeeze(1), kin.xmat.narrow(1, b, 1).squeeze(1)

    /// Residual [B; 3 or 6] and Jacobian [B; rows; nv] of a connect or weld (MuJoCo's eq_data anchors).
    let private bodyRows (topo: Topology) (kin: Kinematics) (e: EqualityConstraint) (rel: float[]) =
        let x1, r1 = frame kin e.body1
        let x2, r2 = frame kin e.body2
        let like = kin.xpos
        let a1, a2 = (if e.kind = Connect then e.data[0..2], e.data[3..5] else e.data[3..5], e.data[0..2])
        let p1 = x1 + Spatial.rotate r1 (Spatial.constLike like [| 3 |] a1)
        let p2 = x2 + Spatial.rotate r2 (Spatial.constLike like [| 3 |] a2)
        let jPos = pointJacobian topo kin e.body1 p1 - pointJacobian topo kin e.body2 p2
        if e.kind = Connect then p1 - p2, jPos
        else
            // orientation error: the vector part of q2^-1 q1 qrel, from E = R2^T R1 Rrel (w > 0 near the identity)
            let nb = like.shape[0]
            let r2t = r2.transpose(1, 2)
            let m = r2t.matmul(r1).matmul(Spatial.constLike like [| 1; 3; 3 |] rel |> fun t -> t.expand([ nb; 3; 3 ])).reshape([ nb; 9 ])
            let w = ((col m 0 + col m 4 + col m 8 + 1.0).sqrt()) * 0.5
            let v = gs.cat([| col m 7 - col m 5; col m 2 - col m 6; col m 3 - col m 1 |], 1) / (w * 4.0)
            // d vec / dt = 0.5 (w E3 - [v]x) R2^T (omega1 - omega2)
            let eye3 = Spatial.eyeLike like 3
            let jRot = ((w.unsqueeze(-1) * eye3 - Spatial.skew v) * 0.5).matmul(r2t).matmul(rotationJacobian topo kin e.body1 - rotationJacobian topo kin e.body2)
            gs.cat([| p1 - p2; v |], 1), gs.cat([| jPos; jRot |], 1)

    /// Residual [B; 1] and Jacobian [B; 1; nv] of a joint coupling: q1 - q1ref - poly(q2 - q2ref).
    let private jointRows (topo: Topology) (qpos: Tensor) (e: EqualityConstraint) =
        let nb, nv = qpos.shape[0], topo.nv
        let c = e.data
        let unit (j: int) = Spatial.constLike qpos [| 1; 1; nv |] (Array.init nv (fun k -> if k = topo.jntDofAdr[j] then 1.0 else 0.0))
        let a1 = topo.jntQposAdr[e.joint1]
        let q1 = col qpos a1 - topo.qpos0[a1]
        if e.joint2 < 0 then (q1 - c[0]), (unit e.joint1).expand([ nb; 1; nv ])
        else
            let a2 = topo.jntQposAdr[e.joint2]
            let d = col qpos a2 - topo.qpos0[a2]
            let poly = d * (d * (d * (d * c[4] + c[3]) + c[2]) + c[1]) + c[0]
            let deriv = d * (d * (d * (4.0 * c[4]) + 3.0 * c[3]) + 2.0 * c[2]) + c[1]
            q1 - poly, unit e.joint1 - deriv.unsqueeze(-1) * unit e.joint2

    /// Residual r [B; rows] and Jacobian J [B; rows; nv] of every constraint, in model order.
    let residual (model: Model) (kin: Kinematics) (qpos: Tensor) : Tensor * Tensor =
        let ec = constants model
        let parts =
            ec.items |> Array.mapi (fun i e ->
                match e.kind with
                | Connect | Weld -> bodyRows model.topology kin e ec.relMat[i]
                | JointCoupling -> jointRows model.topology qpos e)
        gs.cat(Array.map fst parts, 1), gs.cat(Array.map snd parts, 1)

    /// The violation of each constraint [B; neq]: the norm of its residual (position error in m, orientation error as
    /// sin(angle / 2), joint coupling error in rad or m).
    let violation (model: Model) (kin: Kinematics) (qpos: Tensor) : Tensor =
        let ec = constants model
        if ec.items.Length = 0 then gs.zeros([ qpos.shape[0]; 0 ], dtype = qpos.dtype)
        else
        let r, _ = residual model kin qpos
        gs.cat(ec.items |> Array.mapi (fun i e -> r.narrow(1, ec.rowAdr[i], rowsOf e).pow(2.0).sum(1, keepDim = true).sqrt()), 1)

    /// MuJoCo's impedance of one constraint at violation norms pos [B; 1] (Tensor form of `impedance`).
    let private impedanceT (solimp: float[]) (pos: Tensor) =
        let d0, d1, width, mid, p = solimp[0], solimp[1], solimp[2], solimp[3], solimp[4]
        if d0 = d1 || width <= minVal then gs.onesLike pos * (0.5 * (d0 + d1))
        else
            let x = (pos / width).clamp(min = 0.0, max = 1.0)
            let y =
                if p = 1.0 then x
                else Tensor.where(x.gt mid, 1.0 - (1.0 - x).pow(p) / (1.0 - mid) ** (p - 1.0), x.pow(p) / mid ** (p - 1.0))
            y * (d1 - d0) + d0

    /// The generalised constraint force J^T lambda [B; nv] at (qpos, qvel) for the matrix `mass` [B; nv; nv] and the
    /// forces f [B; nv] (f - bias): (J mass^-1 J^T + R) lambda = aref - J mass^-1 f; zeros without constraints.
    let force (model: Model) (h: float) (kin: Kinematics) (qpos: Tensor) (qvel: Tensor) (mass: Tensor) (f: Tensor) : Tensor =
        let ec = constants model
        if ec.rows = 0 then gs.zerosLike f
        else
            let r, j = residual model kin qpos
            let jv = j.matmul(qvel.unsqueeze(-1)).squeeze(-1)
            let pieces =
                ec.items |> Array.mapi (fun i e ->
                    let n = rowsOf e
                    let ri, jvi = r.narrow(1, ec.rowAdr[i], n), jv.narrow(1, ec.rowAdr[i], n)
                    let imp = impedanceT e.solimp ((ri.pow(2.0).sum(1, keepDim = true) + normFloor).sqrt())
                    let k, b = gains e h
                    let aref = jvi * (-b) - imp * ri * k
                    let diag = Spatial.constLike r [| n |] ec.diag[ec.rowAdr[i] .. ec.rowAdr[i] + n - 1]
                    let reg = ((1.0 - imp) / imp * diag).clamp(min = minVal)
                    aref, reg)
            let aref, reg = gs.cat(Array.map fst pieces, 1), gs.cat(Array.map snd pieces, 1)
            let jt = j.transpose(1, 2)
            let x = Solve.solve mass (gs.cat([| f.unsqueeze(-1); jt |], 2))
            let a0, minvJt = x.narrow(2, 0, 1), x.narrow(2, 1, ec.rows)
            let schur = j.matmul(minvJt) + reg.unsqueeze(-1) * Spatial.eyeLike r ec.rows
            let lambda = Solve.solve schur (aref.unsqueeze(-1) - j.matmul(a0))
            jt.matmul(lambda).squeeze(-1)

    /// f + force (f unchanged without constraints).
    let addForce (model: Model) (h: float) (kin: Kinematics) (qpos: Tensor) (qvel: Tensor) (mass: Tensor) (f: Tensor) : Tensor =
        if (constants model).rows = 0 then f else f + force model h kin qpos qvel mass f

/// The equality constraints on arrays, generic over the scalar (the fast path on floats, the tape path on TapeReal).
module internal EqualityKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

    /// Adds sign * (point Jacobian of body b at p) to rows row0..row0+2 of j (nv columns).
    let inline private addPointJacobian (m: FastModel< ^T>) (w: FastWork< ^T>) (j: ^T[]) (row0: int) (b: int) (px: ^T) (py: ^T) (pz: ^T) (sign: ^T) =
        let nv = m.nv
        for k in m.bodyDofs[b] do
            let o = k * 6
            let ax, ay, az = w.cdof[o], w.cdof[o + 1], w.cdof[o + 2]
            j[row0 * nv + k] <- j[row0 * nv + k] + sign * (w.cdof[o + 3] + ay * pz - az * py)
            j[(row0 + 1) * nv + k] <- j[(row0 + 1) * nv + k] + sign * (w.cdof[o + 4] + az * px - ax * pz)
            j[(row0 + 2) * nv + k] <- j[(row0 + 2) * nv + k] + sign * (w.cdof[o + 5] + ax * py - ay * px)

    /// World point x_b + R_b a of body b for an anchor a (floats).
    let inline private worldPoint (w: FastWork< ^T>) (b: int) (a: float[]) (ao: int) =
        let r = w.xmat
        let p (i: int) = w.xpos[b * 3 + i] + r[b * 9 + i * 3] * lift a[ao] + r[b * 9 + i * 3 + 1] * lift a[ao + 1] + r[b * 9 + i * 3 + 2] * lift a[ao + 2]
        struct (p 0, p 1, p 2)

    /// Rows of a connect or weld at row0: residual into res, Jacobian into j.
    let inline private bodyRows (m: FastModel< ^T>) (w: FastWork< ^T>) (e: EqualityConstraint) (rel: float[]) (row0: int) (res: ^T[]) (j: ^T[]) =
        let nv = m.nv
        let o1, o2 = (if e.kind = Connect then 0, 3 else 3, 0)
        let struct (p1x, p1y, p1z) = worldPoint w e.body1 e.data o1
        let struct (p2x, p2y, p2z) = worldPoint w e.body2 e.data o2
        res[row0] <- p1x - p2x
        res[row0 + 1] <- p1y - p2y
        res[row0 + 2] <- p1z - p2z
        addPointJacobian m w j row0 e.body1 p1x p1y p1z (lift 1.0)
        addPointJacobian m w j row0 e.body2 p2x p2y p2z (lift -1.0)
        if e.kind = Weld then
            let r1, r2, b1, b2 = w.xmat, w.xmat, e.body1 * 9, e.body2 * 9
            // E = R2^T R1 Rrel
            let r1rel (i: int) (k: int) = r1[b1 + i * 3] * lift rel[k] + r1[b1 + i * 3 + 1] * lift rel[3 + k] + r1[b1 + i * 3 + 2] * lift rel[6 + k]
            let em (i: int) (k: int) = r2[b2 + i] * r1rel 0 k + r2[b2 + 3 + i] * r1rel 1 k + r2[b2 + 6 + i] * r1rel 2 k
            let wq = sqrt (lift 1.0 + em 0 0 + em 1 1 + em 2 2) * lift 0.5
            let s = lift 0.25 / wq
            let vx, vy, vz = (em 2 1 - em 1 2) * s, (em 0 2 - em 2 0) * s, (em 1 0 - em 0 1) * s
            res[row0 + 3] <- vx
            res[row0 + 4] <- vy
            res[row0 + 5] <- vz
            let half = lift 0.5
            let rot (k: int) (b: int) = if b >= 0 && Array.contains k m.bodyDofs[b] then 1 else 0
            for k in 0 .. nv - 1 do
                let sgn = rot k e.body1 - rot k e.body2
                if sgn <> 0 then
                    let sg = lift (float sgn)
                    let ux, uy, uz = w.cdof[k * 6] * sg, w.cdof[k * 6 + 1] * sg, w.cdof[k * 6 + 2] * sg
                    // u' = R2^T u; column = 0.5 (w u' + u' x v)
                    let ax = r2[b2] * ux + r2[b2 + 3] * uy + r2[b2 + 6] * uz
                    let ay = r2[b2 + 1] * ux + r2[b2 + 4] * uy + r2[b2 + 7] * uz
                    let az = r2[b2 + 2] * ux + r2[b2 + 5] * uy + r2[b2 + 8] * uz
                    j[(row0 + 3) * nv + k] <- half * (wq * ax + ay * vz - az * vy)
                    j[(row0 + 4) * nv + k] <- half * (wq * ay + az * vx - ax * vz)
                    j[(row0 + 5) * nv + k] <- half * (wq * az + ax * vy - ay * vx)

    /// The row of a joint coupling at row0.
    let inline private jointRow (m: FastModel< ^T>) (e: EqualityConstraint) (qpos: ^T[]) (row0: int) (res: ^T[]) (j: ^T[]) =
        let nv, c = m.nv, e.data
        let a1 = m.jntQposAdr[e.joint1]
        let q1 = qpos[a1] - m.qpos0[a1]
        j[row0 * nv + m.jntDofAdr[e.joint1]] <- lift 1.0
        if e.joint2 < 0 then res[row0] <- q1 - lift c[0]
        else
            let a2 = m.jntQposAdr[e.joint2]
            let d = qpos[a2] - m.qpos0[a2]
            res[row0] <- q1 - (d * (d * (d * (d * lift c[4] + lift c[3]) + lift c[2]) + lift c[1]) + lift c[0])
            let deriv = d * (d * (d * lift (4.0 * c[4]) + lift (3.0 * c[3])) + lift (2.0 * c[2])) + lift c[1]
            let k2 = row0 * nv + m.jntDofAdr[e.joint2]
            j[k2] <- j[k2] - deriv

    /// Equality.impedance on the scalar (the violation norm n >= 0).
    let inline private impedance (solimp: float[]) (n: ^T) : ^T =
        let d0, d1, width, mid, p = solimp[0], solimp[1], solimp[2], solimp[3], solimp[4]
        if d0 = d1 || width <= Equality.minVal then lift (0.5 * (d0 + d1))
        else
            let x = n / lift width
            if value x >= 1.0 then lift d1
            elif value x <= 0.0 then lift d0
            else
                let pw (b: ^T) = if p = 1.0 then b elif p = 2.0 then b * b else exp (lift p * log b)
                let y =
                    if p = 1.0 then x
                    elif value x <= mid then pw x / lift (mid ** (p - 1.0))
                    else lift 1.0 - pw (lift 1.0 - x) / lift ((1.0 - mid) ** (p - 1.0))
                lift d0 + y * lift (d1 - d0)

    /// The work buffers: J, residual, aref, R, M^-1 f, M^-1 J^T (rows x nv), Schur matrix, its right-hand side, a copy
    /// of the solve matrix and one right-hand side.
    let inline private buffers (m: FastModel< ^T>) (w: FastWork< ^T>) (matLength: int) =
        let ne, nv = m.equality.rows, m.nv
        if isNull w.eqWork || w.eqWork[8].Length <> matLength then
            w.eqWork <- [| Array.zeroCreate (ne * nv); Array.zeroCreate ne; Array.zeroCreate ne; Array.zeroCreate ne; Array.zeroCreate nv
                           Array.zeroCreate (ne * nv); Array.zeroCreate (ne * ne); Array.zeroCreate ne; Array.zeroCreate matLength; Array.zeroCreate nv |]
        w.eqWork

    /// Adds the constraint force J^T lambda to w.rhs (f - bias), with (J a^-1 J^T + R) lambda = aref - J a^-1 w.rhs for
    /// the solve matrix a (M, or M + h D + h C) at (qpos, qvel) whose kinematics w holds. `solve mat x` solves
    /// mat y = x into x and may overwrite mat (it is given copies of a).
    let inline constrain ([<InlineIfLambda>] solve: ^T[] -> ^T[] -> unit) (m: FastModel< ^T>) (w: FastWork< ^T>) (qpos: ^T[]) (qvel: ^T[]) (a: ^T[]) (h: float) =
        let ec = m.equality
        let ne, nv = ec.rows, m.nv
        if ne > 0 then
            let buf = buffers m w a.Length
            let j, res, aref, reg, a0, x, schur, rhs, mat, xr = buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]
            let zero = lift 0.0
            Array.fill j 0 j.Length zero
            for i in 0 .. ec.items.Length - 1 do
                let e = ec.items[i]
                let r0, n = ec.rowAdr[i], Equality.rowsOf e
                match e.kind with
                | Connect | Weld -> bodyRows m w e ec.relMat[i] r0 res j
                | JointCoupling -> jointRow m e qpos r0 res j
                let mutable n2 = lift Equality.normFloor
                for r in r0 .. r0 + n - 1 do n2 <- n2 + res[r] * res[r]
                let imp = impedance e.solimp (sqrt n2)
                let k, b = Equality.gains e h
                for r in r0 .. r0 + n - 1 do
                    let mutable jv = zero
                    for c in 0 .. nv - 1 do jv <- jv + j[r * nv + c] * qvel[c]
                    aref[r] <- lift (-b) * jv - lift k * imp * res[r]
                    reg[r] <- tmax ((lift 1.0 - imp) / imp * lift ec.diag[r]) (lift Equality.minVal)
            // M^-1 J^T row by row and M^-1 f, each on a fresh copy of a
            for r in 0 .. ne - 1 do
                Array.blit a 0 mat 0 a.Length
                Array.blit j (r * nv) xr 0 nv
                solve mat xr
                Array.blit xr 0 x (r * nv) nv
            Array.blit a 0 mat 0 a.Length
            Array.blit w.rhs 0 a0 0 nv
            solve mat a0
            for r in 0 .. ne - 1 do
                let mutable ja0 = zero
                for c in 0 .. nv - 1 do ja0 <- ja0 + j[r * nv + c] * a0[c]
                rhs[r] <- aref[r] - ja0
                for s in 0 .. ne - 1 do
                    let mutable v = zero
                    for c in 0 .. nv - 1 do v <- v + j[r * nv + c] * x[s * nv + c]
                    schur[r * ne + s] <- if r = s then v + reg[r] else v
            DenseLU.luSolveInPlace ne schur 1 rhs
            for c in 0 .. nv - 1 do
                let mutable f = zero
                for r in 0 .. ne - 1 do f <- f + j[r * nv + c] * rhs[r]
                w.rhs[c] <- w.rhs[c] + f

    /// constrain on float64 with the tree LDL solve, for callers outside this assembly's inlining (the stage contract).
    let constrainFloat (m: FastModel<float>) (w: FastWork<float>) (qpos: float[]) (qvel: float[]) (a: float[]) (h: float) =
        constrain (fun mat x -> SolveKernel.ldlSolve m.pattern mat x) m w qpos qvel a h
