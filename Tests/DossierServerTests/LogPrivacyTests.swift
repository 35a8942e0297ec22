import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The server's own log never carries health data: no patient identifiers, no titles, no
/// contents, no reasons typed by professionals — at the most verbose level, across every kind
/// of call (reads, deposits, uploads, denials, errors, emergency access).
@Suite struct LogPrivacyTests {
    /// Every line, rendered with its metadata.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    struct CapturingHandler: LogHandler {
        let store: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            store.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }

    @Test func noPatientIdentifierTitleOrContentReachesTheServerLog() async throws {
        let lines = Lines()
        let server = try await TestServer(logger: Logger(label: "dossierd-test") { _ in CapturingHandler(store: lines) })
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let stranger = try await server.connect(kind: "professional", id: "gp-9", profession: "gp")
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)

        let marker = "MARKER-7f3a9c-ALLERGY"
        let document = try await Docs.deposit(gp, Docs.submission("m-1", title: "Title \(marker)"), content: Array(marker.utf8))
        _ = try await Docs.find(patient)
        _ = try await Docs.download(patient, document.documentID)
        _ = await Docs.status { _ = try await Docs.find(stranger) }
        _ = await Docs.status { try await Docs.deposit(gp, Docs.submission("m-1", title: marker), content: Array("other".utf8)) }
        _ = await Docs.status { _ = try await gp.records.getRecord(.with { $0.patientID = "1990020254321" }) }
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = Docs.alice
            $0.reason = "emergency reason \(marker)"
        })
        let upload = try await gp.documents.createUpload(.with {
            $0.patientID = Docs.alice
            $0.submission = Docs.submission("m-2", title: marker)
            $0.declaredSize = 10
        }).upload
        _ = await Docs.status {
            _ = try await gp.documents.uploadChunk(.with {
                $0.uploadID = upload.uploadID
                $0.offset = 5
                $0.data = Data(marker.utf8)
            })
        }
        await server.stop()

        let log = lines.all
        #expect(log.count > 10)  // the calls were logged
        for forbidden in [Docs.alice, "1990020254321", marker] {
            #expect(!log.contains { $0.contains(forbidden) }, "\(forbidden) appears in the server log")
        }
    }
}
