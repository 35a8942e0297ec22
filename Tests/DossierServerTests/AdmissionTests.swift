import DossierClient
import DossierProto
import DossierTestSupport
import DossierTransport
import Foundation
import Synchronization
import SwiftProtobuf
import Testing

/// Issue 19: a flood beyond the in-flight budget is slowed down (TCP backpressure) or told to
/// come back (RESOURCE_EXHAUSTED SERVER_BUSY with a retry delay), never queued without bound,
/// never a crash; meanwhile another client's small calls keep being answered.
@Suite struct AdmissionTests {
    final class Tally: Sendable {
        let counts = Mutex<[String: Int]>([:])
        func add(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
        var all: [String: Int] { counts.withLock { $0 } }
    }

    /// With a long enough wait the flood is only slowed; with a very short one, some of it is
    /// told to come back.
    @Test(arguments: [200, 1])
    func aFloodBeyondTheBudgetIsSlowedOrRefusedWhileOthersAreServed(waitMilliseconds: Int) async throws {
        var limits = TransportLimits()
        limits.maxInflightBytes = 2 << 20  // two 1 MiB deposits at a time
        limits.maxAdmissionWait = .milliseconds(waitMilliseconds)
        let server = try await TestServer(limits: limits)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let small = try await Docs.deposit(patient, Docs.submission("small", .patientProvided))

        let tally = Tally()
        let content = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0) })
        let flood = Task {
            await withTaskGroup(of: Void.self) { group in
                for connection in 0..<4 {
                    guard let gp = try? await server.connect(kind: "professional", id: "gp-1001", profession: "gp") else { continue }
                    for caller in 0..<8 {
                        group.addTask {
                            for index in 0..<6 {
                                do {
                                    _ = try await gp.documents.depositDocument(.with {
                                        $0.patientID = Docs.alice
                                        $0.submission = Docs.submission("flood-\(connection)-\(caller)-\(index)")
                                        $0.content = content
                                    })
                                    tally.add("OK")
                                } catch let error as RPCStatusError {
                                    tally.add(error.reason ?? "\(error.code)")
                                } catch {
                                    tally.add("other")
                                }
                            }
                        }
                    }
                }
            }
        }
        // While it floods: the patient's small calls are answered, every one.
        var answered = 0
        for _ in 0..<40 {
            _ = try await patient.health.check(.init())
            _ = try await Docs.get(patient, small.documentID)
            answered += 1
        }
        await flood.value
        #expect(answered == 40)
        let outcomes = tally.all
        #expect(outcomes.keys.allSatisfy { ["OK", "SERVER_BUSY"].contains($0) }, "\(outcomes)")
        #expect((outcomes["OK"] ?? 0) > 0 && outcomes.values.reduce(0, +) == 4 * 8 * 6, "\(outcomes)")
        if waitMilliseconds == 1 { #expect((outcomes["SERVER_BUSY"] ?? 0) > 0, "\(outcomes)") }
        // The server is still whole, and its budget empty again.
        #expect(try await patient.health.check(.init()).status == .serving)
        #expect(server.server.inflightBytes == 0)
        await server.stop()
    }

    @Test func aBusyAnswerCarriesARetryDelay() throws {
        let response = Ttrpc_Response.busy(retryAfter: .seconds(1))
        #expect(response.status.code == 8)
        let detail = try Dossier_V1_ErrorDetail(unpackingAny: try #require(response.status.details.first))
        #expect(detail.reason == "SERVER_BUSY" && detail.retryDelay.seconds == 1)
    }
}
