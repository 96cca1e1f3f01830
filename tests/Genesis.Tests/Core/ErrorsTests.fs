module Genesis.Tests.Core.ErrorsTests

open Expecto
open Genesis
open Genesis.Tests.TestUtil

[<Tests>]
let tests =
    testList "Core.Errors" [
        test "fail raises GenesisException with the formatted message" {
            throwsWith<GenesisException> [ "joint 'elbow'"; "3" ] (fun () -> Errors.fail "joint '%s' has %d dofs" "elbow" 3)
        }
        test "notSupported is a GenesisException" {
            throwsWith<GenesisException> [ "mesh" ] (fun () -> Errors.notSupported "mesh %s" "x.stl")
        }
    ]
