import ArgumentParser
import DossierClient
import Foundation

struct NotificationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifications",
        abstract: "The patient's notifications and which kinds she receives (patient, delegate).",
        subcommands: [List.self, Preferences.self, Set.self], defaultSubcommand: List.self)
}

extension NotificationsCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The notifications, newest first: first access, emergency access, new document, answers to rectification requests.")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Flag(help: "Only unread ones.") var unread = false
        @Flag(help: "Mark every listed notification read.") var markRead = false
        @Option(help: "At most this many notifications (newest first), 1 or more (default: all).") var limit: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
        }

        func run() async throws {
            let response = try await connection.withClient { client in
                var unreadTotal: UInt64 = 0
                var listed = Dossier_V1_ListNotificationsResponse()
                listed.notifications = try await Pages.collect(limit: limit) { token, size in
                    let page = try await client.notifications.listNotifications(.with {
                        $0.patientID = patientID
                        $0.unreadOnly = unread
                        $0.pageSize = size
                        $0.pageToken = token
                    }, options: connection.callOptions)
                    unreadTotal = page.unreadTotal
                    return (page.notifications, page.nextPageToken)
                }.items
                listed.unreadTotal = unreadTotal
                if markRead, let newest = listed.notifications.first {
                    _ = try await client.notifications.markNotificationsRead(.with {
                        $0.patientID = patientID
                        $0.upToNotificationID = newest.notificationID
                    }, options: connection.callOptions)
                }
                return listed
            }
            if connection.json { return try Output.json(response) }
            Output.columns(
                ["#", "TIME", "KIND", "STATE", "WHO", "ABOUT"],
                response.notifications.map { item in
                    [String(item.notificationID), Output.timestamp(item.createdAt, isSet: item.hasCreatedAt), Vocabulary.name(item.kind),
                     item.hasReadAt ? "read" : "unread",
                     [item.actor.displayName, item.actor.id, item.actor.profession].filter { !$0.isEmpty }.joined(separator: " · "),
                     ([item.rectificationRequestID] + item.documentIds).filter { !$0.isEmpty }.joined(separator: " ")]
                })
            print("\(response.unreadTotal) unread")
        }
    }

    struct Preferences: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which notification kinds the patient receives (every kind is on until turned off).")

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.notifications.getNotificationPreferences(.with { $0.patientID = patientID }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            NotificationsCommand.show(response.preferences)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn notification kinds on or off.",
            discussion: """
                Kinds: \(Vocabulary.names(of: Dossier_V1_NotificationKind.self).joined(separator: ", ")). Emergency access is always \
                notified: turning it off is refused.
                """)

        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The patient's id.") var patientID: String
        @Option(name: .customLong("kind"), help: "A kind to change (repeatable).") var kinds: [Dossier_V1_NotificationKind] = []
        @Flag(name: .customLong("on"), help: "Turn the kinds on.") var on = false
        @Flag(name: .customLong("off"), help: "Turn the kinds off.") var off = false

        func validate() throws {
            guard !kinds.isEmpty else { throw ValidationError("give at least one --kind") }
            guard on != off else { throw ValidationError("give exactly one of --on and --off") }
        }

        func run() async throws {
            let response = try await connection.withClient { client in
                try await client.notifications.setNotificationPreferences(.with {
                    $0.patientID = patientID
                    $0.preferences = kinds.map { kind in .with { $0.kind = kind; $0.enabled = on } }
                }, options: connection.callOptions)
            }
            if connection.json { return try Output.json(response) }
            NotificationsCommand.show(response.preferences)
        }
    }

    static func show(_ preferences: [Dossier_V1_NotificationPreference]) {
        Output.columns(
            ["KIND", "NOTIFIED"],
            preferences.map { [Vocabulary.name($0.kind), $0.enabled ? ($0.alwaysOn ? "on (always)" : "on") : "off"] })
    }
}
