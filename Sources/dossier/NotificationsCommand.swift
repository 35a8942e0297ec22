import ArgumentParser
import DossierClient
import Foundation

struct NotificationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifications", abstract: "The patient's notifications: first access, emergency access (patient, delegate).")

    @OptionGroup var connection: ConnectionOptions
    @Argument var patientID: String
    @Flag(help: "Only unread ones.") var unread = false
    @Flag(help: "Mark every listed notification read.") var markRead = false

    func run() async throws {
        let response = try await connection.withClient { client in
            let listed = try await client.notifications.listNotifications(.with {
                $0.patientID = patientID
                $0.unreadOnly = unread
                $0.pageSize = 500
            }, options: connection.callOptions)
            if markRead, let newest = listed.notifications.first {
                _ = try await client.notifications.markNotificationsRead(.with {
                    $0.patientID = patientID
                    $0.upToNotificationID = newest.notificationID
                }, options: connection.callOptions)
            }
            return listed
        }
        if connection.json { return try Output.json(response) }
        let formatter = ISO8601DateFormatter()
        for item in response.notifications {
            let who = [item.actor.displayName, item.actor.id, item.actor.profession].filter { !$0.isEmpty }.joined(separator: " · ")
            print("\(item.notificationID)\t\(formatter.string(from: item.createdAt.date))\t\(item.kind)\t\(item.hasReadAt ? "read" : "unread")\t\(who)")
        }
        print("\(response.unreadTotal) unread")
    }
}
