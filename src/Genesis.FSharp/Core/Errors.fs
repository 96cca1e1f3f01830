namespace Genesis

open System

/// The base of every error the engine raises; the message names the offending input.
type GenesisException(message: string, inner: exn) =
    inherit Exception(message, inner)
    /// Creates an error with a message that names the offending input.
    new(message: string) = GenesisException(message, null)

/// A feature that is not implemented yet; the message says which one.
type GenesisNotSupportedException(message: string) =
    inherit GenesisException(message)

/// Helpers to raise engine errors.
module Errors =
    /// Raises a GenesisException with a formatted message.
    let fail fmt = Printf.kprintf (fun msg -> raise (GenesisException msg)) fmt
    /// Raises a GenesisNotSupportedException with a formatted message.
    let notSupported fmt = Printf.kprintf (fun msg -> raise (GenesisNotSupportedException msg)) fmt
