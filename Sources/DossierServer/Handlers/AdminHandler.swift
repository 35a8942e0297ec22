import DossierCore
import DossierProto
import DossierStore
import Foundation
import Logging
import SwiftProtobuf

/// `dossier.v1.Admin`, for operators.
struct AdminHandler: Dossier_V1_AdminService {
    let accessMatrix: AccessMatrixInForce
    let purge: PurgeService
    let backups: Backups
    let revocations: Revocations
    let store: DossierStore
    let configuration: ServerConfiguration
    let logSigningKeyID: String
    let startedAt: Date
    let logger: Logger

    func getAccessMatrix(_ request: Dossier_V1_GetAccessMatrixRequest, context: CallContext) async throws -> Dossier_V1_GetAccessMatrixResponse {
        try Self.requireOperator(context)
        return .with { $0.matrix = Self.api(accessMatrix.current) }
    }

    static func api(_ file: AccessMatrixFile) -> Dossier_V1_AccessMatrix {
        .with {
                $0.rows = file.matrix.rows.map { row in
                    .with {
                        $0.principalKind = Dossier_V1_PrincipalKind(row.kind)
                        $0.profession = row.profession
                        $0.documentClasses = row.documentClasses.map(\.api).sorted { $0.rawValue < $1.rawValue }
                        $0.sensitiveCategories = row.sensitiveCategories.map(\.api).sorted { $0.rawValue < $1.rawValue }
                        $0.mayUseEmergencyAccess = row.mayUseEmergencyAccess
                    }
                }
            $0.source = file.source
            $0.loadedAt = Google_Protobuf_Timestamp(date: file.loadedAt)
            $0.sha256 = file.sha256
        }
    }

    /// Version, limits and key ids in force (never key material), for operators.
    func getServerInfo(_ request: Dossier_V1_GetServerInfoRequest, context: CallContext) async throws -> Dossier_V1_GetServerInfoResponse {
        try Self.requireOperator(context)
        let configuration = self.configuration
        let keys = store.masterKeyIDs
        func duration(_ seconds: TimeInterval) -> Google_Protobuf_Duration {
            Google_Protobuf_Duration(seconds: Int64(seconds), nanos: Int32((seconds - seconds.rounded(.down)) * 1e9))
        }
        let rotationPending = try await store.staleDataKeyCount() > 0
        let crl = revocations.revocationList
        return .with {
            $0.version = DossierServer.version
            $0.startedAt = Google_Protobuf_Timestamp(date: startedAt)
            $0.serverTime = Google_Protobuf_Timestamp(date: Date())
            $0.limits = .with {
                $0.maxInlineContentBytes = UInt64(configuration.documents.maxInlineContent)
                $0.maxDocumentBytes = configuration.documents.maxDocumentSize
                $0.maxChunkBytes = UInt32(configuration.documents.maxChunk)
                $0.maxFrameBytes = UInt32(configuration.transport.limits.maxPayloadLength)
                $0.maxPageSize = UInt32(Page.maxSize)
                $0.uploadIdleExpiry = duration(configuration.documents.uploadIdleTimeout)
                $0.objectionPeriod = duration(configuration.policy.objectionPeriod)
                $0.retentionPeriod = duration(configuration.policy.retentionPeriod)
                $0.presenceCodeAccessDefault = duration(configuration.presenceCodes.defaultAccessDuration)
                $0.presenceCodeAccessMax = duration(configuration.presenceCodes.maxAccessDuration)
                $0.presenceCodeRedeemWindow = duration(configuration.presenceCodes.codeValidity)
                $0.emergencyAccessDuration = duration(configuration.emergency.duration)
            }
            $0.masterKeyID = keys.current
            $0.masterKeyRotationPending = rotationPending
            $0.logSigningKeyID = logSigningKeyID
            if let crl { $0.revocationList = Dossier_V1_RevocationListInfo(crl) }
            $0.accessMatrixSha256 = accessMatrix.current.sha256
        }
    }

    func createBackup(_ request: Dossier_V1_CreateBackupRequest, context: CallContext) async throws -> Dossier_V1_CreateBackupResponse {
        try Self.requireOperator(context)
        let backup = try await backups.create(name: request.name)
        return .with { $0.backup = backup }
    }

    func listBackups(_ request: Dossier_V1_ListBackupsRequest, context: CallContext) async throws -> Dossier_V1_ListBackupsResponse {
        try Self.requireOperator(context)
        let page = try Page(request, context: context)
        let (items, next) = try page.slice(try backups.list())
        return .with {
            $0.backups = Array(items)
            $0.nextPageToken = next
        }
    }

    func revokeCertificate(_ request: Dossier_V1_RevokeCertificateRequest, context: CallContext) async throws -> Dossier_V1_RevokeCertificateResponse {
        if case .UNRECOGNIZED = request.reason {
            throw DossierError(.invalidArgument, "unknown reason", reason: "INVALID_ENUM", field: "reason")
        }
        let (revocation, new) = try await revocations.revoke(
            request.serial, reason: request.reason.rawValue, note: request.note, by: context.principal, at: Date())
        return .with {
            $0.revoked = Dossier_V1_RevokedCertificate(revocation)
            $0.newlyRevoked = new
        }
    }

    func listRevokedCertificates(_ request: Dossier_V1_ListRevokedCertificatesRequest, context: CallContext) async throws -> Dossier_V1_ListRevokedCertificatesResponse {
        let page = try Page(request, context: context)
        let all = try revocations.all(by: context.principal).filter { item in
            switch request.source {
            case .crl: item.fromCRL
            case .operator: !item.fromCRL
            default: true
            }
        }
        let (items, next) = try page.slice(all)
        return .with {
            $0.certificates = items.map { item in
                if let revocation = item.revocation { return Dossier_V1_RevokedCertificate(revocation) }
                return .with {
                    $0.serial = item.serial
                    $0.revokedAt = Google_Protobuf_Timestamp(date: item.revokedAt)
                    $0.source = .crl
                }
            }
            $0.nextPageToken = next
        }
    }

    func reloadRevocationList(_ request: Dossier_V1_ReloadRevocationListRequest, context: CallContext) async throws -> Dossier_V1_ReloadRevocationListResponse {
        try Self.requireOperator(context)
        let list = try revocations.reloadCRL()
        return .with { $0.revocationList = Dossier_V1_RevocationListInfo(list) }
    }

    /// Re-wraps the data keys still wrapped by the previous master key (`--previous-master-key`)
    /// with the current one, in rounds of 10,000; call again until `completed`.
    func rotateMasterKey(_ request: Dossier_V1_RotateMasterKeyRequest, context: CallContext) async throws -> Dossier_V1_RotateMasterKeyResponse {
        try Self.requireOperator(context)
        let ids = store.masterKeyIDs
        guard let previous = ids.previous else {
            throw DossierError(
                .failedPrecondition, "no previous master key is loaded: start dossierd with the new --master-key and --previous-master-key",
                reason: "NO_NEW_MASTER_KEY")
        }
        guard request.expectedNewKeyID.isEmpty || request.expectedNewKeyID == ids.current else {
            throw DossierError(
                .failedPrecondition, "the server's current master key is \(ids.current)", reason: "MASTER_KEY_ID_MISMATCH",
                field: "expected_new_key_id")
        }
        let (rewrapped, remaining) = try await store.rewrapDataKeys(limit: 10_000)
        return .with {
            $0.previousKeyID = previous
            $0.currentKeyID = ids.current
            $0.rewrapped = rewrapped
            $0.remaining = remaining
            $0.completed = remaining == 0
        }
    }

    func runPurge(_ request: Dossier_V1_RunPurgeRequest, context: CallContext) async throws -> Dossier_V1_RunPurgeResponse {
        let run = try await purge.run(
            dryRun: request.dryRun, maxRecords: request.maxRecords == 0 ? nil : Int(request.maxRecords), by: context.principal)
        return .with {
            $0.purged = run.purged
            $0.remainingDue = run.remainingDue
            if let next = run.nextDueAt { $0.nextDueAt = Google_Protobuf_Timestamp(date: next) }
        }
    }

    /// Validated before it replaces the one in force (atomically); on error the old one stays.
    func reloadAccessMatrix(_ request: Dossier_V1_ReloadAccessMatrixRequest, context: CallContext) async throws -> Dossier_V1_ReloadAccessMatrixResponse {
        try Self.requireOperator(context)
        do {
            let file = try accessMatrix.reload()
            logger.notice("access matrix reloaded", metadata: ["sha256": "\(file.sha256)", "rows": "\(file.matrix.rows.count)"])
            return .with { $0.matrix = Self.api(file) }
        } catch {
            logger.error("access matrix not reloaded", metadata: ["error": "\(error)"])
            throw DossierError(.failedPrecondition, "\(error)", reason: "ACCESS_MATRIX_INVALID")
        }
    }

    private static func requireOperator(_ context: CallContext) throws {
        guard context.principal.kind == .operator else { throw DossierError.permissionDenied() }
    }
}

extension Dossier_V1_RevokedCertificate {
    init(_ revocation: CertificateRevocation) {
        self.init()
        serial = revocation.serial
        revokedAt = Google_Protobuf_Timestamp(date: revocation.revokedAt)
        reason = Dossier_V1_RevocationReason(rawValue: revocation.reason) ?? .unspecified
        source = .operator
        revokedBy = Dossier_V1_Actor(revocation.revokedBy)
        note = revocation.note
    }
}

extension Dossier_V1_RevocationListInfo {
    init(_ list: RevocationList) {
        self.init()
        issuer = list.issuer
        thisUpdate = Google_Protobuf_Timestamp(date: list.thisUpdate)
        if let next = list.nextUpdate { nextUpdate = Google_Protobuf_Timestamp(date: next) }
        crlNumber = list.crlNumber
        revokedSerials = UInt64(list.entries.count)
        loadedAt = Google_Protobuf_Timestamp(date: list.loadedAt)
    }
}
