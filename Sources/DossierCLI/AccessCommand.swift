import ArgumentParser
import DossierClient
import Foundation
import SwiftProtobuf

struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Who may access a record: grants, blocks, delegates, referring physician, emergency preference.",
        subcommands: [Grant.self, Revoke.self, List.self, Block.self, Unblock.self, Delegate.self, Undelegate.self,
                      Referring.self, EmergencyPreference.self, Mine.self, Code.self, Redeem.self, Emergency.self,
                      Blocks.self, Delegates.self, MyDelegations.self])

    struct Emergency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open emergency (break-glass) access with a mandatory reason (professional).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Option(help: "Why (10 to 500 characters); shown to the patient.") var reason: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.openEmergencyAccess(.with {
                    $0.patientID = patientID
                    $0.reason = reason
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            GrantTable.show([response.grant])
        }
    }

    struct Code: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a presence code to hand over in a consultation (patient, delegate).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Flag(help: "Extended scope (default: standard).") var extended = false
        @Flag(help: "Read only (default: read and deposit).") var readOnly = false
        @Option(help: "Hours of access once redeemed (default: the server's, 24).") var hours: Double?

        func validate() throws {
            if let hours { guard hours > 0, hours <= 24 * 366 else { throw ValidationError("--hours must be more than 0 and at most 8784") } }
        }

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.issuePresenceCode(.with {
                    $0.patientID = patientID
                    $0.scope = extended ? .extended : .standard
                    $0.mode = readOnly ? .read : .readWrite
                    if let hours { $0.accessDuration = .init(seconds: Int64(hours * 3600), nanos: 0) }
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.table([
                ("code", response.code), ("redeem before", Output.timestamp(response.codeExpiresAt, isSet: response.hasCodeExpiresAt)),
                ("access", "\(Vocabulary.name(response.scope)) \(Vocabulary.name(response.mode)) for \(response.accessDuration.seconds / 3600) h"),
            ])
        }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Redeem a patient's presence code (professional).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The presence code the patient handed over.") var code: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.redeemPresenceCode(.with {
                    $0.patientID = patientID
                    $0.code = code
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            GrantTable.show([response.grant])
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a professional or organisation access (patient, delegate).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The grantee's id.") var granteeID: String
        @Flag(help: "The grantee is an organisation (default: a professional).") var organisation = false
        @Flag(help: "Extended scope: normal and restricted documents (default: standard).") var extended = false
        @Flag(help: "Read and deposit (default: read only).") var write = false
        @Option(help: "Days until the access ends (default: permanent).") var days: Double?

        func validate() throws {
            if let days { guard days > 0, days <= 36_600 else { throw ValidationError("--days must be more than 0 and at most 36600") } }
        }
        @Option(help: "Your own label for the grantee.") var label = ""

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.grantAccess(.with {
                    $0.patientID = patientID
                    $0.grantee = .with {
                        $0.kind = organisation ? .organisation : .professional
                        $0.id = granteeID
                    }
                    $0.scope = extended ? .extended : .standard
                    $0.mode = write ? .readWrite : .read
                    if let days { $0.expiresAt = Google_Protobuf_Timestamp(date: Date() + days * 86_400) }
                    $0.label = label
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            GrantTable.show([response.grant])
            if !response.replacedGrantID.isEmpty { print("replaces \(response.replacedGrantID)") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an access by its grant id.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The grant id (`dossier access list` shows it).") var grantID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.revokeAccess(.with {
                    $0.patientID = patientID
                    $0.grantID = grantID
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            GrantTable.show([response.grant])
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accesses to a record.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Flag(help: "Also expired and revoked accesses.") var all = false

        func run() async throws {
            let grants = try await connection.withClient { client in
                try await Pages.collect { token, size in
                    let page = try await client.access.listGrants(.with {
                        $0.patientID = patientID
                        $0.includeInactive = all
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    return (page.grants, page.nextPageToken)
                }.items
            }
            if connection.json { return try Output.json(Dossier_V1_ListGrantsResponse.with { $0.grants = grants }) }
            GrantTable.show(grants)
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block a professional entirely, emergency access included.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The professional to block.") var professionalID: String
        @Option(help: "Your own note about the block.") var label = ""

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.blockProfessional(.with {
                    $0.patientID = patientID
                    $0.professionalID = professionalID
                    $0.label = label
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            print("blocked \(response.block.professionalID); revoked: \(response.revokedGrantIds.joined(separator: ", "))")
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a block.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The professional to unblock.") var professionalID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.unblockProfessional(.with {
                    $0.patientID = patientID
                    $0.professionalID = professionalID
                }, options: connection.callOptions)
            }
            connection.json ? try Output.json(response) : print("unblocked \(professionalID)")
        }
    }

    struct Delegate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name a delegate who acts with your rights (patient).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The delegate's patient id.") var delegateID: String
        @Option(help: "Your own label for the delegate.") var label = ""

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.nameDelegate(.with {
                    $0.patientID = patientID
                    $0.delegateID = delegateID
                    $0.label = label
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            print("delegate \(response.delegation.delegateID) named")
        }
    }

    struct Undelegate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a delegate (the patient, or the delegate themselves).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The delegate's patient id.") var delegateID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.removeDelegate(.with {
                    $0.patientID = patientID
                    $0.delegateID = delegateID
                }, options: connection.callOptions)
            }
            connection.json ? try Output.json(response) : print("delegate \(delegateID) removed")
        }
    }

    struct Referring: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the referring physician, or remove it with --remove (patient, delegate).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The professional id of the new referring physician.") var professionalID: String?
        @Flag(help: "Remove the referring physician (instead of naming one).") var remove = false

        func validate() throws {
            switch (professionalID, remove) {
            case (nil, false): throw ValidationError("name the referring physician's professional id, or pass --remove")
            case (.some(_), true): throw ValidationError("--remove takes no professional id")
            default: break
            }
        }

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.setReferringPhysician(.with {
                    $0.patientID = patientID
                    $0.professionalID = professionalID ?? ""
                }, options: connection.callOptions)
            }
            try RecordTable.show(response, response.record, json: connection.json)
        }
    }

    struct EmergencyPreference: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "emergency-preference", abstract: "Show, allow or refuse emergency access in advance.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Argument(help: "The preference to set; omit to show the one in force.") var choice: Dossier_V1_EmergencyPreference?

        func run() async throws {
            let preference: Dossier_V1_EmergencyPreference = try await connection.withClient { client in
                if let choice {
                    return try await client.access.setEmergencyPreference(.with {
                        $0.patientID = patientID
                        $0.preference = choice
                    }, options: connection.callOptions).preference
                }
                return try await client.access.getEmergencyPreference(.with { $0.patientID = patientID }, options: connection.callOptions).preference
            }
            if connection.json {
                return try Output.json(Dossier_V1_GetEmergencyPreferenceResponse.with { $0.preference = preference })
            }
            print(preference == .refuse ? "emergency access refused" : "emergency access allowed")
        }
    }

    struct Mine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "me", abstract: "What access you have to a record.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.access.getMyAccess(.with { $0.patientID = patientID }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            Output.table([
                ("basis", Vocabulary.name(response.basis)), ("scope", Vocabulary.name(response.scope)),
                ("mode", Vocabulary.name(response.mode)),
                ("expires", Output.timestamp(response.expiresAt, isSet: response.hasExpiresAt)),
            ])
        }
    }
}

/// The table view of accesses.
enum GrantTable {
    static func show(_ grants: [Dossier_V1_AccessGrant]) {
        guard !grants.isEmpty else { return print("no accesses") }
        Output.columns(
            ["GRANT", "KIND", "GRANTEE", "BASIS", "SCOPE", "MODE", "STATE", "EXPIRES"],
            grants.map { grant in
                [grant.grantID, Vocabulary.name(grant.grantee.kind), grant.grantee.id, Vocabulary.name(grant.basis),
                 Vocabulary.name(grant.scope), Vocabulary.name(grant.mode), Vocabulary.name(grant.state),
                 Output.timestamp(grant.expiresAt, isSet: grant.hasExpiresAt)]
            })
    }
}
