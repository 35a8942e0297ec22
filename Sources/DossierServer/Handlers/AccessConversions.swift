import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// Access domain values ⇄ API messages.
extension Dossier_V1_Actor {
    init(_ principal: Principal) {
        self.init()
        kind = Dossier_V1_PrincipalKind(principal.kind)
        id = principal.id
        profession = principal.profession ?? ""
        organisation = principal.organisation ?? ""
        certificateSerial = principal.certificateSerial
        displayName = principal.displayName
    }
}

extension Dossier_V1_PrincipalKind {
    init(_ kind: PrincipalKind) {
        self = switch kind {
        case .patient: .patient
        case .professional: .professional
        case .organisation: .organisation
        case .operator: .operator
        }
    }
}

extension Dossier_V1_AccessBasis {
    init(_ basis: AccessBasis) {
        self = switch basis {
        case .patient: .patient
        case .delegate: .delegate
        case .author: .author
        case .referringPhysician: .referringPhysician
        case .grant: .grant
        case .presenceCode: .presenceCode
        case .emergency: .emergency
        case .operator: .operator
        case .none: .none
        }
    }
}

extension Dossier_V1_AccessScope {
    init(_ scope: AccessScope) { self = scope == .standard ? .standard : .extended }
}

extension Dossier_V1_AccessMode {
    init(_ mode: AccessMode) { self = mode == .read ? .read : .readWrite }
}

extension AccessScope {
    init(_ scope: Dossier_V1_AccessScope, field: String) throws {
        switch scope {
        case .standard: self = .standard
        case .extended: self = .extended
        case .unspecified: throw DossierError.missingField(field)
        case .UNRECOGNIZED: throw DossierError(.invalidArgument, "unknown \(field)", reason: "INVALID_ENUM", field: field)
        }
    }
}

extension AccessMode {
    init(_ mode: Dossier_V1_AccessMode, field: String) throws {
        switch mode {
        case .read: self = .read
        case .readWrite: self = .readWrite
        case .unspecified: throw DossierError.missingField(field)
        case .UNRECOGNIZED: throw DossierError(.invalidArgument, "unknown \(field)", reason: "INVALID_ENUM", field: field)
        }
    }
}

extension Grantee {
    init(_ reference: Dossier_V1_PrincipalRef) throws {
        let kind: PrincipalKind = switch reference.kind {
        case .professional: .professional
        case .organisation: .organisation
        case .patient: .patient
        case .operator: .operator
        default: .patient
        }
        try self.init(kind: kind, id: reference.id)
    }
}

extension Dossier_V1_AccessGrant {
    init(_ grant: AccessGrant, patient: PatientID, at now: Date) {
        self.init()
        grantID = grant.id
        patientID = patient.rawValue
        grantee = .with {
            $0.kind = Dossier_V1_PrincipalKind(grant.grantee.kind)
            $0.id = grant.grantee.id
        }
        basis = Dossier_V1_AccessBasis(grant.basis.accessBasis)
        scope = Dossier_V1_AccessScope(grant.scope)
        mode = Dossier_V1_AccessMode(grant.mode)
        state = switch grant.state(at: now) {
        case .active: .active
        case .expired: .expired
        case .revoked: .revoked
        }
        createdAt = Google_Protobuf_Timestamp(date: grant.createdAt)
        createdBy = Dossier_V1_Actor(grant.createdBy)
        if let date = grant.expiresAt { expiresAt = Google_Protobuf_Timestamp(date: date) }
        if let date = grant.revokedAt { revokedAt = Google_Protobuf_Timestamp(date: date) }
        if let actor = grant.revokedBy { revokedBy = Dossier_V1_Actor(actor) }
        emergencyReason = grant.emergencyReason
        label = grant.label
    }
}

extension Dossier_V1_Delegation {
    init(_ delegation: Delegation, patient: PatientID) {
        self.init()
        patientID = patient.rawValue
        delegateID = delegation.delegateID
        namedAt = Google_Protobuf_Timestamp(date: delegation.namedAt)
        if let date = delegation.expiresAt { expiresAt = Google_Protobuf_Timestamp(date: date) }
        label = delegation.label
    }
}

extension Dossier_V1_ProfessionalBlock {
    init(_ block: ProfessionalBlock) {
        self.init()
        professionalID = block.professionalID
        blockedAt = Google_Protobuf_Timestamp(date: block.blockedAt)
        blockedBy = Dossier_V1_Actor(block.blockedBy)
        label = block.label
    }
}

extension GrantBasis {
    init?(_ basis: Dossier_V1_AccessBasis) {
        switch basis {
        case .grant: self = .grant
        case .presenceCode: self = .presenceCode
        case .emergency: self = .emergency
        default: return nil
        }
    }
}
