namespace Genesis.Physics

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
