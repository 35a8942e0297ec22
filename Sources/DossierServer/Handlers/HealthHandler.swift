import DossierProto
import Foundation
import NIOConcurrencyHelpers
import SwiftProtobuf

/// Whether the server serves calls; flipped by the server's lifecycle.
public final class ServingState: Sendable {
    private let reasons = NIOLockedValueBox<[String]>(["starting"])

    public init() {}

    /// The reasons the server is not serving; empty when it serves.
    public var notServingReasons: [String] { reasons.withLockedValue { $0 } }

    public func markServing() { reasons.withLockedValue { $0 = [] } }

    public func markNotServing(_ reason: String) {
        reasons.withLockedValue { if !$0.contains(reason) { $0.append(reason) } }
    }
}

/// `dossier.v1.Health`: any authenticated caller may ask.
struct HealthHandler: Dossier_V1_HealthService {
    let state: ServingState
    let version: String

    func check(_ request: Dossier_V1_CheckRequest, context: CallContext) async throws -> Dossier_V1_CheckResponse {
        let reasons = state.notServingReasons
        return .with {
            $0.status = reasons.isEmpty ? .serving : .notServing
            $0.reasons = reasons
            $0.version = version
            $0.serverTime = Google_Protobuf_Timestamp(date: Date())
        }
    }
}
