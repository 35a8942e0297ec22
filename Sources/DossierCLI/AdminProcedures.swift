import ArgumentParser
import DossierClient
import DossierCore
import Foundation

/// The operators' procedures of docs/OPERATIONS.md that are not about records: what runs,
/// master-key rotation, revocation lists, the access matrix.
extension AdminCommand {
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The server's version, limits, key ids, CRL and access-matrix fingerprint (Admin.GetServerInfo).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let info = try await connection.withClient { client in
                try await client.admin.getServerInfo(.init(), options: connection.callOptions)
            }
            if connection.json { return try Output.json(info) }
            var rows: [(String, String)] = [
                ("version", info.version),
                ("started at", Output.timestamp(info.startedAt, isSet: info.hasStartedAt)),
                ("server time", Output.timestamp(info.serverTime, isSet: info.hasServerTime)),
                ("master key id", info.masterKeyID + (info.masterKeyRotationPending ? " (rotation pending)" : "")),
                ("log-signing key id", info.logSigningKeyID),
                ("access matrix sha256", info.accessMatrixSha256),
                ("max document bytes", "\(info.limits.maxDocumentBytes)"),
                ("max frame bytes", "\(info.limits.maxFrameBytes)"),
            ]
            if info.hasRevocationList {
                let crl = info.revocationList
                rows.append(("CRL", "\(crl.issuer), \(crl.revokedSerials) serials, next update \(Output.timestamp(crl.nextUpdate, isSet: crl.hasNextUpdate))"))
            }
            Output.table(rows)
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Re-wrap every record's keys with the new master key, call after call until completed (docs/OPERATIONS.md, section 14).",
            discussion: "Start dossierd with the new --master-key and the old --previous-master-key first. Resumable: run it again after an interruption.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The new master key's id (`dossier admin info` shows it); the call stops if the server loaded another one.")
        var expectedKeyID = ""

        func run() async throws {
            let last = try await connection.withClient { client in
                var total: UInt64 = 0
                while true {
                    let step = try await client.admin.rotateMasterKey(
                        .with { $0.expectedNewKeyID = expectedKeyID }, options: connection.callOptions)
                    total += step.rewrapped
                    Output.progress(total, of: total + step.remaining, "re-wrapping record keys")
                    if step.completed { return (step, total) }
                }
            }
            if connection.json { return try Output.json(last.0) }
            Output.table([
                ("previous key id", last.0.previousKeyID), ("current key id", last.0.currentKeyID),
                ("re-wrapped", "\(last.1)"), ("completed", "\(last.0.completed)"),
            ])
            print("now restart dossierd without --previous-master-key, then destroy the old key")
        }
    }

    struct CRL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crl", abstract: "The client CA's revocation list.", subcommands: [Reload.self])

        struct Reload: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Read the configured CRL file again (as SIGHUP does); the one in force stays if the new one is invalid.")
            @OptionGroup var connection: ConnectionOptions

            func run() async throws {
                let response = try await connection.withClient { client in
                    try await client.admin.reloadRevocationList(.init(), options: connection.callOptions)
                }
                if connection.json { return try Output.json(response) }
                let crl = response.revocationList
                Output.table([
                    ("issuer", crl.issuer), ("serials", "\(crl.revokedSerials)"), ("CRL number", crl.crlNumber),
                    ("this update", Output.timestamp(crl.thisUpdate, isSet: crl.hasThisUpdate)),
                    ("next update", Output.timestamp(crl.nextUpdate, isSet: crl.hasNextUpdate)),
                ])
            }
        }
    }

    struct Revoked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The revoked certificates: operators' revocations and the CRL's.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let certificates = try await connection.withClient { client in
                try await Pages.collect { token, size in
                    let page = try await client.admin.listRevokedCertificates(.with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.certificates, page.nextPageToken)
                }.items
            }
            if connection.json { return try Output.json(Dossier_V1_ListRevokedCertificatesResponse.with { $0.certificates = certificates }) }
            Output.columns(
                ["SERIAL", "REVOKED", "REASON", "SOURCE", "BY", "NOTE"],
                certificates.map {
                    [$0.serial, Output.timestamp($0.revokedAt, isSet: $0.hasRevokedAt), Vocabulary.name($0.reason), Vocabulary.name($0.source), $0.revokedBy.id, $0.note]
                })
        }
    }

    struct MatrixReload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "matrix-reload",
            abstract: "Read the access-matrix file again and put it in force if valid (Admin.ReloadAccessMatrix).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.admin.reloadAccessMatrix(.init(), options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.table([
                ("source", response.matrix.source.isEmpty ? "shipped default" : response.matrix.source),
                ("sha256", response.matrix.sha256), ("rows", "\(response.matrix.rows.count)"),
            ])
        }
    }
}

extension LogCommand {
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The public keys that sign log checkpoints, to verify a checkpoint offline (any caller).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.accessLog.listLogSigningKeys(.init(), options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.columns(
                ["KEY ID", "ALGORITHM", "PUBLIC KEY", "VALID FROM", "VALID UNTIL"],
                response.keys.map {
                    [$0.keyID, $0.algorithm, $0.publicKey.hex,
                     Output.timestamp($0.validFrom, isSet: $0.hasValidFrom), Output.timestamp($0.validUntil, isSet: $0.hasValidUntil)]
                })
        }
    }
}
