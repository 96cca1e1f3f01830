namespace Genesis.Physics

open System.Collections.Concurrent
open System.Runtime.CompilerServices
open Genesis

/// Constant tensors the stages need on every call (masks, maps, identities, per-geom frames), built once per owner
/// object (a Topology, a GeomSpec, a raw parameter tensor, a static key), slot, backend and dtype, then shared:
/// constants are immutable, so every use sees exactly the values the stage would have built itself.
module internal Constants =
    /// Which constant of its owner a cached tensor is (one case per use, so two uses never share a key by accident).
    type Key =
        // owner: Constants.shared
        | Identity of n: int
        | SkewMap
        | CrossMap
        | QuatMap
        | QuatIdentity
        | SpatialCrossMap
        | GravityHead
        | ZeroPositions of batch: int
        | Identities3 of batch: int
        | FreeLinearAxis of batch: int * axis: int
        // owner: a parameter tensor's raw storage
        | BodyRotation
        // owner: a Topology
        | AncestorMask
        | DofFrameMask
        | DofMovingMask
        | DofPositionSelect
        | QposRest of adr: int * length: int
        | DofPlacement of dof: int * count: int
        | AncestorRow of body: int
        // owner: a GeomSpec
        | GeomRotation
        | GeomPosition
        | BoxHalfExtents
        | BoxCorners
        | PlaneProbes

    let private table = ConditionalWeakTable<obj, ConcurrentDictionary<struct (obj * DType * Key), Tensor>>()

    /// The constant `slot` of `owner` in like's backend and dtype, made by `make` on first use.
    let get (owner: obj) (slot: Key) (like: Tensor) (make: unit -> Tensor) : Tensor =
        let d = table.GetValue(owner, fun _ -> ConcurrentDictionary<struct (obj * DType * Key), Tensor>())
        let key = struct (like.raw.Backend :> obj, like.dtype, slot)
        match d.TryGetValue key with
        | true, t -> t
        | _ -> d.GetOrAdd(key, make ())

    /// The constant `slot` of `owner` from row-major values (made on first use) in like's backend and dtype.
    let ofValues (owner: obj) (slot: Key) (like: Tensor) (shape: int[]) (values: unit -> float[]) : Tensor =
        get owner slot like (fun () -> Tensor.Constant(like, values (), shape))

    let private hostCopies = ConditionalWeakTable<RawTensor, float[]>()

    /// The values of a constant tensor on the host, read once per raw storage (a device tensor is downloaded on its
    /// first use only); callers must not mutate the array.
    let hostValues (t: Tensor) : float[] = hostCopies.GetValue(t.raw, fun r -> RawTensor.toFloatArray r)

    let private byContent = System.Collections.Generic.Dictionary<obj * DType * int[] * float[], Tensor>(HashIdentity.Structural)

    /// The most constants byContent keeps: values that change every step (a box pair's chosen face) would otherwise
    /// grow it without bound, so it starts over when full.
    let private byContentLimit = 4096

    /// A constant of these values and shape in like's backend and dtype, uploaded once and shared (per backend, dtype,
    /// shape and values): on a device every per-step constant would otherwise be a host-to-device copy.
    let ofContent (like: Tensor) (shape: int[]) (values: float[]) : Tensor =
        let key = (like.raw.Backend :> obj, like.dtype, shape, values)
        lock byContent (fun () ->
            match byContent.TryGetValue key with
            | true, t -> t
            | _ ->
                if byContent.Count >= byContentLimit then byContent.Clear()
                let t = Tensor.Constant(like, Array.copy values, shape)
                byContent[(like.raw.Backend :> obj, like.dtype, Array.copy shape, Array.copy values)] <- t
                t)

    /// Owner of the constants that depend on nothing but backend and dtype.
    let shared = obj ()

/// Gradient-safe 3-D and spatial (6-D) algebra on batched tensors. Vectors are [..., 3], rotation matrices
/// [..., 3, 3], spatial motion vectors [..., 6] = [angular; linear] about the world origin (Featherstone).
module Spatial =
    /// A constant tensor of the given shape from row-major values, in a reference tensor's dtype (on a device,
    /// uploaded once per distinct values: Constants.ofContent).
    let constLike (like: Tensor) (shape: int[]) (values: float[]) =
        if like.raw.Device = Device.Cpu then Tensor.Constant(like, values, shape)
        else Constants.ofContent like shape values

    /// eye(n) in like's dtype (cached).
    let internal eyeLike (like: Tensor) (n: int) =
        Constants.ofValues Constants.shared (Constants.Identity n) like [| n; n |] (fun () -> Array.init (n * n) (fun k -> if k / n = k % n then 1.0 else 0.0))

    let private skewMap (like: Tensor) =
        // skew(v) = v @ E reshaped to 3x3: [[0,-z,y],[z,0,-x],[-y,x,0]]
        Constants.ofValues Constants.shared Constants.SkewMap like [| 3; 9 |] (fun () ->
            let e = Array.zeroCreate 27
            let set (row: int) (col: int) v = e[row * 9 + col] <- v
            set 2 1 -1.0
            set 1 2 1.0
            set 2 3 1.0
            set 0 5 -1.0
            set 1 6 -1.0
            set 0 7 1.0
            e)

    /// The cross-product matrix [v]x of vectors [..., 3] -> [..., 3, 3].
    let skew (v: Tensor) =
        let s = v.matmul(skewMap v)
        s.reshape (Array.append v.shape[.. v.dim - 2] [| 3; 3 |])

    /// R v for matrices [..., 3, 3] and vectors [..., 3].
    let rotate (r: Tensor) (v: Tensor) = r.matmul(v.unsqueeze(-1)).squeeze(-1)

    /// (a outer b) flattened to 9 -> a x b: x = a1 b2 - a2 b1, y = a2 b0 - a0 b2, z = a0 b1 - a1 b0.
    let private crossMap (like: Tensor) =
        Constants.ofValues Constants.shared Constants.CrossMap like [| 9; 3 |] (fun () ->
            let e = Array.zeroCreate 27
            let set (i: int) (j: int) (col: int) v = e[(3 * i + j) * 3 + col] <- v
            set 1 2 0 1.0
            set 2 1 0 -1.0
            set 2 0 1 1.0
            set 0 2 1 -1.0
            set 0 1 2 1.0
            set 1 0 2 -1.0
            e)

    /// Products of the last dims as a matrix: (a outer b) [..., n, m] flattened to [N, n m] times map [n m; k] -> [..., k].
    let private bilinear (a: Tensor) (b: Tensor) (map: Tensor) =
        let outer = a.unsqueeze(-1) * b.unsqueeze(-2)
        let lead = outer.shape[.. outer.dim - 3]
        outer.reshape([| -1; map.shape[0] |]).matmul(map).reshape (Array.append lead [| map.shape[1] |])

    /// a x b on the last dimension (broadcasting): one outer product and one matmul with a constant +-1 map, so every
    /// component is the same difference of the same two products as in Linalg.cross (finite inputs), in 5 ops instead of 25.
    let cross (a: Tensor) (b: Tensor) = bilinear a b (crossMap a)

    /// (q outer q) flattened to 16 -> the 9 entries of R minus the identity: R00 = 1 - 2 (yy + zz), R01 = 2 (xy - zw), ...
    let private quatMap (like: Tensor) =
        Constants.ofValues Constants.shared Constants.QuatMap like [| 16; 9 |] (fun () ->
            let e = Array.zeroCreate 144
            // components w = 0, x = 1, y = 2, z = 3
            let set (i: int) (j: int) (entry: int) v = e[(4 * i + j) * 9 + entry] <- v
            set 2 2 0 -2.0
            set 3 3 0 -2.0
            set 1 2 1 2.0
            set 3 0 1 -2.0
            set 1 3 2 2.0
            set 2 0 2 2.0
            set 1 2 3 2.0
            set 3 0 3 2.0
            set 1 1 4 -2.0
            set 3 3 4 -2.0
            set 2 3 5 2.0
            set 1 0 5 -2.0
            set 1 3 6 2.0
            set 2 0 6 -2.0
            set 2 3 7 2.0
            set 1 0 7 2.0
            set 1 1 8 -2.0
            set 2 2 8 -2.0
            e)

    /// Rotation matrices [..., 3, 3] from unit quaternions [..., 4] = (w, x, y, z) (normalised first): I + (q outer q) @ E,
    /// whose entries are the textbook 1 - 2 (y y + z z), 2 (x y - z w), ... to the last bit (finite inputs), in 9 ops.
    let quatToMat (q: Tensor) =
        let q = q / q.norm(2.0, -1, true)
        let eye = Constants.ofValues Constants.shared Constants.QuatIdentity q [| 9 |] (fun () -> [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |])
        (eye + bilinear q q (quatMap q)).reshape (Array.append q.shape[.. q.dim - 2] [| 3; 3 |])

    /// Rotation by angle (rad, [...]) about a unit axis ([3] or [..., 3]) by Rodrigues' formula.
    let axisAngleToMat (axis: Tensor) (angle: Tensor) =
        let k = skew axis
        let s = angle.sin().unsqueeze(-1).unsqueeze(-1)
        let c = (1.0 - angle.cos()).unsqueeze(-1).unsqueeze(-1)
        let eye = eyeLike axis 3
        eye + s * k + c * k.matmul(k)

    /// Quaternion product a * b on [..., 4] (w, x, y, z).
    let quatMul (a: Tensor) (b: Tensor) =
        let c (t: Tensor) i = t.narrow(-1, i, 1)
        let aw, ax, ay, az = c a 0, c a 1, c a 2, c a 3
        let bw, bx, by, bz = c b 0, c b 1, c b 2, c b 3
        gs.cat(
            [| aw * bw - ax * bx - ay * by - az * bz
               aw * bx + ax * bw + ay * bz - az * by
               aw * by - ax * bz + ay * bw + az * bx
               aw * bz + ax * by - ay * bx + az * bw |],
            -1)

    /// The quaternion of a rotation by |w| dt about w (body-frame angular velocity [..., 3]), safe at w = 0.
    let quatExp (w: Tensor) (dt: float) =
        let half = w * (0.5 * dt)
        let theta2 = (half * half).sum(-1, true)
        let small = theta2.lt(1e-24)
        let theta = (theta2 + Tensor.where(small, gs.onesLike theta2, gs.zerosLike theta2)).sqrt()
        let sinc = Tensor.where(small, gs.onesLike theta - theta2 / 6.0, theta.sin() / theta)
        let cw = Tensor.where(small, gs.onesLike theta - theta2 / 2.0, theta.cos())
        gs.cat([| cw; half * sinc |], -1)

    /// The rotation vector (axis * angle, angle in [-pi, pi]) of unit quaternions [..., 4] -> [..., 3], safe at the
    /// identity (MuJoCo mju_quat2Vel with dt = 1).
    let quatToRotVec (q: Tensor) =
        let w0 = q.narrow(-1, 0, 1)
        let flip = Tensor.where(w0.lt(0.0), -(gs.onesLike w0), gs.onesLike w0)
        let w, v = w0 * flip, q.narrow(-1, 1, 3) * flip
        let s2 = (v * v).sum(-1, true)
        let small = s2.lt(1e-24)
        let s = (s2 + Tensor.where(small, gs.onesLike s2, gs.zerosLike s2)).sqrt()
        // 2 atan2(s, w) / s -> 2 (1 + s^2 / 6) at the identity, where w = sqrt(1 - s^2)
        v * Tensor.where(small, 2.0 + s2 / 3.0, 2.0 * s.atan2(w) / s)

    /// The rotation vector r with qb * exp(r) = qa (MuJoCo mju_subQuat), qa normalised first; [..., 4] -> [..., 3].
    let quatSub (qa: Tensor) (qb: Tensor) =
        let qa = qa / qa.norm(2.0, -1, true)
        let conj = qb * constLike qb [| 4 |] [| 1.0; -1.0; -1.0; -1.0 |]
        quatToRotVec (quatMul conj qa)

    /// Unit quaternions [..., 4] (w, x, y, z; w >= 0) from rotation matrices [..., 3, 3] (Shepperd's method),
    /// differentiable: the branch (the largest of |w|, |x|, |y|, |z|) and the sign are chosen on values, then
    /// q = e_big * c + L(r) / (4 c) with c = sqrt(1 + d . diag r) / 2, d and L constant per matrix.
    let matToQuat (r: Tensor) : Tensor =
        let m = r.toFloatArray()
        let n = m.Length / 9
        let diag = Array.zeroCreate (n * 9) // d on the diagonal entries of each row-major 3x3
        let big = Array.zeroCreate (n * 4) // +-1 at the branch's component
        let lin = Array.zeroCreate (n * 9 * 4) // L: entry (i, j) of the matrix into component c
        for k in 0 .. n - 1 do
            let a i j = m[k * 9 + i * 3 + j]
            let tr = a 0 0 + a 1 1 + a 2 2
            // (branch, diagonal signs, [(component, i, j, coefficient)]); off-diagonal numerators as in Shepperd
            let b, d, terms =
                if tr > 0.0 then
                    0, [| 1.0; 1.0; 1.0 |], [ 1, 2, 1, 1.0; 1, 1, 2, -1.0; 2, 0, 2, 1.0; 2, 2, 0, -1.0; 3, 1, 0, 1.0; 3, 0, 1, -1.0 ]
                elif a 0 0 > a 1 1 && a 0 0 > a 2 2 then
                    1, [| 1.0; -1.0; -1.0 |], [ 0, 2, 1, 1.0; 0, 1, 2, -1.0; 2, 0, 1, 1.0; 2, 1, 0, 1.0; 3, 0, 2, 1.0; 3, 2, 0, 1.0 ]
                elif a 1 1 > a 2 2 then
                    2, [| -1.0; 1.0; -1.0 |], [ 0, 0, 2, 1.0; 0, 2, 0, -1.0; 1, 0, 1, 1.0; 1, 1, 0, 1.0; 3, 1, 2, 1.0; 3, 2, 1, 1.0 ]
                else
                    3, [| -1.0; -1.0; 1.0 |], [ 0, 1, 0, 1.0; 0, 0, 1, -1.0; 1, 0, 2, 1.0; 1, 2, 0, 1.0; 2, 1, 2, 1.0; 2, 2, 1, 1.0 ]
            // w's sign: w = c > 0 on branch 0, else w's numerator
            let wNumerator = terms |> List.sumBy (fun (c, i, j, coef) -> if c = 0 then coef * a i j else 0.0)
            let sgn = if b <> 0 && wNumerator < 0.0 then -1.0 else 1.0
            for i in 0 .. 2 do diag[k * 9 + i * 4] <- d[i]
            big[k * 4 + b] <- sgn
            for (c, i, j, coef) in terms do lin[(k * 9 + i * 3 + j) * 4 + c] <- sgn * coef
        let flat = r.reshape([| n; 9 |])
        let c = ((flat * constLike r [| n; 9 |] diag).sum(1, true) + 1.0).sqrt() * 0.5
        let offDiagonal = (flat.unsqueeze(2) * constLike r [| n; 9; 4 |] lin).sum(1)
        let q = constLike r [| n; 4 |] big * c + offDiagonal / (c * 4.0)
        q.reshape (Array.append r.shape[.. r.dim - 3] [| 4 |])

    let private crmMap (like: Tensor) =
        // crm([w; u]) = [[wx, 0], [ux, wx]] as v @ E reshaped to 6x6
        let build () =
            let e = Array.zeroCreate (6 * 36)
            let put (src: int) (row: int) (col: int) v = e[src * 36 + row * 6 + col] <- e[src * 36 + row * 6 + col] + v
            let skewInto (src0: int) (r0: int) (c0: int) =
                // [x y z]x = [[0,-z,y],[z,0,-x],[-y,x,0]] with x = src0, y = src0 + 1, z = src0 + 2
                put (src0 + 2) (r0 + 0) (c0 + 1) -1.0
                put (src0 + 1) (r0 + 0) (c0 + 2) 1.0
                put (src0 + 2) (r0 + 1) (c0 + 0) 1.0
                put (src0 + 0) (r0 + 1) (c0 + 2) -1.0
                put (src0 + 1) (r0 + 2) (c0 + 0) -1.0
                put (src0 + 0) (r0 + 2) (c0 + 1) 1.0
            skewInto 0 0 0
            skewInto 0 3 3
            skewInto 3 3 0
            e
        Constants.ofValues Constants.shared Constants.SpatialCrossMap like [| 6; 36 |] build

    /// The motion cross-product matrix crm(v) [..., 6, 6] of spatial motions [..., 6]: crm(v) m = v x m.
    let crossMotionMatrix (v: Tensor) =
        v.matmul(crmMap v).reshape (Array.append v.shape[.. v.dim - 2] [| 6; 6 |])

    /// Spatial inertia about the world origin [..., 6, 6] from mass [...], COM c [..., 3] and inertia about the COM in world axes [..., 3, 3].
    let spatialInertia (mass: Tensor) (com: Tensor) (inertiaCom: Tensor) =
        let m = mass.unsqueeze(-1).unsqueeze(-1)
        let cx = skew com
        let eye = eyeLike com 3
        let top = gs.cat([| inertiaCom - m * cx.matmul(cx); m * cx |], -1)
        let bottom = gs.cat([| -(m * cx); m * eye |], -1)
        gs.cat([| top; bottom |], -2)
