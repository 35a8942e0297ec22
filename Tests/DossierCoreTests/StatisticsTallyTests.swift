import DossierCore
import Foundation
import Testing

/// The pieces of the maintained statistics (decision 0010) that have a slower reference.
@Suite struct StatisticsTallyTests {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The month by integer arithmetic is Calendar's, at month and year boundaries, around leap
    /// days, before 1970 and far ahead.
    @Test func monthsAreTheCalendarsMonths() {
        var dates: [Date] = []
        for year in [1899, 1900, 1969, 1970, 1999, 2000, 2024, 2026, 2100, 2400, 2999] {
            for month in 1...12 {
                let start = Self.calendar.date(from: DateComponents(year: year, month: month, day: 1))!
                dates += [start, start - 0.001, start + 0.001, start + 28 * 86_400, start + 29 * 86_400 - 1]
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { dates.append(Date(timeIntervalSince1970: Double.random(in: -3e9...3e10, using: &generator))) }
        for date in dates {
            let components = Self.calendar.dateComponents([.year, .month], from: date)
            let month = StatisticsMonth(containing: date)
            #expect(month.index == components.year! * 12 + components.month! - 1, "\(date)")
            #expect(StatisticsMonth(key: month.key) == month || components.year! > 9999)
        }
        #expect(StatisticsMonth(containing: Date(timeIntervalSince1970: 1_796_688_000)).key == "202612")
    }

    /// Names survive the trip through storage; sums, differences and zeros behave.
    @Test func talliesAddSubtractAndName() {
        let month = StatisticsMonth(key: "202612")!
        let counters: [StatisticsCounter] = [
            .activeGrants, .currentOfClass(.labResult), .depositedIn(month), .event(month, .recordOpened), .keyStorePurges,
        ]
        for counter in counters { #expect(StatisticsCounter(name: counter.name) == counter) }
        #expect(StatisticsCounter(name: "class/unknown") == nil && StatisticsCounter(name: "x/y/z/w") == nil)
        let a = StatisticsTally([.activeGrants: 2, .documents: 1])
        let b = StatisticsTally([.activeGrants: 2, .closedRecords: 1])
        #expect((a - b).amounts == [.documents: 1, .closedRecords: -1])
        #expect((a - a).isEmpty && (a + -a).isEmpty)
    }
}
