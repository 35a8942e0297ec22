import Crypto
import DossierClient
import DossierProto
import DossierTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Versions, deprecation, hiding from the patient, the personal space, search and paging.
@Suite struct DocumentLifecycleTests {
    let alice = Docs.alice

    /// A server with alice's active record, a GP with extended read-write access and a nurse
    /// with standard read access.
    func setUp() async throws -> (TestServer, patient: DossierClient, gp: DossierClient, nurse: DossierClient) {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: alice)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let nurse = try await server.connect(kind: "professional", id: "nurse-3001", profession: "nurse")
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "nurse-3001")
        return (server, patient, gp, nurse)
    }

    @Test func replacingDeprecatesTheOldVersionAndOnlyTheAuthorMayDoIt() async throws {
        let (server, patient, gp, nurse) = try await setUp()
        let first = try await Docs.deposit(gp, Docs.submission("sum-v1", .summary, title: "Summary v1"))
        let byNurse = await Docs.status {
            _ = try await nurse.documents.deprecateDocument(.with {
                $0.patientID = alice
                $0.documentID = first.documentID
                $0.reason = "wrong patient"
            })
        }
        #expect(byNurse?.code == .permissionDenied)  // read-only access: refused for the record

        let content = Array("v2".utf8)
        let replace = Dossier_V1_ReplaceDocumentRequest.with {
            $0.patientID = alice
            $0.documentID = first.documentID
            $0.submission = Docs.submission("sum-v2", .summary, title: "Summary v2")
            $0.content = Data(content)
        }
        let replaced = try await gp.documents.replaceDocument(replace)
        #expect(replaced.replaced.status == .deprecated && replaced.replaced.replacedByDocumentID == replaced.document.documentID)
        #expect(replaced.document.replacesDocumentID == first.documentID && !replaced.alreadyExisted)
        let retry = try await gp.documents.replaceDocument(replace)
        #expect(retry.alreadyExisted && retry.document.documentID == replaced.document.documentID)
        let again = await Docs.status {
            _ = try await gp.documents.replaceDocument(.with {
                $0.patientID = alice
                $0.documentID = first.documentID
                $0.submission = Docs.submission("sum-v3", .summary, title: "Summary v3")
                $0.content = Data(content)
            })
        }
        #expect(again?.code == .failedPrecondition && again?.reason == "DOCUMENT_DEPRECATED")

        #expect(try await Docs.find(patient) == [replaced.document.documentID])
        #expect(try await Docs.find(patient) { $0.statuses = [.deprecated] } == [first.documentID])
        #expect(try await Docs.get(patient, first.documentID).status == .deprecated)  // still readable

        let deprecated = try await gp.documents.deprecateDocument(.with {
            $0.patientID = alice
            $0.documentID = replaced.document.documentID
            $0.reason = "entered in error"
        }).document
        #expect(deprecated.status == .deprecated && deprecated.deprecationReason == "entered in error")
        #expect(try await Docs.find(nurse) == [])
        await server.stop()
    }

    @Test func aDocumentHiddenFromThePatientAppearsWhenItsAuthorReleasesIt() async throws {
        let (server, patient, gp, nurse) = try await setUp()
        let result = try await Docs.deposit(gp, Docs.submission("bio-1", hidden: true))
        #expect(try await Docs.find(patient) == [])
        // Not in the patient's log either, until released.
        #expect(try await Docs.log(patient).allSatisfy { !$0.documentIds.contains(result.documentID) })
        let byDocument = try await patient.accessLog.listAccessLog(.with {
            $0.patientID = alice
            $0.documentID = result.documentID
        })
        #expect(byDocument.entries.isEmpty)
        let fromPatient = await Docs.status { _ = try await Docs.get(patient, result.documentID) }
        #expect(fromPatient?.code == .notFound)
        #expect(try await Docs.find(nurse) == [result.documentID])  // hidden from the patient only
        var notifications = try await patient.notifications.listNotifications(.with { $0.patientID = alice }).notifications
        #expect(!notifications.contains { $0.kind == .newDocument })

        let byNurse = await Docs.status {
            _ = try await nurse.documents.releaseDocumentToPatient(.with {
                $0.patientID = alice
                $0.documentID = result.documentID
            })
        }
        #expect(byNurse?.code == .permissionDenied && byNurse?.reason == "NOT_AUTHOR")
        let released = try await gp.documents.releaseDocumentToPatient(.with {
            $0.patientID = alice
            $0.documentID = result.documentID
        }).document
        #expect(!released.hiddenFromPatient && released.hasReleasedAt)
        #expect(try await Docs.find(patient) == [result.documentID])
        #expect(try await Docs.log(patient).contains { $0.operation == .depositDocument && $0.documentIds == [result.documentID] })
        notifications = try await patient.notifications.listNotifications(.with { $0.patientID = alice }).notifications
        #expect(notifications.contains { $0.kind == .newDocument && $0.documentIds == [result.documentID] })
        await server.stop()
    }

    @Test func thePatientAndTheDelegateWriteInThePersonalSpace() async throws {
        let (server, patient, gp, nurse) = try await setUp()
        _ = try await patient.access.nameDelegate(.with {
            $0.patientID = alice
            $0.delegateID = "1990020254321"
        })
        let delegate = try await server.connect(kind: "patient", id: "1990020254321")
        let notes = try await Docs.deposit(patient, Docs.submission("allergies", .patientProvided, title: "Allergies: penicillin"))
        #expect(notes.patientSpace && notes.author.kind == .patient)
        let directive = try await Docs.deposit(delegate, Docs.submission("directive", .patientProvided, title: "Advance directive"))
        #expect(directive.author.id == "1990020254321" && directive.patientSpace)

        let wrongClass = await Docs.status { try await Docs.deposit(patient, Docs.submission("x", .labResult)) }
        #expect(wrongClass?.code == .invalidArgument && wrongClass?.reason == "PATIENT_SPACE_CLASS")
        let hidingOwn = await Docs.status { try await Docs.deposit(patient, Docs.submission("y", .patientProvided, hidden: true)) }
        #expect(hidingOwn?.code == .invalidArgument)

        // Visible to professionals with access (the nurse's matrix row includes the class).
        #expect(Set(try await Docs.find(nurse)) == [notes.documentID, directive.documentID])
        #expect(try await Docs.find(gp) { $0.patientSpace = .exclude } == [])
        // A professional does not replace the patient's notes.
        let byGP = await Docs.status {
            _ = try await gp.documents.deprecateDocument(.with {
                $0.patientID = alice
                $0.documentID = notes.documentID
                $0.reason = "outdated"
            })
        }
        #expect(byGP?.code == .permissionDenied && byGP?.reason == "NOT_AUTHOR")
        _ = try await patient.documents.deprecateDocument(.with {
            $0.patientID = alice
            $0.documentID = notes.documentID
            $0.reason = "outdated"
        })
        let overview = try await patient.documents.getRecordOverview(.with { $0.patientID = alice })
        #expect(overview.visibleDocuments == 1 && overview.patientSpaceDocuments == 1)
        await server.stop()
    }

    @Test func pagingIsStableWhileDocumentsArriveAndFiltersCombine() async throws {
        let (server, patient, gp, _) = try await setUp()
        var ids: [String] = []
        for index in 0..<7 {
            let documentClass: Dossier_V1_DocumentClass = index % 2 == 0 ? .labResult : .report
            let created = Date(timeIntervalSince1970: 1_790_000_000 + Double(index) * 86_400)
            ids.append(try await Docs.deposit(gp, Docs.submission("p-\(index)", documentClass, created: created)).documentID)
        }
        var seen: [String] = []
        var token = ""
        repeat {
            let page = try await patient.documents.findDocuments(.with {
                $0.patientID = alice
                $0.pageSize = 3
                $0.pageToken = token
            })
            seen += page.documents.map(\.documentID)
            token = page.nextPageToken
            if seen.count == 3 { try await Docs.deposit(gp, Docs.submission("late", .summary, created: Date(timeIntervalSince1970: 1_794_000_000))) }  // arrives meanwhile
        } while !token.isEmpty
        #expect(seen == ids.reversed())

        #expect(try await Docs.find(patient) { $0.documentClasses = [.labResult]; $0.oldestFirst = true } == [ids[0], ids[2], ids[4], ids[6]])
        #expect(try await Docs.find(patient) {
            $0.documentClasses = [.labResult]
            $0.createdFrom = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_790_000_000 + 86_400))
            $0.createdTo = Google_Protobuf_Timestamp(date: Date(timeIntervalSince1970: 1_790_000_000 + 5 * 86_400))
        } == [ids[4], ids[2]])
        #expect(try await Docs.find(patient) { $0.typeCodes = [.with { $0.code = "11502-2" }]; $0.authorIds = ["gp-1001"] }.count == 4)
        #expect(try await Docs.find(patient) { $0.authorIds = ["someone-else"] } == [])

        let badToken = await Docs.status { _ = try await Docs.find(patient) { $0.pageToken = "zzz" } }
        #expect(badToken?.code == .invalidArgument && badToken?.reason == "INVALID_PAGE_TOKEN")
        let badEnum = await Docs.status { _ = try await Docs.find(patient) { $0.documentClasses = [.UNRECOGNIZED(99)] } }
        #expect(badEnum?.code == .invalidArgument && badEnum?.reason == "INVALID_ENUM")

        var timeline: [String] = []
        token = ""
        repeat {
            let page = try await patient.documents.getRecordOverview(.with {
                $0.patientID = alice
                $0.pageSize = 2
                $0.pageToken = token
            })
            #expect(page.visibleDocuments == 8)
            timeline += page.timeline.map(\.documentID)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(timeline.count == 8 && Array(timeline.dropFirst().prefix(7)) == ids.reversed())
        await server.stop()
    }

    @Test func badDepositsAreRefusedWithTheFieldAndNothingIsStored() async throws {
        let (server, patient, gp, _) = try await setUp()
        func deposit(_ configure: (inout Dossier_V1_DepositDocumentRequest) -> Void) async -> RPCStatusError? {
            var request = Dossier_V1_DepositDocumentRequest.with {
                $0.patientID = alice
                $0.submission = Docs.submission("bad")
                $0.content = Data("x".utf8)
            }
            configure(&request)
            let final = request
            return await Docs.status { _ = try await gp.documents.depositDocument(final) }
        }
        let cases: [(String, String, (inout Dossier_V1_DepositDocumentRequest) -> Void)] = [
            ("MISSING_FIELD", "submission", { $0.clearSubmission() }),
            ("MISSING_FIELD", "submission.title", { $0.submission.title = "  " }),
            ("MISSING_FIELD", "submission.document_class", { $0.submission.documentClass = .unspecified }),
            ("INVALID_ENUM", "submission.document_class", { $0.submission.documentClass = .UNRECOGNIZED(42) }),
            ("MISSING_FIELD", "submission.type_code", { $0.submission.clearTypeCode() }),
            ("MISSING_FIELD", "submission.created_at", { $0.submission.clearCreatedAt() }),
            ("INVALID_MIME_TYPE", "submission.mime_type", { $0.submission.mimeType = "pdf" }),
            ("INVALID_CLIENT_UNIQUE_ID", "submission.client_unique_id", { $0.submission.clientUniqueID = "a b" }),
            ("EMPTY_CONTENT", "content", { $0.content = Data() }),
            ("CONTENT_TOO_LARGE", "content", { $0.content = Data(count: (3 << 20) + 1) }),
            ("INVALID_HASH", "expected_sha256", { $0.expectedSha256 = Data([1, 2]) }),
            ("HASH_MISMATCH", "expected_sha256", { $0.expectedSha256 = Data(SHA256.hash(data: Data("y".utf8))) }),
            ("INVALID_PATIENT_ID", "patient_id", { $0.patientID = "../x" }),
        ]
        for (reason, field, configure) in cases {
            let status = await deposit(configure)
            #expect(status?.code == .invalidArgument && status?.reason == reason && status?.field == field, "\(reason) \(field)")
        }
        #expect(try await Docs.find(patient) == [])
        let past = await Docs.status {
            _ = try await patient.documents.readDocumentContent(.with {
                $0.patientID = alice
                $0.documentID = "nope"
                $0.length = (1 << 20) + 1
            })
        }
        #expect(past?.reason == "LENGTH_TOO_LARGE")
        let document = try await Docs.deposit(gp, Docs.submission("ok"))
        let beyond = await Docs.status {
            _ = try await patient.documents.readDocumentContent(.with {
                $0.patientID = alice
                $0.documentID = document.documentID
                $0.offset = 1_000
            })
        }
        #expect(beyond?.code == .outOfRange && beyond?.reason == "OFFSET_PAST_END")
        await server.stop()
    }
}
