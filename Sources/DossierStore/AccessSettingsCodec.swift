import DossierCore
import Foundation

/// Access settings ⇄ the `grants` family: one key per grant, delegation, block, known accessor,
/// expiry notice and rectification request, one for the emergency preference, one for the
/// notification choices and one for the presence code. Every
/// value is sealed with the record's data key; identifiers in keys are blinded with it.
enum AccessSettingsCodec {
    /// Reads every setting of a record with one prefix scan.
    static func load(_ keys: RecordKeys, from engine: any StoreEngine) throws -> RecordAccessSettings {
        var settings = RecordAccessSettings()
        let prefix = Keys.settingsPrefix(keys.handle)
        var failure: (any Error)?
        try engine.scan(prefix: prefix, in: .grants) { entry in
            let key = entry.key
            do {
                let bytes = try keys.open(entry.value, at: key)
                switch Keys.Setting(rawValue: key[prefix.count]) {
                case .grant: settings.grants.append(try decodeGrant(bytes))
                case .delegation: settings.delegations.append(try decodeDelegation(bytes))
                case .block: settings.blocks.append(try decodeBlock(bytes))
                case .emergency:
                    let stored = try Dossier_Storage_V1_StoredEmergencyPreference(serializedBytes: bytes)
                    settings.emergencyRefused = stored.refused
                    settings.emergencyPreferenceUpdatedAt = Time.date(stored.updatedAtUs)
                case .presenceCode: settings.presenceCode = try decodePresenceCode(bytes)
                case .knownAccessor: settings.knownAccessors.insert(String(decoding: bytes, as: UTF8.self))
                case .expiryNotified: settings.expiryNotified.insert(String(decoding: bytes, as: UTF8.self))
                case .notificationPreferences: settings.notificationPreferences = try decodePreferences(bytes)
                case .rectification: settings.rectifications.append(try decodeRectification(bytes))
                case nil: throw CorruptValueError(family: Keys.Family.grants)
                }
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return settings
    }

    /// Stages the difference between two settings in `batch`. `delegationIndex` blinds a
    /// delegate's id for the index across records (KeyStore.blindIndex).
    static func stage(
        _ updated: RecordAccessSettings, replacing current: RecordAccessSettings, keys: RecordKeys,
        delegationIndex: (String) -> [UInt8], in batch: StoreBatch
    ) throws {
        let handle = keys.handle
        func put(_ key: [UInt8], _ value: [UInt8]) throws { batch.put(key, try keys.seal(value, at: key), in: .grants) }
        let oldGrants = Dictionary(current.grants.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        for grant in updated.grants where oldGrants[grant.id] != grant {
            try put(Keys.setting(handle, .grant, id: Array(grant.id.utf8)), try encode(grant))
        }
        let newDelegates = Set(updated.delegations.map(\.delegateID))
        for old in current.delegations where !newDelegates.contains(old.delegateID) {
            batch.delete(Keys.setting(handle, .delegation, id: keys.blind(old.delegateID)), in: .grants)
            batch.delete(Keys.delegationIndex(delegationIndex(old.delegateID), handle: handle), in: .grants)
        }
        for delegation in updated.delegations where !current.delegations.contains(delegation) {
            let value = try encode(delegation)
            try put(Keys.setting(handle, .delegation, id: keys.blind(delegation.delegateID)), value)
            try put(Keys.delegationIndex(delegationIndex(delegation.delegateID), handle: handle), value)
        }
        let newBlocks = Set(updated.blocks.map(\.professionalID))
        for old in current.blocks where !newBlocks.contains(old.professionalID) {
            batch.delete(Keys.setting(handle, .block, id: keys.blind(old.professionalID)), in: .grants)
        }
        for block in updated.blocks where !current.blocks.contains(block) {
            try put(Keys.setting(handle, .block, id: keys.blind(block.professionalID)), try encode(block))
        }
        for accessor in updated.knownAccessors.subtracting(current.knownAccessors) {
            try put(Keys.setting(handle, .knownAccessor, id: keys.blind(accessor)), Array(accessor.utf8))
        }
        for grantID in updated.expiryNotified.subtracting(current.expiryNotified) {
            try put(Keys.setting(handle, .expiryNotified, id: Array(grantID.utf8)), Array(grantID.utf8))
        }
        if updated.notificationPreferences != current.notificationPreferences {
            try put(Keys.setting(handle, .notificationPreferences), try encode(updated.notificationPreferences))
        }
        let oldRectifications = Dictionary(current.rectifications.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        for request in updated.rectifications where oldRectifications[request.id] != request {
            try put(Keys.setting(handle, .rectification, id: Array(request.id.utf8)), try encode(request))
        }
        if updated.presenceCode != current.presenceCode {
            if let code = updated.presenceCode {
                try put(Keys.setting(handle, .presenceCode), try encode(code))
            } else {
                batch.delete(Keys.setting(handle, .presenceCode), in: .grants)
            }
        }
        if updated.emergencyRefused != current.emergencyRefused
            || updated.emergencyPreferenceUpdatedAt != current.emergencyPreferenceUpdatedAt
        {
            var stored = Dossier_Storage_V1_StoredEmergencyPreference()
            stored.refused = updated.emergencyRefused
            stored.updatedAtUs = Time.micros(updated.emergencyPreferenceUpdatedAt)
            try put(Keys.setting(handle, .emergency), try stored.serializedBytes() as [UInt8])
        }
    }

    // MARK: - Values

    static func encode(_ preferences: NotificationPreferences) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredNotificationPreferences()
        stored.disabledKinds = preferences.disabled.map(\.rawValue).sorted()
        stored.updatedAtUs = Time.micros(preferences.updatedAt)
        return try stored.serializedBytes()
    }

    static func decodePreferences(_ bytes: [UInt8]) throws -> NotificationPreferences {
        let stored = try Dossier_Storage_V1_StoredNotificationPreferences(serializedBytes: bytes)
        // A kind this version does not know is skipped rather than refusing the whole record.
        return NotificationPreferences(
            disabled: Set(stored.disabledKinds.compactMap(NotificationKind.init(rawValue:))), updatedAt: Time.date(stored.updatedAtUs))
    }

    static func encode(_ request: RectificationRequest) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredRectificationRequest()
        stored.id = request.id
        stored.documentID = request.documentID
        stored.requestedBy = ActorCodec.encode(request.requestedBy)
        stored.requestedAtUs = Time.micros(request.requestedAt)
        stored.reason = request.reason
        stored.status = request.status.rawValue
        if let answeredBy = request.answeredBy { stored.answeredBy = ActorCodec.encode(answeredBy) }
        stored.answeredAtUs = Time.micros(request.answeredAt)
        stored.answer = request.answer
        stored.replacementDocumentID = request.replacementDocumentID ?? ""
        return try stored.serializedBytes()
    }

    static func decodeRectification(_ bytes: [UInt8]) throws -> RectificationRequest {
        let stored = try Dossier_Storage_V1_StoredRectificationRequest(serializedBytes: bytes)
        guard let requestedAt = Time.date(stored.requestedAtUs), let status = RectificationStatus(rawValue: stored.status) else {
            throw CorruptValueError(family: Keys.Family.grants)
        }
        return RectificationRequest(
            id: stored.id, documentID: stored.documentID, requestedBy: try ActorCodec.decode(stored.requestedBy),
            requestedAt: requestedAt, reason: stored.reason, status: status,
            answeredBy: stored.hasAnsweredBy ? try ActorCodec.decode(stored.answeredBy) : nil, answeredAt: Time.date(stored.answeredAtUs),
            answer: stored.answer, replacementDocumentID: stored.replacementDocumentID.nilIfEmpty)
    }

    static func encode(_ code: PresenceCode) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredPresenceCode()
        stored.digest = code.digest
        stored.issuedAtUs = Time.micros(code.issuedAt)
        stored.issuedBy = ActorCodec.encode(code.issuedBy)
        stored.expiresAtUs = Time.micros(code.expiresAt)
        stored.scope = code.scope.rawValue
        stored.mode = code.mode.rawValue
        stored.accessDurationUs = Int64(code.accessDuration * 1_000_000)
        stored.redeemedAtUs = Time.micros(code.redeemedAt)
        return try stored.serializedBytes()
    }

    static func decodePresenceCode(_ bytes: [UInt8]) throws -> PresenceCode {
        let stored = try Dossier_Storage_V1_StoredPresenceCode(serializedBytes: bytes)
        guard let issuedAt = Time.date(stored.issuedAtUs), let expiresAt = Time.date(stored.expiresAtUs),
            let scope = AccessScope(rawValue: stored.scope), let mode = AccessMode(rawValue: stored.mode)
        else { throw CorruptValueError(family: Keys.Family.grants) }
        return PresenceCode(
            digest: stored.digest, issuedAt: issuedAt, issuedBy: try ActorCodec.decode(stored.issuedBy), expiresAt: expiresAt,
            scope: scope, mode: mode, accessDuration: Double(stored.accessDurationUs) / 1_000_000,
            redeemedAt: Time.date(stored.redeemedAtUs))
    }

    static func encode(_ grant: AccessGrant) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredGrant()
        stored.id = grant.id
        stored.granteeKind = grant.grantee.kind.rawValue
        stored.granteeID = grant.grantee.id
        stored.basis = grant.basis.rawValue
        stored.scope = grant.scope.rawValue
        stored.mode = grant.mode.rawValue
        stored.createdAtUs = Time.micros(grant.createdAt)
        stored.createdBy = ActorCodec.encode(grant.createdBy)
        stored.expiresAtUs = Time.micros(grant.expiresAt)
        stored.revokedAtUs = Time.micros(grant.revokedAt)
        if let revokedBy = grant.revokedBy { stored.revokedBy = ActorCodec.encode(revokedBy) }
        stored.emergencyReason = grant.emergencyReason
        stored.label = grant.label
        return try stored.serializedBytes()
    }

    static func decodeGrant(_ bytes: [UInt8]) throws -> AccessGrant {
        let stored = try Dossier_Storage_V1_StoredGrant(serializedBytes: bytes)
        guard let kind = PrincipalKind(rawValue: stored.granteeKind), let grantee = try? Grantee(kind: kind, id: stored.granteeID),
            let basis = GrantBasis(rawValue: stored.basis), let scope = AccessScope(rawValue: stored.scope),
            let mode = AccessMode(rawValue: stored.mode), let createdAt = Time.date(stored.createdAtUs)
        else { throw CorruptValueError(family: Keys.Family.grants) }
        return AccessGrant(
            id: stored.id, grantee: grantee, basis: basis, scope: scope, mode: mode, createdAt: createdAt,
            createdBy: try ActorCodec.decode(stored.createdBy), expiresAt: Time.date(stored.expiresAtUs),
            revokedAt: Time.date(stored.revokedAtUs),
            revokedBy: stored.hasRevokedBy ? try ActorCodec.decode(stored.revokedBy) : nil,
            emergencyReason: stored.emergencyReason, label: stored.label)
    }

    static func encode(_ delegation: Delegation) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredDelegation()
        stored.delegateID = delegation.delegateID
        stored.namedAtUs = Time.micros(delegation.namedAt)
        stored.expiresAtUs = Time.micros(delegation.expiresAt)
        stored.label = delegation.label
        return try stored.serializedBytes()
    }

    static func decodeDelegation(_ bytes: [UInt8]) throws -> Delegation {
        let stored = try Dossier_Storage_V1_StoredDelegation(serializedBytes: bytes)
        guard let namedAt = Time.date(stored.namedAtUs) else { throw CorruptValueError(family: Keys.Family.grants) }
        return Delegation(delegateID: stored.delegateID, namedAt: namedAt, expiresAt: Time.date(stored.expiresAtUs), label: stored.label)
    }

    static func encode(_ block: ProfessionalBlock) throws -> [UInt8] {
        var stored = Dossier_Storage_V1_StoredBlock()
        stored.professionalID = block.professionalID
        stored.blockedAtUs = Time.micros(block.blockedAt)
        stored.blockedBy = ActorCodec.encode(block.blockedBy)
        stored.label = block.label
        return try stored.serializedBytes()
    }

    static func decodeBlock(_ bytes: [UInt8]) throws -> ProfessionalBlock {
        let stored = try Dossier_Storage_V1_StoredBlock(serializedBytes: bytes)
        guard let blockedAt = Time.date(stored.blockedAtUs) else { throw CorruptValueError(family: Keys.Family.grants) }
        return ProfessionalBlock(
            professionalID: stored.professionalID, blockedAt: blockedAt, blockedBy: try ActorCodec.decode(stored.blockedBy),
            label: stored.label)
    }
}
