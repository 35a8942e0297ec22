import DossierClient
import DossierCore
import DossierProto
import DossierServer
import DossierTestSupport
import Foundation
import Testing

/// The profession matrix: the shipped file, a replacement file, and Admin.GetAccessMatrix.
@Suite struct AccessMatrixTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theShippedFileIsTheDefaultMatrix() throws {
        let file = try AccessMatrixFile.load(path: Self.repository.appendingPathComponent("docs/access-matrix.default.json").path)
        #expect(file.matrix == AccessMatrix.default)
        #expect(file.sha256 == AccessMatrixFile.shippedDefault().sha256)
    }

    @Test func aReplacementMatrixChangesWhatAProfessionSees() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).json").path
        try Data("""
            {"rows": [
              {"kind": "professional", "profession": "gp", "document_classes": ["report", "lab_result"], "may_use_emergency_access": true},
              {"kind": "professional", "profession": "pharmacist", "document_classes": ["report"]}
            ]}
            """.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let server = try await TestServer(accessMatrix: try AccessMatrixFile.load(path: path))
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Docs.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Docs.alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-2001", profession: "pharmacist")
        let nurse = try await server.connect(kind: "professional", id: "nurse-3001", profession: "nurse")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "pharm-2001")
        try await Docs.grant(patient, to: "nurse-3001")
        let report = try await Docs.deposit(gp, Docs.submission("r", .report, title: "Letter"))
        _ = try await Docs.deposit(gp, Docs.submission("l", .labResult))

        #expect(try await Docs.find(pharmacist) == [report.documentID])
        #expect(try await Docs.find(nurse) == [])  // no row: sees nothing

        let matrix = try await helpdesk.admin.getAccessMatrix(.init()).matrix
        #expect(matrix.source == path && matrix.rows.map(\.profession) == ["gp", "pharmacist"])
        #expect(matrix.rows[1].documentClasses == [.report] && matrix.rows[0].mayUseEmergencyAccess)
        let denied = await Docs.status { _ = try await gp.admin.getAccessMatrix(.init()) }
        #expect(denied?.code == .permissionDenied)

        // Reload: an invalid file is refused and the matrix in force stays; a valid one replaces
        // it at once, and GetServerInfo shows its fingerprint.
        let before = try await helpdesk.admin.getServerInfo(.init()).accessMatrixSha256
        try Data(#"{"rows": [{"kind": "professional", "profession": "pharmacist", "document_classes": ["no_such_class"]}]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let invalid = await Docs.status { _ = try await helpdesk.admin.reloadAccessMatrix(.init()) }
        #expect(invalid?.code == .failedPrecondition && invalid?.reason == "ACCESS_MATRIX_INVALID")
        #expect(try await Docs.find(pharmacist) == [report.documentID])
        try Data("""
            {"rows": [
              {"kind": "professional", "profession": "gp", "document_classes": ["report", "lab_result"], "may_use_emergency_access": true},
              {"kind": "professional", "profession": "pharmacist", "document_classes": ["lab_result"]},
              {"kind": "professional", "profession": "nurse", "document_classes": ["report"]}
            ]}
            """.utf8).write(to: URL(fileURLWithPath: path))
        let reloaded = try await helpdesk.admin.reloadAccessMatrix(.init()).matrix
        #expect(reloaded.rows.count == 3 && reloaded.sha256 != before)
        #expect(try await helpdesk.admin.getServerInfo(.init()).accessMatrixSha256 == reloaded.sha256)
        let pharmacistSees = try await Docs.find(pharmacist)
        #expect(pharmacistSees.count == 1 && !pharmacistSees.contains(report.documentID))
        #expect(try await Docs.find(nurse) == [report.documentID])
        let notOperator = await Docs.status { _ = try await gp.admin.reloadAccessMatrix(.init()) }
        #expect(notOperator?.code == .permissionDenied)
        await server.stop()
    }

    /// The CLI's spelling of the values (kebab case) reads as the file's (snake case).
    @Test func kebabCaseNamesAreTheSnakeCaseOnes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        func load(_ classes: String, _ categories: String) throws -> AccessMatrix {
            try Data("""
                {"rows": [{"kind": "professional", "profession": "gp", "document_classes": [\(classes)],
                           "sensitive_categories": [\(categories)]}]}
                """.utf8).write(to: URL(fileURLWithPath: path))
            return try AccessMatrixFile.load(path: path).matrix
        }
        let kebab = try load("\"care-plan\", \"lab-result\"", "\"sexual-health\"")
        let snake = try load("\"care_plan\", \"lab_result\"", "\"sexual_health\"")
        #expect(AccessMatrixFile.encode(kebab) == AccessMatrixFile.encode(snake))
        #expect(kebab.rows.first?.documentClasses == [.carePlan, .labResult])
    }

    @Test func badFilesSayWhatIsWrong() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (json, expected) in [
            ("{\"rows\": [{\"kind\": \"professional\", \"profession\": \"gp\", \"document_classes\": [\"lab_results\"]}]}", "unknown document class"),
            ("{\"rows\": [{\"kind\": \"operator\", \"document_classes\": []}]}", "professionals and organisations"),
            ("{\"rows\": [{\"kind\": \"professional\", \"document_classes\": []}]}", "needs a profession"),
            ("not json", "not valid JSON"),
        ] {
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            #expect(throws: ServerStartupError.self) { try AccessMatrixFile.load(path: path) }
            do {
                _ = try AccessMatrixFile.load(path: path)
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
