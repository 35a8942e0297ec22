public import Foundation

// Hand-written support for the code that `protoc-gen-dossier` generates from the `service`
// blocks of proto/: server method tables and client stubs. Nothing here knows about sockets.

/// One RPC as ttrpc addresses it: the fully-qualified proto service name and the rpc name.
public struct RPCMethodName: Hashable, Sendable, CustomStringConvertible {
    /// Fully-qualified proto service name, e.g. `dossier.v1.Records`.
    public let service: String
    /// The rpc name exactly as written in the proto, e.g. `OpenRecord`.
    public let method: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
    }

    public var description: String { "\(service)/\(method)" }
}

/// The request payload could not be decoded as the method's request message.
public struct RPCPayloadDecodingError: Error, Sendable, CustomStringConvertible {
    /// The method whose request failed to decode.
    public let method: RPCMethodName
    /// The decoder's explanation, without any of the payload's bytes.
    public let reason: String

    public init(method: RPCMethodName, reason: String) {
        self.method = method
        self.reason = reason
    }

    public var description: String { "error unmarshalling payload: \(reason)" }
}

/// A server-side unary method: decodes the payload, calls the service, encodes the answer.
public struct RPCServerMethod<Context: Sendable>: Sendable {
    public let name: RPCMethodName
    /// Decodes `payload`, runs the call and returns the encoded response message.
    /// Throws `RPCPayloadDecodingError` when the payload is not the request message.
    public let handle: @Sendable (_ payload: Data, _ context: Context) async throws -> Data

    public init(
        name: RPCMethodName,
        handle: @escaping @Sendable (_ payload: Data, _ context: Context) async throws -> Data
    ) {
        self.name = name
        self.handle = handle
    }
}

/// Options of one client call.
public struct RPCCallOptions: Sendable {
    /// Sent as ttrpc `timeout_nano`; the server answers DEADLINE_EXCEEDED past it.
    public var timeout: Duration?
    /// Sent as ttrpc request metadata.
    public var metadata: [(key: String, value: String)]

    public init(timeout: Duration? = nil, metadata: [(key: String, value: String)] = []) {
        self.timeout = timeout
        self.metadata = metadata
    }
}

/// What generated client stubs call: one unary ttrpc call with an encoded request.
public protocol RPCUnaryTransport: Sendable {
    /// Sends `payload` to `method` and returns the encoded response message, or throws the
    /// status the server answered with.
    func unary(_ method: RPCMethodName, payload: Data, options: RPCCallOptions) async throws -> Data
}
