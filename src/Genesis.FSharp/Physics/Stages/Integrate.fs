namespace Genesis.Physics

open System
open Genesis

/// Position integration on the configuration manifold (MuJoCo mj_integratePos).
module Integrate =
    /// qpos advanced by qvel over dt: hinge/slide and free translations linearly, quaternions by the exponential map.
    let integratePos (topo: Topology) (qpos: Tensor) (qvel: Tensor) (dt: float) =
        let pieces = ResizeArray<Tensor>()
        for j in 0 .. topo.jntType.Length - 1 do
            let a, d = topo.jntQposAdr[j], topo.jntDofAdr[j]
            let quatStep (q: Tensor) (w: Tensor) =
                let qn = Spatial.quatMul q (Spatial.quatExp w dt)
                qn / qn.norm(2.0, -1, true)
            match topo.jntType[j] with
            | Hinge | Slide -> pieces.Add(qpos.narrow(1, a, 1) + qvel.narrow(1, d, 1) * dt)
            | Ball -> pieces.Add(quatStep (qpos.narrow(1, a, 4)) (qvel.narrow(1, d, 3)))
            | Free ->
                pieces.Add(qpos.narrow(1, a, 3) + qvel.narrow(1, d, 3) * dt)
                pieces.Add(quatStep (qpos.narrow(1, a + 3, 4)) (qvel.narrow(1, d + 3, 3)))
        if pieces.Count = 0 then qpos else gs.cat(pieces, 1)

/// Position integration on arrays, generic over the scalar.
module internal IntegrateKernel =
    open Genesis.Physics.FastMath
    open Genesis.Real
    open Genesis.HomogeneousArithmetic

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
