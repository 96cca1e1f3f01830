namespace Genesis.Physics

open Genesis

/// The one contact-pair dispatch table.
module PairDispatch =
    /// Order of geom types in a pair: planes last, then boxes, so that a pair is (other, plane/box).
    let rankOf (t: GeomType) = match t with Plane -> 3 | Box -> 2 | _ -> 1

    /// The narrow phase of the pair (a, b), a ranked no higher than b (planes last, then boxes).
    let kindOf (a: GeomType) (b: GeomType) : PairKind =
        match a, b with
        | Plane, _ -> PairKind.NoContact
        | _, Plane -> PairKind.ProbePlane
        | (Sphere | Capsule), (Sphere | Capsule) -> PairKind.SegmentSegment
        | (Sphere | Capsule), Box -> PairKind.SegmentBox
        | Box, Box -> PairKind.BoxBox
        | (Sphere | Capsule | Cylinder | Ellipsoid | Mesh | Box), (Sphere | Capsule | Cylinder | Ellipsoid | Mesh | Box) -> PairKind.Convex

    /// Every geom type.
    let geomTypes = [ Plane; Sphere; Capsule; Box; Cylinder; Ellipsoid; Mesh ]

    /// Every ranked type pair (a, b) with its narrow phase: the dispatch table written out.
    let table : ((GeomType * GeomType) * PairKind) list =
        [ for a in geomTypes do
              for b in geomTypes do
                  if rankOf a < rankOf b || (rankOf a = rankOf b && compare a b <= 0) then
                      yield (a, b), kindOf a b ]

    /// The supported pairs, in words (for error messages and docs).
    let supportedText = "plane with any, every pair of sphere, capsule, cylinder, ellipsoid, box and mesh"

    /// Raises GenesisNotSupportedException for a pair without a narrow phase.
    let unsupported (ga: GeomSpec) (gb: GeomSpec) : 'a =
        raise (GenesisNotSupportedException(sprintf "contact between %A and %A geoms is not implemented yet (supported: %s)" ga.gtype gb.gtype supportedText))
