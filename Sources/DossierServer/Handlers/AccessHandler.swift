import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Access`: the patient's decisions about who may access the record.
struct AccessHandler: Dossier_V1_AccessService {
    let access: AccessService
    let presence: PresenceCodeService
    let emergency: EmergencyAccessService

    private var now: Date { access.clock() }

    func grantAccess(_ request: Dossier_V1_GrantAccessRequest, context: CallContext) async throws -> Dossier_V1_GrantAccessResponse {
        let patient = try PatientID(validating: request.patientID)
        guard request.hasGrantee else { throw DossierError.missingField("grantee") }
        let grantee = try Grantee(request.grantee)
        let scope = try AccessScope(request.scope, field: "scope")
        let mode = try AccessMode(request.mode, field: "mode")
        let (grant, replaced) = try await access.grant(
            patient, to: grantee, scope: scope, mode: mode, expiresAt: request.hasExpiresAt ? request.expiresAt.date : nil,
            label: request.label, by: context.principal)
        return .with {
            $0.grant = Dossier_V1_AccessGrant(grant, patient: patient, at: now)
            $0.replacedGrantID = replaced ?? ""
        }
    }

    func revokeAccess(_ request: Dossier_V1_RevokeAccessRequest, context: CallContext) async throws -> Dossier_V1_RevokeAccessResponse {
        let patient = try PatientID(validating: request.patientID)
        guard !request.grantID.isEmpty else { throw DossierError.missingField("grant_id") }
        let grant = try await access.revoke(patient, grantID: request.grantID, by: context.principal)
        return .with { $0.grant = Dossier_V1_AccessGrant(grant, patient: patient, at: now) }
    }

    func listGrants(_ request: Dossier_V1_ListGrantsRequest, context: CallContext) async throws -> Dossier_V1_ListGrantsResponse {
        let patient = try PatientID(validating: request.patientID)
        let page = try Page(request, context: context)
        var bases: Set<GrantBasis> = []
        for basis in request.bases {
            guard let grantBasis = GrantBasis(basis) else {
                throw DossierError(.invalidArgument, "bases may only hold GRANT, PRESENCE_CODE, EMERGENCY", reason: "INVALID_ENUM", field: "bases")
            }
            bases.insert(grantBasis)
        }
        let grants = try await access.listGrants(patient, bases: bases, includeInactive: request.includeInactive, by: context.principal)
        let (items, next) = try page.slice(grants)
        let now = self.now
        return .with {
            $0.grants = items.map { Dossier_V1_AccessGrant($0, patient: patient, at: now) }
            $0.nextPageToken = next
        }
    }

    func blockProfessional(_ request: Dossier_V1_BlockProfessionalRequest, context: CallContext) async throws -> Dossier_V1_BlockProfessionalResponse {
        let patient = try PatientID(validating: request.patientID)
        let (block, revoked) = try await access.block(
            patient, professionalID: request.professionalID, label: request.label, by: context.principal)
        return .with {
            $0.block = Dossier_V1_ProfessionalBlock(block)
            $0.revokedGrantIds = revoked
        }
    }

    func unblockProfessional(_ request: Dossier_V1_UnblockProfessionalRequest, context: CallContext) async throws -> Dossier_V1_UnblockProfessionalResponse {
        try await access.unblock(try PatientID(validating: request.patientID), professionalID: request.professionalID, by: context.principal)
        return .init()
    }

    func listBlocks(_ request: Dossier_V1_ListBlocksRequest, context: CallContext) async throws -> Dossier_V1_ListBlocksResponse {
        let patient = try PatientID(validating: request.patientID)
        let page = try Page(request, context: context)
        let (items, next) = try page.slice(try await access.listBlocks(patient, by: context.principal))
        return .with {
            $0.blocks = items.map(Dossier_V1_ProfessionalBlock.init)
            $0.nextPageToken = next
        }
    }

    func setReferringPhysician(_ request: Dossier_V1_SetReferringPhysicianRequest, context: CallContext) async throws -> Dossier_V1_SetReferringPhysicianResponse {
        let patient = try PatientID(validating: request.patientID)
        let record = try await access.setReferringPhysician(
            patient, professionalID: request.professionalID.isEmpty ? nil : request.professionalID, by: context.principal)
        return .with { $0.record = Dossier_V1_Record(record, at: now) }
    }

    func nameDelegate(_ request: Dossier_V1_NameDelegateRequest, context: CallContext) async throws -> Dossier_V1_NameDelegateResponse {
        let patient = try PatientID(validating: request.patientID)
        let delegation = try await access.nameDelegate(
            patient, delegateID: request.delegateID, expiresAt: request.hasExpiresAt ? request.expiresAt.date : nil,
            label: request.label, by: context.principal)
        return .with { $0.delegation = Dossier_V1_Delegation(delegation, patient: patient) }
    }

    func removeDelegate(_ request: Dossier_V1_RemoveDelegateRequest, context: CallContext) async throws -> Dossier_V1_RemoveDelegateResponse {
        try await access.removeDelegate(try PatientID(validating: request.patientID), delegateID: request.delegateID, by: context.principal)
        return .init()
    }

    func listDelegates(_ request: Dossier_V1_ListDelegatesRequest, context: CallContext) async throws -> Dossier_V1_ListDelegatesResponse {
        let patient = try PatientID(validating: request.patientID)
        let page = try Page(request, context: context)
        let (items, next) = try page.slice(try await access.listDelegates(patient, by: context.principal))
        return .with {
            $0.delegations = items.map { Dossier_V1_Delegation($0, patient: patient) }
            $0.nextPageToken = next
        }
    }

    func setEmergencyPreference(_ request: Dossier_V1_SetEmergencyPreferenceRequest, context: CallContext) async throws -> Dossier_V1_SetEmergencyPreferenceResponse {
        let patient = try PatientID(validating: request.patientID)
        let refuse: Bool
        switch request.preference {
        case .allow: refuse = false
        case .refuse: refuse = true
        case .unspecified: throw DossierError.missingField("preference")
        case .UNRECOGNIZED: throw DossierError(.invalidArgument, "unknown preference", reason: "INVALID_ENUM", field: "preference")
        }
        let updatedAt = try await access.setEmergencyPreference(patient, refuse: refuse, by: context.principal)
        return .with {
            $0.preference = refuse ? .refuse : .allow
            $0.updatedAt = Google_Protobuf_Timestamp(date: updatedAt)
        }
    }

    func getEmergencyPreference(_ request: Dossier_V1_GetEmergencyPreferenceRequest, context: CallContext) async throws -> Dossier_V1_GetEmergencyPreferenceResponse {
        let (refused, updatedAt) = try await access.emergencyPreference(try PatientID(validating: request.patientID), by: context.principal)
        return .with {
            $0.preference = refused ? .refuse : .allow
            if let updatedAt { $0.updatedAt = Google_Protobuf_Timestamp(date: updatedAt) }
        }
    }

    func getMyAccess(_ request: Dossier_V1_GetMyAccessRequest, context: CallContext) async throws -> Dossier_V1_GetMyAccessResponse {
        let (basis, effective) = try await access.myAccess(try PatientID(validating: request.patientID), by: context.principal)
        return .with { response in
            response.basis = Dossier_V1_AccessBasis(basis)
            guard let effective else { return }
            response.scope = Dossier_V1_AccessScope(effective.scope)
            response.mode = Dossier_V1_AccessMode(effective.mode)
            if let date = effective.expiresAt { response.expiresAt = Google_Protobuf_Timestamp(date: date) }
            response.paths = effective.paths.map { path in
                .with {
                    $0.basis = Dossier_V1_AccessBasis(path.basis)
                    $0.scope = Dossier_V1_AccessScope(path.scope)
                    $0.mode = Dossier_V1_AccessMode(path.mode)
                    if let date = path.expiresAt { $0.expiresAt = Google_Protobuf_Timestamp(date: date) }
                    $0.grantID = path.grantID ?? ""
                }
            }
        }
    }

    func issuePresenceCode(_ request: Dossier_V1_IssuePresenceCodeRequest, context: CallContext) async throws -> Dossier_V1_IssuePresenceCodeResponse {
        let patient = try PatientID(validating: request.patientID)
        let scope = request.scope == .unspecified ? .standard : try AccessScope(request.scope, field: "scope")
        let mode = request.mode == .unspecified ? .readWrite : try AccessMode(request.mode, field: "mode")
        let duration = request.hasAccessDuration
            ? Double(request.accessDuration.seconds) + Double(request.accessDuration.nanos) / 1e9 : nil
        let (code, issued) = try await presence.issue(patient, scope: scope, mode: mode, accessDuration: duration, by: context.principal)
        return .with {
            $0.code = String(code.prefix(4)) + "-" + String(code.dropFirst(4))
            $0.codeExpiresAt = Google_Protobuf_Timestamp(date: issued.expiresAt)
            $0.scope = Dossier_V1_AccessScope(issued.scope)
            $0.mode = Dossier_V1_AccessMode(issued.mode)
            $0.accessDuration = Google_Protobuf_Duration(seconds: Int64(issued.accessDuration), nanos: 0)
        }
    }

    func redeemPresenceCode(_ request: Dossier_V1_RedeemPresenceCodeRequest, context: CallContext) async throws -> Dossier_V1_RedeemPresenceCodeResponse {
        let patient = try PatientID(validating: request.patientID)
        guard !request.code.isEmpty, request.code.count <= 32 else { throw DossierError.missingField("code") }
        let grant = try await presence.redeem(patient, code: request.code, by: context.principal)
        return .with { $0.grant = Dossier_V1_AccessGrant(grant, patient: patient, at: now) }
    }

    func openEmergencyAccess(_ request: Dossier_V1_OpenEmergencyAccessRequest, context: CallContext) async throws -> Dossier_V1_OpenEmergencyAccessResponse {
        let patient = try PatientID(validating: request.patientID)
        let grant = try await emergency.open(patient, reason: request.reason, by: context.principal)
        return .with { $0.grant = Dossier_V1_AccessGrant(grant, patient: patient, at: now) }
    }

    func listMyDelegations(_ request: Dossier_V1_ListMyDelegationsRequest, context: CallContext) async throws -> Dossier_V1_ListMyDelegationsResponse {
        let page = try Page(request, context: context)
        let (items, next) = try page.slice(try await access.myDelegations(by: context.principal))
        return .with {
            $0.delegations = items.map { Dossier_V1_Delegation($0.delegation, patient: $0.patient) }
            $0.nextPageToken = next
        }
    }
}
