namespace Genesis

/// Linear algebra: matmul (batched, broadcasting), dot, outer, cross.
module Linalg =
    type internal MatMulOp() =
        inherit Op()
        static member val Instance = MatMulOp()
        override _.Name = "matmul"
        override _.Forward(raws) = raws[0].MatMul raws[1]
        override _.Jvp(inputs, _, i, tangent) =
            if i = 0 then Apply.apply MatMulOp.Instance [| tangent; inputs[1] |]
            else Apply.apply MatMulOp.Instance [| inputs[0]; tangent |]
        override _.Vjp(inputs, _, i, adjoint) =
            if i = 0 then Apply.apply MatMulOp.Instance [| adjoint; ShapeOps.transpose -1 -2 inputs[1] |]
            else Apply.apply MatMulOp.Instance [| ShapeOps.transpose -1 -2 inputs[0]; adjoint |]

    /// Matrix product with PyTorch semantics: 1-D operands are promoted and squeezed, batch dims broadcast.
    let matmul (a: Tensor) (b: Tensor) =
        if a.dim = 0 || b.dim = 0 then
            raise (GenesisException(sprintf "matmul: both operands need at least one dimension, got %s and %s" (Shape.format a.shape) (Shape.format b.shape)))
        let a, b = Apply.promote "matmul" a b
        let a2 = if a.dim = 1 then ShapeOps.unsqueeze 0 a else a
        let b2 = if b.dim = 1 then ShapeOps.unsqueeze 1 b else b
        let k1 = a2.shape[a2.dim - 1]
        let k2 = b2.shape[b2.dim - 2]
        if k1 <> k2 then
            raise (GenesisException(sprintf "matmul: shapes %s and %s are not aligned (%d != %d)" (Shape.format a.shape) (Shape.format b.shape) k1 k2))
        let batchA = a2.shape[.. a2.dim - 3]
        let batchB = b2.shape[.. b2.dim - 3]
        let batch =
            match Shape.tryBroadcast batchA batchB with
            | Some s -> s
            | None -> raise (GenesisException(sprintf "matmul: batch dims of %s and %s cannot be broadcast" (Shape.format a.shape) (Shape.format b.shape)))
        let a3 = Apply.expand (Array.append batch a2.shape[a2.dim - 2 ..]) a2
        let b3 = Apply.expand (Array.append batch b2.shape[b2.dim - 2 ..]) b2
        let r = Apply.apply MatMulOp.Instance [| a3; b3 |]
        let r = if a.dim = 1 then ShapeOps.squeeze (Some -2) r else r
        if b.dim = 1 then ShapeOps.squeeze (Some -1) r else r

    /// Inner product of two 1-D tensors.
    let dot (a: Tensor) (b: Tensor) =
        if a.dim <> 1 || b.dim <> 1 || a.shape <> b.shape then
            raise (GenesisException(sprintf "dot: needs two 1-D tensors of equal length, got %s and %s" (Shape.format a.shape) (Shape.format b.shape)))
        Reductions.sumDims [||] false (a * b)

    /// Outer product of two 1-D tensors: [n] x [m] -> [n; m].
    let outer (a: Tensor) (b: Tensor) =
        if a.dim <> 1 || b.dim <> 1 then
            raise (GenesisException(sprintf "outer: needs two 1-D tensors, got %s and %s" (Shape.format a.shape) (Shape.format b.shape)))
        ShapeOps.unsqueeze 1 a * ShapeOps.unsqueeze 0 b

    /// Cross product of 3-vectors along dim (batched, broadcasting).
    let cross (dim: int) (a: Tensor) (b: Tensor) =
        let shape = Shape.broadcast a.shape b.shape
        let d = Shape.normDim shape.Length dim
        if shape[d] <> 3 then
            raise (GenesisException(sprintf "cross: dimension %d must have size 3, shapes are %s and %s" dim (Shape.format a.shape) (Shape.format b.shape)))
        let a = Apply.expand shape a
        let b = Apply.expand shape b
        let c (t: Tensor) i = ShapeOps.select d i t
        let x = c a 1 * c b 2 - c a 2 * c b 1
        let y = c a 2 * c b 0 - c a 0 * c b 2
        let z = c a 0 * c b 1 - c a 1 * c b 0
        ShapeOps.stack d [| x; y; z |]
