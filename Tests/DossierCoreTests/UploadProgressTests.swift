import Foundation
import Testing

@testable import DossierCore

/// The in-memory side of pipelined uploads: turns and the running hash.
@Suite struct UploadProgressTests {
    /// Sums bytes, enough to tell what was fed and in which amount.
    final class CountingHasher: ContentHasher {
        var fed: [UInt8] = []
        func update(_ bytes: ArraySlice<UInt8>) { fed += bytes }
        func finish() -> [UInt8] { fed }
    }

    @Test func aChunkWaitingBeforeTheSessionIsRegisteredKeepsItsTurn() async {
        let progress = UploadProgress()
        // A chunk of a session answered by a concurrent CreateUpload arrives first, ahead.
        async let turn = progress.waitForTurn("u-1", offset: 10, known: 0, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        progress.started("u-1", hasher: CountingHasher())  // must not drop the waiter
        progress.committed("u-1", size: 10)
        #expect(await turn)
        // Its entry predates `started`: no running hash, completion will read back.
        #expect(progress.finish("u-1", size: 10) == nil)
    }

    @Test func theRunningHashIsFedInOffsetOrderWhateverTheOrderOfCalls() async {
        let progress = UploadProgress()
        progress.started("u-2", hasher: CountingHasher())
        async let second: Void = progress.hash("u-2", offset: 3, data: [4, 5], timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        await progress.hash("u-2", offset: 0, data: [1, 2, 3], timeout: .seconds(30))
        await second
        #expect(progress.finish("u-2", size: 5) == [1, 2, 3, 4, 5])
    }

    @Test func aFailedChunkDropsTheHashAndReleasesTheWaiters() async {
        let progress = UploadProgress()
        progress.started("u-3", hasher: CountingHasher())
        async let turn = progress.waitForTurn("u-3", offset: 5, known: 0, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        progress.failed("u-3")
        #expect(await turn == false)
        await progress.hash("u-3", offset: 0, data: [1, 2, 3, 4, 5], timeout: .seconds(1))
        #expect(progress.finish("u-3", size: 5) == nil)
    }

    @Test func aChunkWhoseTurnNeverComesGivesUpAtTheTimeout() async {
        let progress = UploadProgress()
        progress.started("u-4", hasher: CountingHasher())
        let began = ContinuousClock.now
        #expect(await progress.waitForTurn("u-4", offset: 5, known: 0, timeout: .milliseconds(200)) == false)
        #expect(ContinuousClock.now - began >= .milliseconds(200))
    }
}
