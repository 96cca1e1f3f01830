namespace Genesis

open System

/// The Tensor members declared as F# type extensions (TensorMembers, TensorBackward) as ordinary static methods, so
/// that other .NET languages (the C# facade) call them with compile-time checked signatures: F# compiles extension
/// members to static methods named `Tensor.member`, which C# cannot name. Each forwards to the one member.
[<AbstractClass; Sealed>]
type TensorCalls =
    /// t.backward(?gradient, ?retainGraph).
    static member backward(t: Tensor, gradient: Tensor option, retainGraph: bool option) = t.backward(?gradient = gradient, ?retainGraph = retainGraph)
    /// t.reshape(shape).
    static member reshape(t: Tensor, shape: seq<int>) = t.reshape(shape)
    /// t.view(shape).
    static member view(t: Tensor, shape: seq<int>) = t.view(shape)
    /// t.flatten().
    static member flatten(t: Tensor) = t.flatten()
    /// t.permute(dims).
    static member permute(t: Tensor, dims: seq<int>) = t.permute(dims)
    /// t.transpose(dim0, dim1).
    static member transpose(t: Tensor, dim0: int, dim1: int) = t.transpose(dim0, dim1)
    /// t.T (all dimensions reversed).
    static member T(t: Tensor) = t.T
    /// t.squeeze(?dim).
    static member squeeze(t: Tensor, dim: int option) = t.squeeze(?dim = dim)
    /// t.unsqueeze(dim).
    static member unsqueeze(t: Tensor, dim: int) = t.unsqueeze(dim)
    /// t.expand(shape).
    static member expand(t: Tensor, shape: seq<int>) = t.expand(shape)
    /// t.expandAs(other).
    static member expandAs(t: Tensor, other: Tensor) = t.expandAs(other)
    /// t.split(sizes, ?dim).
    static member split(t: Tensor, sizes: seq<int>, dim: int option) = t.split(sizes, ?dim = dim)
    /// t.flip(dims).
    static member flip(t: Tensor, dims: seq<int>) = t.flip(dims)
    /// t.gather(dim, index).
    static member gather(t: Tensor, dim: int, index: Tensor) = t.gather(dim, index)
    /// t.scatterAdd(dim, index, src).
    static member scatterAdd(t: Tensor, dim: int, index: Tensor, src: Tensor) = t.scatterAdd(dim, index, src)
    /// t.narrow(dim, start, length).
    static member narrow(t: Tensor, dim: int, start: int, length: int) = t.narrow(dim, start, length)
    /// t.sum(?dim, ?keepDim).
    static member sum(t: Tensor, dim: int option, keepDim: bool option) = t.sum(?dim = dim, ?keepDim = keepDim)
    /// t.sum(dims, ?keepDim).
    static member sumDims(t: Tensor, dims: int[], keepDim: bool option) = t.sum(dims, ?keepDim = keepDim)
    /// t.mean(?dim, ?keepDim).
    static member mean(t: Tensor, dim: int option, keepDim: bool option) = t.mean(?dim = dim, ?keepDim = keepDim)
    /// t.mean(dims, ?keepDim).
    static member meanDims(t: Tensor, dims: int[], keepDim: bool option) = t.mean(dims, ?keepDim = keepDim)
    /// t.max(?dim, ?keepDim).
    static member max(t: Tensor, dim: int option, keepDim: bool option) = t.max(?dim = dim, ?keepDim = keepDim)
    /// t.min(?dim, ?keepDim).
    static member min(t: Tensor, dim: int option, keepDim: bool option) = t.min(?dim = dim, ?keepDim = keepDim)
    /// t.argmax(?dim, ?keepDim).
    static member argmax(t: Tensor, dim: int option, keepDim: bool option) = t.argmax(?dim = dim, ?keepDim = keepDim)
    /// t.argmin(?dim, ?keepDim).
    static member argmin(t: Tensor, dim: int option, keepDim: bool option) = t.argmin(?dim = dim, ?keepDim = keepDim)
    /// t.cumsum(dim).
    static member cumsum(t: Tensor, dim: int) = t.cumsum(dim)
    /// t.norm(?p, ?dim, ?keepDim).
    static member norm(t: Tensor, p: float option, dim: int option, keepDim: bool option) = t.norm(?p = p, ?dim = dim, ?keepDim = keepDim)
    /// t.matmul(other).
    static member matmul(t: Tensor, other: Tensor) = t.matmul(other)
    /// t.dot(other).
    static member dot(t: Tensor, other: Tensor) = t.dot(other)
    /// t.outer(other).
    static member outer(t: Tensor, other: Tensor) = t.outer(other)
    /// t.cross(other, ?dim).
    static member cross(t: Tensor, other: Tensor, dim: int option) = t.cross(other, ?dim = dim)
    /// t.float32().
    static member float32(t: Tensor) = t.float32()
    /// t.float64().
    static member float64(t: Tensor) = t.float64()
    /// t.int32().
    static member int32(t: Tensor) = t.int32()
    /// t.int64().
    static member int64(t: Tensor) = t.int64()
    /// t.bool().
    static member bool(t: Tensor) = t.bool()
    /// t.uint8().
    static member uint8(t: Tensor) = t.uint8()
    /// t[i].
    static member item1(t: Tensor, i: int) = t[i]
    /// t[i, j].
    static member item2(t: Tensor, i: int, j: int) = t[i, j]
    /// t[i, j, k].
    static member item3(t: Tensor, i: int, j: int, k: int) = t[i, j, k]
    /// t.toArray().
    static member toArray(t: Tensor) : Array = t.toArray()
    /// t.toArray1D<'T>().
    static member toArray1D<'T>(t: Tensor) : 'T[] = t.toArray1D<'T>()
    /// t.toArray2D<'T>().
    static member toArray2D<'T>(t: Tensor) : 'T[,] = t.toArray2D<'T>()
    /// t.toArray3D<'T>().
    static member toArray3D<'T>(t: Tensor) : 'T[,,] = t.toArray3D<'T>()
