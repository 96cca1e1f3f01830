/// Spatial's shortcuts against the compositions they replace: quatToMat and cross as one outer product and one
/// matmul with a constant map must give the textbook entries to the last bit, and the same derivatives.
module Genesis.Tests.Physics.SpatialTests

open System
open Expecto
open Genesis
open Genesis.Physics
open Genesis.Tests

/// Derivatives through the two compositions agree to rounding (the ops differ, the function does not).
let private GradTol = 1e-13

/// The entries 1 - 2 (y y + z z), 2 (x y - z w), ... one op each, as Spatial.quatToMat computed them before.
let private textbookQuatToMat (q: Tensor) =
    let q = q / q.norm(2.0, -1, true)
    let c i = q.narrow(-1, i, 1)
    let w, x, y, z = c 0, c 1, c 2, c 3
    let entries =
        [| 1.0 - 2.0 * (y * y + z * z); 2.0 * (x * y - z * w); 2.0 * (x * z + y * w)
           2.0 * (x * y + z * w); 1.0 - 2.0 * (x * x + z * z); 2.0 * (y * z - x * w)
           2.0 * (x * z - y * w); 2.0 * (y * z + x * w); 1.0 - 2.0 * (x * x + y * y) |]
    gs.cat(entries, -1).reshape (Array.append q.shape[.. q.dim - 2] [| 3; 3 |])

let private random (rnd: Random) (shape: int[]) =
    gs.tensor(Array.init (Array.fold (*) 1 shape) (fun _ -> rnd.NextDouble() * 2.0 - 1.0)).reshape(shape)

let private bits (t: Tensor) = t.toFloatArray() |> Array.map BitConverter.DoubleToInt64Bits

[<Tests>]
let tests =
    testList "Physics.Spatial" [
        test "quatToMat equals the textbook entries bit for bit" {
            GsSetup.ensure64 ()
            let rnd = Random 5
            for shape in [ [| 4 |]; [| 7; 4 |]; [| 3; 5; 4 |] ] do
                let q = random rnd shape
                let fast, reference = Spatial.quatToMat q, textbookQuatToMat q
                Expect.equal fast.shape reference.shape (sprintf "shape for %A" shape)
                Expect.equal (bits fast) (bits reference) (sprintf "values for %A" shape)
        }
        test "cross equals Linalg.cross bit for bit, broadcasting included" {
            GsSetup.ensure64 ()
            let rnd = Random 6
            for sa, sb in [ [| 3 |], [| 3 |]; [| 5; 3 |], [| 5; 3 |]; [| 5; 3 |], [| 3 |]; [| 3 |], [| 5; 3 |]; [| 2; 4; 3 |], [| 4; 3 |] ] do
                let a, b = random rnd sa, random rnd sb
                let fast, reference = Spatial.cross a b, a.cross(b, -1)
                Expect.equal fast.shape reference.shape (sprintf "shape for %A x %A" sa sb)
                Expect.equal (bits fast) (bits reference) (sprintf "values for %A x %A" sa sb)
        }
        test "quatToMat and cross have the derivatives of the compositions they replace" {
            GsSetup.ensure64 ()
            let rnd = Random 7
            let weights = random rnd [| 2; 3; 3 |]
            let q0 = random rnd [| 2; 4 |]
            let close what (a: Tensor) (b: Tensor) =
                let d = Array.map2 (fun x y -> abs (x - y)) (a.toFloatArray()) (b.toFloatArray()) |> Array.max
                Expect.isLessThan d GradTol what
            close "quatToMat gradient" (gs.grad (fun q -> (Spatial.quatToMat q * weights).sum()) q0) (gs.grad (fun q -> (textbookQuatToMat q * weights).sum()) q0)
            let v = random rnd [| 2; 4 |]
            close "quatToMat JVP" (gs.jvp (fun q -> Spatial.quatToMat q) q0 v) (gs.jvp (fun q -> textbookQuatToMat q) q0 v)
            let a0, b = random rnd [| 4; 3 |], random rnd [| 4; 3 |]
            let w = random rnd [| 4; 3 |]
            close "cross gradient" (gs.grad (fun a -> (Spatial.cross a b * w).sum()) a0) (gs.grad (fun a -> (a.cross(b, -1) * w).sum()) a0)
            close "cross gradient (second operand)" (gs.grad (fun b -> (Spatial.cross a0 b * w).sum()) b) (gs.grad (fun b -> (a0.cross(b, -1) * w).sum()) b)
        }
        test "matToQuat inverts quatToMat on all four Shepperd branches (w >= 0), with derivatives in both modes" {
            GsSetup.ensure64 ()
            // dominant w, x, y, z (w negative on two of them): q / |q| comes back up to the sign that makes w >= 0
            let q0 = gs.tensor([ [ 0.9; 0.2; -0.3; 0.1 ]; [ -0.2; 0.9; 0.1; -0.3 ]; [ 0.1; -0.3; 0.9; 0.2 ]; [ -0.3; 0.2; 0.1; 0.9 ] ])
            let sign = gs.tensor([ [ 1.0 ]; [ -1.0 ]; [ 1.0 ]; [ -1.0 ] ])
            let unit (q: Tensor) = q / q.norm(2.0, -1, true) * sign
            let back = Spatial.matToQuat (Spatial.quatToMat q0)
            Expect.equal back.shape [| 4; 4 |] "shape"
            Array.iter2 (fun a b -> Expect.floatClose Accuracy.veryHigh a b "q back") ((unit q0).toFloatArray()) (back.toFloatArray())
            let rnd = Random 8
            let weights = random rnd [| 4; 4 |]
            let close what (a: Tensor) (b: Tensor) =
                let d = Array.map2 (fun x y -> abs (x - y)) (a.toFloatArray()) (b.toFloatArray()) |> Array.max
                Expect.isLessThan d 1e-12 what
            close "gradient" (gs.grad (fun q -> (Spatial.matToQuat (Spatial.quatToMat q) * weights).sum()) q0) (gs.grad (fun q -> (unit q * weights).sum()) q0)
            let v = random rnd [| 4; 4 |]
            close "JVP" (gs.jvp (fun q -> Spatial.matToQuat (Spatial.quatToMat q)) q0 v) (gs.jvp unit q0 v)
            // off the rotation manifold too: the gradient w.r.t. the nine entries equals central differences
            for k in 0 .. 3 do
                let r0 = (Spatial.quatToMat q0.[k]).toFloatArray()
                let w = weights.[k]
                let f (r: float[]) = [| (Spatial.matToQuat (gs.tensor(r).reshape([| 3; 3 |])) * w).sum().item() |]
                let ad = (gs.grad (fun r -> (Spatial.matToQuat r * w).sum()) (gs.tensor(r0).reshape([| 3; 3 |]))).toFloatArray()
                Expect.isLessThan (GsSetup.relErr (GsSetup.fdJacobian f r0 1e-6) [| ad |]) 1e-8 (sprintf "branch %d: gradient vs FD" k)
        }
    ]
