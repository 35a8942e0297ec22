import Foundation

/// The lifecycle state of a care record.
public enum RecordState: String, Sendable, Hashable, CaseIterable {
    /// Opened in the opt-out model; the objection period runs; nothing is shared.
    case pending
    /// In use.
    case active
    /// Closed; no professional access; kept until purged.
    case closed
}

/// How the patient is enrolled.
public enum EnrollmentKind: String, Sendable, Hashable {
    case volunteer
    /// With a referring physician (médecin référent), who has extended read-write access.
    case referringPhysician
}

/// Who opened the record.
public enum OpeningChannel: String, Sendable, Hashable {
    case bulk, `operator`, patient
}

public enum ClosureReason: String, Sendable, Hashable {
    case patientRequest, objection, operatorOnRequest
}

/// Enrollment with its referring physician, valid by construction.
public enum Enrollment: Sendable, Hashable {
    case volunteer
    case referringPhysician(id: String)

    public var kind: EnrollmentKind {
        switch self {
        case .volunteer: .volunteer
        case .referringPhysician: .referringPhysician
        }
    }

    public var referringPhysicianID: String? {
        if case .referringPhysician(let id) = self { return id }
        return nil
    }

    /// Validates a kind (nil = unspecified) and physician id as sent by a client.
    public init(kind: EnrollmentKind?, referringPhysicianID: String, defaultKind: EnrollmentKind?) throws {
        switch kind ?? defaultKind {
        case nil:
            throw DossierError.missingField("enrollment")
        case .volunteer:
            guard referringPhysicianID.isEmpty else {
                throw DossierError(
                    .invalidArgument, "referring_physician_id is only allowed with a referring-physician enrollment",
                    reason: "UNEXPECTED_FIELD", field: "referring_physician_id")
            }
            self = .volunteer
        case .referringPhysician:
            guard Identifier.isValid(referringPhysicianID) else {
                throw DossierError(
                    .invalidArgument, "referring_physician_id must be a professional id",
                    reason: "INVALID_PROFESSIONAL_ID", field: "referring_physician_id")
            }
            self = .referringPhysician(id: referringPhysicianID)
        }
    }
}

/// A care record's lifecycle. Carries no clinical content.
public struct Record: Sendable, Hashable {
    public let patientID: PatientID
    /// The stored state; see `state(at:)` for the state in force at a given time.
    public var storedState: RecordState
    public var enrollment: Enrollment
    public var openedBy: OpeningChannel
    public var openedAt: Date
    public var objectionPeriodEndsAt: Date?
    public var activeSince: Date?
    public var closedAt: Date?
    public var closureReason: ClosureReason?
    public var purgeAfter: Date?
    /// When the patient asked for early deletion; the record can no longer be reopened.
    public var deletionRequestedAt: Date?
    /// Incremented on every lifecycle change.
    public var version: UInt64

    public init(
        patientID: PatientID, storedState: RecordState, enrollment: Enrollment,
        openedBy: OpeningChannel, openedAt: Date, objectionPeriodEndsAt: Date? = nil,
        activeSince: Date? = nil, closedAt: Date? = nil, closureReason: ClosureReason? = nil,
        purgeAfter: Date? = nil, deletionRequestedAt: Date? = nil, version: UInt64 = 1
    ) {
        self.patientID = patientID
        self.storedState = storedState
        self.enrollment = enrollment
        self.openedBy = openedBy
        self.openedAt = openedAt
        self.objectionPeriodEndsAt = objectionPeriodEndsAt
        self.activeSince = activeSince
        self.closedAt = closedAt
        self.closureReason = closureReason
        self.purgeAfter = purgeAfter
        self.deletionRequestedAt = deletionRequestedAt
        self.version = version
    }

    /// The state in force at `now`: a pending record whose objection period has ended is
    /// active, without any background job having to flip it.
    public func state(at now: Date) -> RecordState {
        if storedState == .pending, let end = objectionPeriodEndsAt, now >= end {
            return .active
        }
        return storedState
    }
}
