import DossierCore
import DossierProto
import Foundation
import SwiftProtobuf

/// `dossier.v1.Statistics`: counts for operators, no identifiers.
struct StatisticsHandler: Dossier_V1_StatisticsService {
    let statistics: StatisticsService

    func getStatistics(_ request: Dossier_V1_GetStatisticsRequest, context: CallContext) async throws -> Dossier_V1_GetStatisticsResponse {
        switch request.granularity {
        case .unspecified, .month: break
        case .UNRECOGNIZED:
            throw DossierError(.invalidArgument, "unknown granularity", reason: "INVALID_ENUM", field: "granularity")
        }
        let report = try await statistics.report(
            from: request.hasRangeStart ? request.rangeStart.date : nil, to: request.hasRangeEnd ? request.rangeEnd.date : nil,
            by: context.principal)
        let counts = report.counts
        return .with {
            $0.computedAt = Google_Protobuf_Timestamp(date: report.computedAt)
            $0.records = .with {
                $0.pending = counts.pendingRecords
                $0.active = counts.activeRecords
                $0.closed = counts.closedRecords
                $0.purged = report.purged
                $0.openedTotal = report.openedTotal
                $0.withReferringPhysician = counts.recordsWithReferringPhysician
            }
            $0.documents = .with {
                $0.total = counts.documents
                $0.current = counts.currentDocuments
                $0.deprecated = counts.deprecatedDocuments
                $0.patientSpace = counts.patientSpaceDocuments
                $0.contentBytes = counts.contentBytes
                $0.byClass = counts.currentByClass.sorted { $0.key.api.rawValue < $1.key.api.rawValue }.map { entry in
                    .with {
                        $0.documentClass = entry.key.api
                        $0.documents = entry.value
                    }
                }
            }
            $0.grants = .with {
                $0.active = counts.activeGrants
                $0.activeExtended = counts.activeExtendedGrants
                $0.activeReadWrite = counts.activeReadWriteGrants
                $0.activeToOrganisations = counts.activeOrganisationGrants
                $0.activePresenceCode = counts.activePresenceCodeAccesses
                $0.activeEmergency = counts.activeEmergencyAccesses
                $0.recordsWithDelegates = counts.recordsWithDelegates
            }
            $0.closuresTotal = report.closuresTotal
            $0.closureRate = report.closureRate
            $0.granularity = .month
            $0.buckets = report.buckets.map { bucket in
                .with {
                    $0.periodStart = Google_Protobuf_Timestamp(date: bucket.month.start)
                    $0.periodEnd = Google_Protobuf_Timestamp(date: bucket.end)
                    $0.documentsDeposited = bucket.documentsDeposited
                    $0.documentsAtEnd = bucket.documentsAtEnd
                    $0.recordsOpened = bucket.events[.recordOpened] ?? 0
                    $0.recordsClosed = bucket.events[.recordClosed] ?? 0
                    $0.recordsReopened = bucket.events[.recordReopened] ?? 0
                    $0.grantsCreated = bucket.events[.grantCreated] ?? 0
                    $0.presenceCodesRedeemed = bucket.events[.presenceCodeRedeemed] ?? 0
                    $0.emergencyAccesses = bucket.events[.emergencyAccess] ?? 0
                }
            }
        }
    }
}
