import DossierCore
import Foundation

/// The resources of an export (docs/FHIR-MAPPING.md has the tables).
enum FHIRResources {
    typealias V = FHIRVocabulary

    // MARK: Data types

    static func coding(_ system: String, _ code: String, _ display: String = "") -> JSONValue {
        var object = JSONObject()
        object.set("system", system)
        object.set("code", code)
        object.set("display", display)
        return object.value
    }

    static func coding(_ value: Coding) -> JSONValue { coding(value.system, value.code, value.display) }

    static func concept(_ codings: JSONValue..., text: String = "") -> JSONValue {
        var object = JSONObject()
        object.set("coding", .array(codings))
        object.set("text", text)
        return object.value
    }

    static func instant(_ date: Date?) -> JSONValue? { date.map { .string(FHIRTime.instant($0)) } }

    static func ext(_ url: String, _ type: String, _ value: JSONValue?) -> JSONValue? {
        guard let value else { return nil }
        if case .string(let text) = value, text.isEmpty { return nil }
        return .object([("url", .string(url)), ("value\(type)", value)])
    }

    static func complex(_ url: String, _ parts: [JSONValue?]) -> JSONValue? {
        let present = parts.compactMap { $0 }
        guard !present.isEmpty else { return nil }
        return .object([("url", .string(url)), ("extension", .array(present))])
    }

    static func identifier(_ system: String, _ value: String) -> JSONValue {
        .object([("system", .string(system)), ("value", .string(value))])
    }

    /// A logical reference to a principal (identifier and display; the type by kind).
    static func reference(_ principal: Principal) -> JSONValue {
        var object = JSONObject()
        object.set("type", V.resourceType(principal.kind))
        object.set("identifier", identifier(V.principalSystem(principal.kind), principal.id))
        object.set("display", principal.displayName)
        return object.value
    }

    /// What a reference cannot carry of a principal (profession, organisation, serial).
    static func principalDetail(_ principal: Principal, name: String = "") -> JSONValue? {
        complex(V.principalExtension, [
            ext("role", "String", .string(name)),
            ext("kind", "Code", .string(principal.kind.rawValue)),
            ext("id", "String", .string(principal.id)),
            ext("profession", "Code", principal.profession.map(JSONValue.string)),
            ext("organisation", "String", principal.organisation.map(JSONValue.string)),
            ext("displayName", "String", .string(principal.displayName)),
            ext("certificateSerial", "String", .string(principal.certificateSerial)),
        ])
    }

    static func patientURL(_ patient: PatientID) -> String { V.fullURL("Patient", patient.rawValue) }

    static func patientReference(_ patient: PatientID) -> JSONValue {
        .object([("reference", .string(patientURL(patient))), ("type", .string("Patient"))])
    }

    // MARK: Patient

    static func patient(_ record: Record) -> JSONValue {
        var object = JSONObject([("resourceType", .string("Patient"))])
        object.set("extension", .array([
            complex(V.recordExtension, [
                ext("state", "Code", .string(record.storedState.rawValue)),
                ext("enrollment", "Code", .string(record.enrollment.kind.rawValue)),
                ext("openedBy", "Code", .string(record.openedBy.rawValue)),
                ext("openedAt", "Instant", instant(record.openedAt)),
                ext("objectionPeriodEndsAt", "Instant", instant(record.objectionPeriodEndsAt)),
                ext("activeSince", "Instant", instant(record.activeSince)),
                ext("closedAt", "Instant", instant(record.closedAt)),
                ext("closureReason", "Code", record.closureReason.map { .string($0.rawValue) }),
            ])
        ].compactMap { $0 }))
        object.set("identifier", .array([identifier(V.patientID, record.patientID.rawValue)]))
        object.set("active", .bool(record.storedState != .closed))
        if let physician = record.enrollment.referringPhysicianID {
            object.set("generalPractitioner", .array([
                .object([
                    ("type", .string("Practitioner")),
                    ("identifier", identifier(V.principalSystem(.professional), physician)),
                ])
            ]))
        }
        return object.value
    }

    // MARK: DocumentReference

    static func documentReference(_ document: Document) -> JSONValue {
        let submission = document.submission
        var object = JSONObject([("resourceType", .string("DocumentReference")), ("id", .string(document.id))])
        let details: [JSONValue?] = [
            ext("depositedAt", "Instant", instant(document.depositedAt)),
            ext("version", "String", .string(String(document.version))),
            ext("patientSpace", "Boolean", .bool(document.patientSpace)),
            ext("authorConfidentiality", "Code", .string(V.confidentialityCode(submission.confidentiality))),
            ext("hiddenAtDeposit", "Boolean", .bool(submission.hiddenFromPatient)),
            ext("releasedAt", "Instant", instant(document.releasedAt)),
            ext("deprecationReason", "String", .string(document.deprecationReason)),
            ext("deprecatedAt", "Instant", instant(document.deprecatedAt)),
            ext("replacedBy", "String", document.replacedByID.map(JSONValue.string)),
        ]
        object.set("extension", .array([complex(V.documentExtension, details), principalDetail(document.author, name: "author")].compactMap { $0 }))
        object.set("masterIdentifier", identifier(V.clientUniqueID, submission.clientUniqueID))
        object.set("identifier", .array([identifier(V.documentID, document.id)]))
        // XDS Deprecated is FHIR `superseded` (IHE MHD); the reason is in the extension.
        object.set("status", document.status == .current ? "current" : "superseded")
        object.set("type", concept(coding(submission.typeCode)))
        object.set("category", .array([concept(coding(V.documentClass, submission.documentClass.rawValue))]))
        object.set("subject", patientReference(document.patientID))
        object.set("date", instant(document.depositedAt))
        object.set("author", .array([reference(document.author)]))
        if let organisation = document.author.organisation {
            object.set("custodian", .object([
                ("type", .string("Organization")), ("identifier", identifier(V.principalSystem(.organisation), organisation)),
            ]))
        }
        if let replaces = document.replacesID {
            object.set("relatesTo", .array([
                .object([
                    ("code", .string("replaces")),
                    ("target", .object([
                        ("reference", .string(V.fullURL("DocumentReference", replaces))),
                        ("identifier", identifier(V.documentID, replaces)),
                    ])),
                ])
            ]))
        }
        object.set("description", submission.title)
        var labels = [concept(coding(V.confidentiality, V.confidentialityCode(document.confidentiality)))]
        for category in submission.sensitiveCategories.sorted(by: { $0.rawValue < $1.rawValue }) {
            labels.append(concept(coding(V.sensitiveCategory, category.rawValue)))
        }
        object.set("securityLabel", .array(labels))
        var attachment = JSONObject()
        attachment.set("extension", .array([ext(V.sha256Extension, "Base64Binary", .string(Data(document.sha256).base64EncodedString()))!]))
        attachment.set("contentType", submission.mimeType)
        attachment.set("language", submission.language)
        attachment.set("url", "/documents/\(document.id)")
        // The content's path from the root of the export (FHIR url: an absolute path).
        // Attachment.size is an unsignedInt (at most 2^31 - 1); the SHA-256 extension and the
        // file itself say the rest.
        if document.sizeBytes <= UInt64(Int32.max) { attachment.set("size", .integer(Int64(document.sizeBytes))) }
        attachment.set("title", submission.title)
        attachment.set("creation", instant(submission.createdAt))
        var content = JSONObject([("attachment", attachment.value)])
        content.set("format", submission.formatCode.map { coding($0) })
        object.set("content", .array([content.value]))
        var context = JSONObject()
        if submission.serviceStart != nil || submission.serviceEnd != nil {
            var period = JSONObject()
            period.set("start", instant(submission.serviceStart))
            period.set("end", instant(submission.serviceEnd))
            context.set("period", period.value)
        }
        context.set("facilityType", submission.facilityType.map { concept(coding($0)) })
        context.set("practiceSetting", submission.practiceSetting.map { concept(coding($0)) })
        object.set("context", context.value)
        return object.value
    }

    // MARK: AuditEvent

    static func action(_ operation: LoggedOperation) -> String {
        switch operation {
        case .openRecord, .activateRecord, .depositDocument, .createUpload, .grantAccess, .blockProfessional,
            .issuePresenceCode, .nameDelegate, .openEmergencyAccess, .importRecord:
            "C"
        case .getRecord, .getDocument, .readDocumentContent, .findDocuments, .getRecordOverview, .listGrants, .listBlocks,
            .listDelegates, .getEmergencyPreference, .getMyAccess, .listAccessLog, .verifyAccessLog, .getLogCheckpoint,
            .listNotifications, .exportRecord:
            "R"
        case .requestDeletion, .revokeAccess, .removeDelegate, .unblockProfessional, .abortUpload:
            "D"
        case .redeemPresenceCode:
            "E"
        default:
            "U"
        }
    }

    static func auditEvent(_ sequenced: SequencedLogEntry, patient: PatientID) -> JSONValue {
        let entry = sequenced.entry
        var object = JSONObject([("resourceType", .string("AuditEvent")), ("id", .string("log-\(sequenced.sequence)"))])
        object.set("extension", .array([
            complex(V.logEntryExtension, [
                ext("sequence", "String", .string(String(sequenced.sequence))),
                ext("basis", "Code", .string(entry.basis.rawValue)),
                ext("grantId", "String", .string(entry.details.grantID)),
                ext("requestId", "String", .string(entry.requestID)),
                ext("prevHash", "Base64Binary", .string(Data(sequenced.prevHash).base64EncodedString())),
                ext("entryHash", "Base64Binary", .string(Data(sequenced.entryHash).base64EncodedString())),
            ])
        ].compactMap { $0 }))
        object.set("type", coding(V.dicom, "110110", "Patient Record"))
        object.set("subtype", .array([coding(V.accessOperation, entry.operation.rawValue)]))
        object.set("action", action(entry.operation))
        object.set("recorded", instant(entry.time))
        object.set("outcome", entry.outcome == .success ? "0" : entry.outcome == .denied ? "4" : "8")
        object.set("outcomeDesc", entry.reason)
        if entry.emergency {
            object.set("purposeOfEvent", .array([concept(coding(V.actReason, "ETREAT", "Emergency Treatment"), text: entry.details.emergencyReason)]))
        }
        var agent = JSONObject()
        agent.set("extension", .array([principalDetail(entry.actor)].compactMap { $0 }))
        agent.set("type", concept(coding(V.principalKind, entry.actor.kind.rawValue)))
        if let profession = entry.actor.profession {
            agent.set("role", .array([concept(coding(V.profession, profession))]))
        }
        agent.set("who", reference(entry.actor))
        agent.set("requestor", .bool(true))
        object.set("agent", .array([agent.value]))
        object.set("source", .object([("observer", .object([("display", .string("Dossier"))]))]))
        var entities: [JSONValue] = [.object([("what", patientReference(patient))])]
        for id in entry.documentIDs {
            entities.append(.object([("what", .object([("identifier", identifier(V.documentID, id))]))]))
        }
        if let subject = entry.details.subject {
            entities.append(.object([
                ("what", .object([("identifier", identifier(V.principalSystem(subject.kind), subject.id))])),
                ("role", coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient")),
            ]))
        }
        object.set("entity", .array(entities))
        return object.value
    }

    // MARK: Consent

    static func consent(_ item: ConsentItem, index: Int, patient: PatientID) -> JSONValue {
        var object = JSONObject([("resourceType", .string("Consent")), ("id", .string("consent-\(index)"))])
        let kind: String
        var status = "active"
        var provision = JSONObject()
        var extensions: [JSONValue?] = []
        var performer: Principal?
        var date: Date?
        func participant(_ role: String, _ reference: JSONValue) -> JSONValue {
            .object([
                ("role", concept(coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", role))),
                ("reference", reference),
            ])
        }
        func period(_ start: Date?, _ end: Date?) -> JSONValue {
            var period = JSONObject()
            period.set("start", instant(start))
            period.set("end", instant(end))
            return period.value
        }
        func principalIdentifier(_ kind: PrincipalKind, _ id: String) -> JSONValue {
            .object([("type", .string(V.resourceType(kind))), ("identifier", identifier(V.principalSystem(kind), id))])
        }
        switch item {
        case .grant(let grant):
            kind = "grant"
            status = grant.state(at: Date()) == .active ? "active" : "inactive"
            performer = grant.createdBy
            date = grant.createdAt
            provision.set("type", "permit")
            provision.set("period", period(grant.createdAt, grant.revokedAt ?? grant.expiresAt))
            provision.set("actor", .array([participant("IRCP", principalIdentifier(grant.grantee.kind, grant.grantee.id))]))
            provision.set("action", .array([concept(coding("http://terminology.hl7.org/CodeSystem/consentaction", "access"))]))
            extensions.append(complex(V.grantExtension, [
                ext("grantId", "String", .string(grant.id)),
                ext("basis", "Code", .string(grant.basis.rawValue)),
                ext("scope", "Code", .string(grant.scope.rawValue)),
                ext("mode", "Code", .string(grant.mode.rawValue)),
                ext("expiresAt", "Instant", instant(grant.expiresAt)),
                ext("revokedAt", "Instant", instant(grant.revokedAt)),
                ext("emergencyReason", "String", .string(grant.emergencyReason)),
                ext("label", "String", .string(grant.label)),
            ]))
        case .delegation(let delegation):
            kind = "delegate"
            status = delegation.isActive(at: Date()) ? "active" : "inactive"
            date = delegation.namedAt
            provision.set("type", "permit")
            provision.set("period", period(delegation.namedAt, delegation.expiresAt))
            // The delegate acts with the patient's rights: a legal representative's role.
            provision.set("actor", .array([participant("RESP", principalIdentifier(.patient, delegation.delegateID))]))
            extensions.append(complex(V.grantExtension, [ext("label", "String", .string(delegation.label))]))
        case .block(let block):
            kind = "block"
            performer = block.blockedBy
            date = block.blockedAt
            provision.set("type", "deny")
            provision.set("period", period(block.blockedAt, nil))
            provision.set("actor", .array([participant("IRCP", principalIdentifier(.professional, block.professionalID))]))
            extensions.append(complex(V.grantExtension, [ext("label", "String", .string(block.label))]))
        case .emergencyPreference(let refused, let updatedAt):
            kind = "emergency-preference"
            date = updatedAt
            provision.set("type", refused ? "deny" : "permit")
            provision.set("purpose", .array([coding(V.actReason, "ETREAT", "Emergency Treatment")]))
        }
        object.set("extension", .array(extensions.compactMap { $0 }))
        object.set("status", status)
        object.set("scope", concept(coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")))
        object.set("category", .array([
            concept(coding("http://loinc.org", "59284-0", "Patient Consent")), concept(coding(V.consentKind, kind)),
        ]))
        object.set("patient", patientReference(patient))
        object.set("dateTime", instant(date))
        object.set("performer", performer.map { JSONValue.array([reference($0)]) })
        object.set("policyRule", concept(coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", kind == "block" ? "OPTOUT" : "OPTIN")))
        object.set("provision", provision.value)
        return object.value
    }
}
