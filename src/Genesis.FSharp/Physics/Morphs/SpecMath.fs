namespace Genesis.Physics

open System

/// Small float64 helpers on float[] vectors (3), quaternions [w;x;y;z] (4) and 3x3 row-major
/// matrices (9), used by the model loaders (no tensors).
module SpecMath =
    /// a + b.
    let add (a: float[]) (b: float[]) = Array.map2 (+) a b

    /// a - b.
    let sub (a: float[]) (b: float[]) = Array.map2 (-) a b

    /// s * a.
    let scale (s: float) (a: float[]) = Array.map (fun x -> s * x) a

    /// Dot product.
    let dot (a: float[]) (b: float[]) = Array.fold2 (fun acc x y -> acc + x * y) 0.0 a b

    /// Cross product a x b.
    let cross (a: float[]) (b: float[]) =
        [| a.[1] * b.[2] - a.[2] * b.[1]; a.[2] * b.[0] - a.[0] * b.[2]; a.[0] * b.[1] - a.[1] * b.[0] |]

    /// Euclidean norm.
    let norm (a: float[]) = sqrt (dot a a)

    /// a / |a| (a unchanged when |a| = 0).
    let normalize (a: float[]) =
        let n = norm a
        if n > 0.0 then scale (1.0 / n) a else Array.copy a

    /// Identity quaternion [1;0;0;0].
    let quatIdentity () = [| 1.0; 0.0; 0.0; 0.0 |]

    /// Hamilton product a * b (apply b, then a).
    let quatMul (a: float[]) (b: float[]) =
        [| a.[0] * b.[0] - a.[1] * b.[1] - a.[2] * b.[2] - a.[3] * b.[3]
           a.[0] * b.[1] + a.[1] * b.[0] + a.[2] * b.[3] - a.[3] * b.[2]
           a.[0] * b.[2] - a.[1] * b.[3] + a.[2] * b.[0] + a.[3] * b.[1]
           a.[0] * b.[3] + a.[1] * b.[2] - a.[2] * b.[1] + a.[3] * b.[0] |]

    /// Conjugate (inverse of a unit quaternion).
    let quatConj (q: float[]) = [| q.[0]; -q.[1]; -q.[2]; -q.[3] |]

    /// Rotation about a unit axis by an angle (rad): [cos(a/2); sin(a/2) axis].
    let axisAngleQuat (axis: float[]) (angle: float) =
        let u = normalize axis
        let s = sin (angle / 2.0)
        [| cos (angle / 2.0); s * u.[0]; s * u.[1]; s * u.[2] |]

    /// Rotation matrix R(q), row-major, such that R v = q v q*.
    let quatToMat (q: float[]) =
        let w, x, y, z = q.[0], q.[1], q.[2], q.[3]
        [| 1.0 - 2.0 * (y * y + z * z); 2.0 * (x * y - w * z); 2.0 * (x * z + w * y)
           2.0 * (x * y + w * z); 1.0 - 2.0 * (x * x + z * z); 2.0 * (y * z - w * x)
           2.0 * (x * z - w * y); 2.0 * (y * z + w * x); 1.0 - 2.0 * (x * x + y * y) |]

    /// Unit quaternion of a rotation matrix (row-major), by Shepperd's method.
    let matToQuat (m: float[]) =
        let tr = m.[0] + m.[4] + m.[8]
        let q =
            if tr > 0.0 then
                let s = sqrt (tr + 1.0) * 2.0
                [| 0.25 * s; (m.[7] - m.[5]) / s; (m.[2] - m.[6]) / s; (m.[3] - m.[1]) / s |]
            elif m.[0] > m.[4] && m.[0] > m.[8] then
                let s = sqrt (1.0 + m.[0] - m.[4] - m.[8]) * 2.0
                [| (m.[7] - m.[5]) / s; 0.25 * s; (m.[1] + m.[3]) / s; (m.[2] + m.[6]) / s |]
            elif m.[4] > m.[8] then
                let s = sqrt (1.0 + m.[4] - m.[0] - m.[8]) * 2.0
                [| (m.[2] - m.[6]) / s; (m.[1] + m.[3]) / s; 0.25 * s; (m.[5] + m.[7]) / s |]
            else
                let s = sqrt (1.0 + m.[8] - m.[0] - m.[4]) * 2.0
                [| (m.[3] - m.[1]) / s; (m.[2] + m.[6]) / s; (m.[5] + m.[7]) / s; 0.25 * s |]
        normalize q

    /// 3x3 matrix product a b (row-major).
    let matMul (a: float[]) (b: float[]) =
        Array.init 9 (fun k ->
            let i, j = k / 3, k % 3
            a.[3 * i] * b.[j] + a.[3 * i + 1] * b.[3 + j] + a.[3 * i + 2] * b.[6 + j])

    /// Transpose of a 3x3 matrix.
    let transpose (a: float[]) = Array.init 9 (fun k -> a.[3 * (k % 3) + k / 3])

    /// Matrix-vector product a v.
    let matVec (a: float[]) (v: float[]) =
        Array.init 3 (fun i -> a.[3 * i] * v.[0] + a.[3 * i + 1] * v.[1] + a.[3 * i + 2] * v.[2])

    /// Rotates v by the unit quaternion q.
    let rotate (q: float[]) (v: float[]) = matVec (quatToMat q) v

    /// Diagonal 3x3 matrix.
    let diag (d: float[]) = [| d.[0]; 0.0; 0.0; 0.0; d.[1]; 0.0; 0.0; 0.0; d.[2] |]

    /// Zero 3x3 matrix.
    let zeroMat () = Array.zeroCreate<float> 9

    /// Inertia expressed in a rotated frame: R I R^T with R = R(q).
    let rotateInertia (q: float[]) (inertia: float[]) =
        let r = quatToMat q
        matMul (matMul r inertia) (transpose r)

    /// Parallel-axis term m (|d|^2 E - d d^T) for a point mass m offset by d.
    let parallelAxis (mass: float) (d: float[]) =
        let dd = dot d d
        Array.init 9 (fun k ->
            let i, j = k / 3, k % 3
            mass * ((if i = j then dd else 0.0) - d.[i] * d.[j]))

    /// Symmetrised 3x3 matrix (A + A^T)/2.
    let symmetrize (a: float[]) = Array.init 9 (fun k -> 0.5 * (a.[k] + a.[3 * (k % 3) + k / 3]))

    /// Eigenvalues of a symmetric 3x3 matrix, ascending (closed-form trigonometric method).
    let symEigenvalues (a: float[]) =
        let p1 = a.[1] * a.[1] + a.[2] * a.[2] + a.[5] * a.[5]
        if p1 = 0.0 then
            Array.sort [| a.[0]; a.[4]; a.[8] |]
        else
            let q = (a.[0] + a.[4] + a.[8]) / 3.0
            let p2 = (a.[0] - q) ** 2.0 + (a.[4] - q) ** 2.0 + (a.[8] - q) ** 2.0 + 2.0 * p1
            let p = sqrt (p2 / 6.0)
            let b = Array.init 9 (fun k -> (a.[k] - (if k % 4 = 0 then q else 0.0)) / p)
            let detB =
                b.[0] * (b.[4] * b.[8] - b.[5] * b.[7]) - b.[1] * (b.[3] * b.[8] - b.[5] * b.[6])
                + b.[2] * (b.[3] * b.[7] - b.[4] * b.[6])
            let r = Math.Clamp(detB / 2.0, -1.0, 1.0)
            let phi = acos r / 3.0
            let e1 = q + 2.0 * p * cos phi
            let e3 = q + 2.0 * p * cos (phi + 2.0 * Math.PI / 3.0)
            let e2 = 3.0 * q - e1 - e3
            Array.sort [| e1; e2; e3 |]

    /// Composes frames: child (pos, quat) given in a frame (fpos, fquat) -> in the frame's parent.
    let frameAccum (fpos: float[]) (fquat: float[]) (pos: float[]) (quat: float[]) =
        add fpos (rotate fquat pos), normalize (quatMul fquat quat)

    /// Quaternion of an Euler sequence as MuJoCo composes it: lower-case axes rotate with the frame
    /// (intrinsic, q <- q * r), upper-case axes are fixed (extrinsic, q <- r * q). URDF rpy = "XYZ".
    let eulerQuat (seq: string) (angles: float[]) =
        let mutable q = quatIdentity ()
        for i in 0..2 do
            let axis =
                match Char.ToLowerInvariant seq.[i] with
                | 'x' -> [| 1.0; 0.0; 0.0 |]
                | 'y' -> [| 0.0; 1.0; 0.0 |]
                | _ -> [| 0.0; 0.0; 1.0 |]
            let r = axisAngleQuat axis angles.[i]
            q <- if Char.IsLower seq.[i] then quatMul q r else quatMul r q
        normalize q

    /// Quaternion rotating +z onto vec, as MuJoCo's z2quat (180 degrees about x when vec = -z).
    let z2quat (vec: float[]) =
        let v = normalize vec
        let c = cross [| 0.0; 0.0; 1.0 |] v
        let s = norm c
        let axis = if s < 1e-10 then [| 1.0; 0.0; 0.0 |] else scale (1.0 / s) c
        let ang = atan2 s v.[2]
        let h = sin (ang / 2.0)
        [| cos (ang / 2.0); h * axis.[0]; h * axis.[1]; h * axis.[2] |]

    /// Quaternion of a frame given by its x and y axes (y is orthogonalised against x).
    let xyAxesQuat (xAxis: float[]) (yAxis: float[]) =
        let x = normalize xAxis
        let y = normalize (sub yAxis (scale (dot x yAxis) x))
        let z = normalize (cross x y)
        matToQuat [| x.[0]; y.[0]; z.[0]; x.[1]; y.[1]; z.[1]; x.[2]; y.[2]; z.[2] |]
