import DossierClient
import DossierCore
import DossierProto
import DossierTestSupport
import Foundation
import Testing

/// Issue 15, as an attacker with a professional certificate and as a careful patient: ids,
/// timing, the patient's log and page tokens reveal nothing the caller may not see, and the
/// patient's log is complete (every refusal DENIED with its reason, every needed emergency
/// flagged, with its reason, grant and request id).
@Suite struct LeakTests {
    static let alice = Docs.alice

    /// A server with alice's active record, her client and the helpdesk.
    static func setUp() async throws -> (TestServer, DossierClient, DossierClient) {
        let server = try await TestServer()
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(alice, as: helpdesk)
        return (server, try await server.connect(kind: "patient", id: alice), helpdesk)
    }

    static func hexDigits(after prefix: String, in id: String) -> Int {
        guard id.hasPrefix(prefix) else { return 0 }
        return id.dropFirst(prefix.count).prefix { $0.isHexDigit }.count
    }

    @Test func idsAreRandomAndSayNothingOfOtherDocuments() async throws {
        let (server, patient, _) = try await Self.setUp()
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        var ids: [String] = []
        for index in 0..<3 {
            let confidentiality: Dossier_V1_ConfidentialityLevel = index == 1 ? .restricted : .normal
            ids.append(try await Docs.deposit(gp, Docs.submission("c\(index)", confidentiality: confidentiality)).documentID)
        }
        // At least 96 random bits after the prefix, nothing of a counter: the first and last ids
        // do not tell that one was deposited between them.
        for id in ids { #expect(Self.hexDigits(after: "d-", in: id) >= 24, "\(id)") }
        #expect(Set(ids.map { $0.dropFirst(2).prefix(6) }).count == 3)
        let grant = try await patient.access.grantAccess(.with {
            $0.patientID = Self.alice
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = "pharm-1"
            }
            $0.scope = .standard
            $0.mode = .read
        }).grant
        #expect(Self.hexDigits(after: "g-", in: grant.grantID) >= 24, "\(grant.grantID)")
        let upload = try await gp.documents.createUpload(.with {
            $0.patientID = Self.alice
            $0.submission = Docs.submission("u1")
            $0.declaredSize = 10
        }).upload
        #expect(Self.hexDigits(after: "u-", in: upload.uploadID) >= 24, "\(upload.uploadID)")
        await server.stop()
    }

    /// A stranger's refusal on an existing record and on a missing one take the same time
    /// (before: the existing record's refusal was written and synced before the answer).
    @Test func refusalTakesTheSameTimeWhetherTheRecordExistsOrNot() async throws {
        let (server, _, _) = try await Self.setUp()
        let stranger = try await server.connect(kind: "professional", id: "curious-1", profession: "gp")
        func timed(_ patient: String) async -> Double {
            let start = ContinuousClock.now
            _ = await Docs.status { _ = try await stranger.records.getRecord(.with { $0.patientID = patient }) }
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        }
        for _ in 0..<20 {  // warm-up
            _ = await timed(Self.alice)
            _ = await timed("1999123199999")
        }
        var existing: [Double] = []
        var missing: [Double] = []
        for index in 0..<300 {
            if index % 2 == 0 {
                existing.append(await timed(Self.alice))
                missing.append(await timed("1999123199999"))
            } else {
                missing.append(await timed("1999123199999"))
                existing.append(await timed(Self.alice))
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let (a, b) = (median(existing), median(missing))
        // A clear difference is a synced write (~250 µs here) on one side only.
        #expect(a < b * 1.3 + 100 && b < a * 1.3 + 100, "median µs: existing \(a), missing \(b)")
        await server.stop()
    }

    /// A replacement the caller may not see leaves no trace on the version it replaced: for the
    /// patient a version hidden from her, for a pharmacist one more confidential than his
    /// grant; the replaced version shows as it was (current, no successor) until then.
    @Test func aReplacementTheCallerMayNotSeeLeavesNoTraceOnTheReplacedVersion() async throws {
        let (server, patient, _) = try await Self.setUp()
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        try await Docs.grant(patient, to: "pharm-2001", scope: .standard, mode: .read)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let pharmacist = try await server.connect(kind: "professional", id: "pharm-2001", profession: "pharmacist")
        let report = try await Docs.deposit(gp, Docs.submission("r"))
        let replacement = try await gp.documents.replaceDocument(.with {
            $0.patientID = Self.alice
            $0.documentID = report.documentID
            $0.submission = Docs.submission("r2", title: "Blood count (revised)", confidentiality: .restricted, hidden: true)
            $0.content = Data("revised".utf8)
        }).document
        for viewer in [patient, pharmacist] {
            let seen = try await Docs.get(viewer, report.documentID)
            #expect(seen.status == .current && seen.replacedByDocumentID.isEmpty && seen.deprecationReason.isEmpty)
            let found = try await Docs.find(viewer)
            #expect(found == [report.documentID])
            let overview = try await viewer.documents.getRecordOverview(.with { $0.patientID = Self.alice })
            #expect(overview.timeline.map(\.documentID) == [report.documentID])
        }
        // The author sees the truth.
        let truth = try await Docs.get(gp, report.documentID)
        #expect(truth.replacedByDocumentID == replacement.documentID)
        // Released: the patient sees the replacement; the pharmacist (standard grant) still does not.
        _ = try await gp.documents.releaseDocumentToPatient(.with {
            $0.patientID = Self.alice
            $0.documentID = replacement.documentID
        })
        let released = try await Docs.get(patient, report.documentID)
        #expect(released.status == .deprecated && released.replacedByDocumentID == replacement.documentID)
        let stillHidden = try await Docs.get(pharmacist, report.documentID)
        #expect(stillHidden.replacedByDocumentID.isEmpty)
        await server.stop()
    }

    @Test func aHiddenDocumentLeavesNoTraceForThePatientUntilItsReleaseThenAll() async throws {
        let (server, patient, _) = try await Self.setUp()
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let visible = try await Docs.deposit(gp, Docs.submission("v"))
        let hidden = try await Docs.deposit(gp, Docs.submission("h", title: "HIV test", hidden: true))
        _ = try await Docs.get(gp, hidden.documentID)
        _ = try await Docs.find(gp)  // lists both for the GP
        let before = try await Docs.log(patient)
        #expect(!before.contains { $0.documentIds.contains(hidden.documentID) })
        #expect(before.filter { $0.operation == .depositDocument }.count == 1)
        #expect(!before.contains { $0.operation == .getDocument && $0.actor.id == "gp-1001" })
        let find = try #require(before.last { $0.operation == .findDocuments && $0.actor.id == "gp-1001" })
        #expect(find.documentIds == [visible.documentID])
        let notifications = try await patient.notifications.listNotifications(.with { $0.patientID = Self.alice }).notifications
        #expect(!notifications.contains { $0.documentIds.contains(hidden.documentID) })

        // Her own attempts: a hidden id and a missing id are alike in the answer and in her log.
        let asked = await Docs.status { _ = try await Docs.get(patient, hidden.documentID) }
        let missingID = "d-" + String(repeating: "0", count: 32)
        let missing = await Docs.status { _ = try await Docs.get(patient, missingID) }
        #expect(asked == missing)
        let mine = try await Docs.log(patient).filter { $0.actor.id == Self.alice && $0.operation == .getDocument }
        #expect(mine.count == 2 && mine[0].outcome == mine[1].outcome && mine[0].reason == mine[1].reason)
        #expect(mine[0].basis == mine[1].basis && mine[0].emergency == mine[1].emergency)

        // Released: every withheld entry joins her log, and the whole log verifies.
        _ = try await gp.documents.releaseDocumentToPatient(.with {
            $0.patientID = Self.alice
            $0.documentID = hidden.documentID
        })
        let after = try await Docs.log(patient)
        let aboutHidden = after.filter { $0.documentIds.contains(hidden.documentID) && $0.actor.id == "gp-1001" }
        #expect(aboutHidden.map(\.operation).contains(.depositDocument))
        #expect(aboutHidden.map(\.operation).contains(.getDocument))
        #expect(aboutHidden.map(\.operation).contains(.findDocuments))
        #expect(aboutHidden.last?.operation == .releaseDocumentToPatient)
        #expect(try await patient.accessLog.verifyAccessLog(.with { $0.patientID = Self.alice }).result == .verified)
        #expect(after.map(\.sequence) == Array(1...UInt64(after.count)))
        await server.stop()
    }

    @Test func everyRefusalIsDeniedWithItsReason() async throws {
        let (server, patient, _) = try await Self.setUp()
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician")
        let blockedER = try await server.connect(kind: "professional", id: "er-2", profession: "emergency_physician")
        let nurse = try await server.connect(kind: "professional", id: "nurse-1", profession: "nurse")
        _ = try await patient.access.blockProfessional(.with {
            $0.patientID = Self.alice
            $0.professionalID = "er-2"
        })
        func emergency(_ client: DossierClient) async -> RPCStatusError? {
            await Docs.status {
                _ = try await client.access.openEmergencyAccess(.with {
                    $0.patientID = Self.alice
                    $0.reason = "unconscious, brought in by ambulance"
                })
            }
        }
        #expect(await emergency(blockedER)?.reason == "EMERGENCY_ACCESS_UNAVAILABLE")
        _ = try await patient.access.setEmergencyPreference(.with {
            $0.patientID = Self.alice
            $0.preference = .refuse
        })
        #expect(await emergency(er)?.reason == "EMERGENCY_ACCESS_UNAVAILABLE")
        _ = try await patient.access.issuePresenceCode(.with { $0.patientID = Self.alice })
        let wrong = await Docs.status {
            _ = try await nurse.access.redeemPresenceCode(.with {
                $0.patientID = Self.alice
                $0.code = "AAAA-AAAA"
            })
        }
        #expect(wrong?.reason == "PRESENCE_CODE_INVALID")
        let denied = try await patient.accessLog.listAccessLog(.with {
            $0.patientID = Self.alice
            $0.outcomes = [.denied]
            $0.oldestFirst = true
        }).entries
        #expect(denied.map(\.reason) == ["PROFESSIONAL_BLOCKED", "EMERGENCY_REFUSED_BY_PATIENT", "PRESENCE_CODE_WRONG"])
        #expect(denied.map(\.actor.id) == ["er-2", "er-1", "nurse-1"])
        #expect(denied[0].emergencyReason == "unconscious, brought in by ambulance")
        await server.stop()
    }

    @Test func aCallThatNeededTheEmergencyAccessIsFlaggedEvenWithAGrant() async throws {
        let (server, patient, _) = try await Self.setUp()
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        let restricted = try await Docs.deposit(gp, Docs.submission("r", confidentiality: .restricted))
        let normal = try await Docs.deposit(gp, Docs.submission("n"))
        let grant = try await patient.access.grantAccess(.with {
            $0.patientID = Self.alice
            $0.grantee = .with {
                $0.kind = .professional
                $0.id = "er-1"
            }
            $0.scope = .standard
            $0.mode = .read
        }).grant
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician")
        let reason = "cardiac arrest in the waiting room"
        let emergency = try await er.access.openEmergencyAccess(.with {
            $0.patientID = Self.alice
            $0.reason = reason
        }).grant
        let options = RPCCallOptions(metadata: [("request-id", "support-ticket-42")])
        _ = try await er.documents.getDocument(.with {
            $0.patientID = Self.alice
            $0.documentID = restricted.documentID
        }, options: options)
        _ = try await er.documents.getDocument(.with {
            $0.patientID = Self.alice
            $0.documentID = normal.documentID
        })
        let log = try await Docs.log(patient).filter { $0.actor.id == "er-1" && $0.operation == .getDocument }
        let needed = try #require(log.first { $0.documentIds == [restricted.documentID] })
        #expect(needed.emergency && needed.basis == .emergency && needed.grantID == emergency.grantID)
        #expect(needed.emergencyReason == reason && needed.requestID == "support-ticket-42")
        let ordinary = try #require(log.first { $0.documentIds == [normal.documentID] })
        #expect(!ordinary.emergency && ordinary.basis == .grant && ordinary.grantID == grant.grantID)
        let opened = try #require(try await Docs.log(patient).first { $0.operation == .openEmergencyAccess })
        #expect(opened.emergencyReason == reason && opened.grantID == emergency.grantID && opened.emergency)
        let granted = try #require(try await Docs.log(patient).first { $0.operation == .grantAccess && $0.grantID == grant.grantID })
        #expect(granted.subject.id == "er-1" && granted.subject.kind == .professional)
        await server.stop()
    }

    @Test func pageTokensAreBoundToTheirQueryAndCannotBeForged() async throws {
        let (server, patient, helpdesk) = try await Self.setUp()
        try await server.openActiveRecord("1990020254321", as: helpdesk)
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        for index in 0..<3 { _ = try await Docs.deposit(gp, Docs.submission("p\(index)")) }
        let first = try await patient.documents.findDocuments(.with {
            $0.patientID = Self.alice
            $0.pageSize = 1
        })
        let token = first.nextPageToken
        #expect(!token.isEmpty)
        let next = try await patient.documents.findDocuments(.with {
            $0.patientID = Self.alice
            $0.pageSize = 1
            $0.pageToken = token
        })
        #expect(next.documents.count == 1 && next.documents[0].documentID != first.documents[0].documentID)
        func refused(_ client: DossierClient, _ patientID: String, _ token: String, classes: [Dossier_V1_DocumentClass] = [])
            async -> Bool
        {
            await Docs.status {
                _ = try await client.documents.findDocuments(.with {
                    $0.patientID = patientID
                    $0.pageSize = 1
                    $0.pageToken = token
                    $0.documentClasses = classes
                })
            }?.reason == "INVALID_PAGE_TOKEN"
        }
        #expect(await refused(gp, Self.alice, token))  // another caller
        #expect(await refused(patient, Self.alice, token, classes: [.report]))  // other filters
        let bob = try await server.connect(kind: "patient", id: "1990020254321")
        #expect(await refused(bob, "1990020254321", token))  // another record
        var forged = Array(token)
        forged[forged.count / 2] = forged[forged.count / 2] == "A" ? "B" : "A"
        #expect(await refused(patient, Self.alice, String(forged)))
        #expect(await refused(patient, Self.alice, "a" + first.documents[0].documentID))  // yesterday's cursor
        let logToken = await Docs.status {
            _ = try await patient.accessLog.listAccessLog(.with {
                $0.patientID = Self.alice
                $0.pageToken = token  // a FindDocuments token for another method
            })
        }
        #expect(logToken?.reason == "INVALID_PAGE_TOKEN")
        await server.stop()
    }

    @Test func thePatientStaysInControl() async throws {
        let (server, patient, helpdesk) = try await Self.setUp()
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .readWrite)
        let gp = try await server.connect(kind: "professional", id: "gp-1001", profession: "gp")
        // A mask survives the author's new version.
        let masked = try await Docs.deposit(gp, Docs.submission("m"))
        _ = try await patient.documents.setDocumentConfidentiality(.with {
            $0.patientID = Self.alice
            $0.documentID = masked.documentID
            $0.confidentiality = .secret
        })
        let replaced = try await gp.documents.replaceDocument(.with {
            $0.patientID = Self.alice
            $0.documentID = masked.documentID
            $0.submission = Docs.submission("m2")
            $0.content = Data("v2".utf8)
        }).document
        #expect(replaced.confidentiality == .secret)

        // Hiding needs current read-write access.
        let report = try await Docs.deposit(gp, Docs.submission("r"))
        try await Docs.grant(patient, to: "gp-1001", scope: .extended, mode: .read)
        let hide = await Docs.status {
            _ = try await gp.documents.hideDocumentFromPatient(.with {
                $0.patientID = Self.alice
                $0.documentID = report.documentID
            })
        }
        #expect(hide?.code == .permissionDenied)
        #expect(try await Docs.log(patient).last { $0.operation == .hideDocumentFromPatient }?.reason == "READ_WRITE_REQUIRED")

        // Closing ends emergency accesses and presence codes for good; grants come back.
        let er = try await server.connect(kind: "professional", id: "er-1", profession: "emergency_physician")
        _ = try await er.access.openEmergencyAccess(.with {
            $0.patientID = Self.alice
            $0.reason = "found unconscious at home"
        })
        let nurse = try await server.connect(kind: "professional", id: "nurse-1", profession: "nurse")
        let code = try await patient.access.issuePresenceCode(.with { $0.patientID = Self.alice }).code
        _ = try await nurse.access.redeemPresenceCode(.with {
            $0.patientID = Self.alice
            $0.code = code
        })
        let unredeemed = try await patient.access.issuePresenceCode(.with { $0.patientID = Self.alice }).code
        _ = try await patient.records.closeRecord(.with { $0.patientID = Self.alice })
        _ = try await patient.records.reopenRecord(.with { $0.patientID = Self.alice })
        for client in [er, nurse] {
            let read = await Docs.status { _ = try await client.records.getRecord(.with { $0.patientID = Self.alice }) }
            #expect(read?.code == .permissionDenied)
        }
        let late = await Docs.status {
            _ = try await nurse.access.redeemPresenceCode(.with {
                $0.patientID = Self.alice
                $0.code = unredeemed
            })
        }
        #expect(late?.reason == "PRESENCE_CODE_INVALID")
        _ = try await gp.records.getRecord(.with { $0.patientID = Self.alice })

        // An operator's change of the referring physician is told to the patient.
        _ = try await helpdesk.access.setReferringPhysician(.with {
            $0.patientID = Self.alice
            $0.professionalID = "gp-2002"
        })
        let notifications = try await patient.notifications.listNotifications(.with { $0.patientID = Self.alice }).notifications
        #expect(notifications.contains { $0.kind == .referringPhysicianChanged && $0.actor.id == "op-1" })
        let change = try #require(try await Docs.log(patient).last { $0.operation == .setReferringPhysician })
        #expect(change.actor.id == "op-1" && change.subject.id == "gp-2002")
        await server.stop()
    }

    @Test func presenceCodeGuessingIsLimitedPerRecord() async throws {
        var policy = PresenceCodePolicy()
        policy.maxFailuresPerRecord = 3
        let server = try await TestServer(presenceCodes: policy)
        let helpdesk = try await server.connect(kind: "operator", id: "op-1")
        try await server.openActiveRecord(Self.alice, as: helpdesk)
        let patient = try await server.connect(kind: "patient", id: Self.alice)
        let code = try await patient.access.issuePresenceCode(.with { $0.patientID = Self.alice }).code
        for index in 0..<3 {  // three professionals, one guess each: under the per-professional limit
            let guesser = try await server.connect(kind: "professional", id: "guess-\(index)", profession: "nurse")
            _ = await Docs.status {
                _ = try await guesser.access.redeemPresenceCode(.with {
                    $0.patientID = Self.alice
                    $0.code = "ZZZZ-ZZZZ"
                })
            }
        }
        let nurse = try await server.connect(kind: "professional", id: "nurse-9", profession: "nurse")
        let limited = await Docs.status {
            _ = try await nurse.access.redeemPresenceCode(.with {
                $0.patientID = Self.alice
                $0.code = code
            })
        }
        #expect(limited?.reason == "PRESENCE_CODE_RATE_LIMITED")
        let entry = try await Docs.log(patient).last { $0.operation == .redeemPresenceCode }
        #expect(entry?.outcome == .denied && entry?.reason == "PRESENCE_CODE_RATE_LIMITED" && entry?.actor.id == "nurse-9")
        await server.stop()
    }
}
