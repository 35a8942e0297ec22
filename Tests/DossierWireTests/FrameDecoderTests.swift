import DossierWire
import NIOCore
import Testing

@Suite struct FrameDecoderTests {
    func frame(_ streamID: UInt32, type: UInt8 = 1, payload: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeTTRPCFrameHeader(
            TTRPCFrameHeader(length: UInt32(payload.count), streamID: streamID, type: TTRPCMessageType(rawValue: type)))
        buffer.writeBytes(payload)
        return Array(buffer.readableBytesView)
    }

    /// Feeds `bytes` in pieces of `step` bytes and collects every event.
    func decode(_ bytes: [UInt8], step: Int, max: Int = 4 << 20) -> [TTRPCFrameEvent] {
        var decoder = TTRPCFrameDecoder(maxPayloadLength: max)
        var buffer = ByteBuffer()
        var events: [TTRPCFrameEvent] = []
        for start in stride(from: 0, to: bytes.count, by: step) {
            buffer.writeBytes(bytes[start..<min(start + step, bytes.count)])
            while let event = decoder.next(from: &buffer) { events.append(event) }
            buffer.discardReadBytes()
        }
        return events
    }

    @Test(arguments: [1, 2, 3, 7, 10, 11, 1000])
    func framesSurviveAnySplit(step: Int) {
        let bytes = frame(1, payload: [1, 2, 3]) + frame(3, payload: []) + frame(5, type: 3, payload: Array(repeating: 9, count: 300))
        let events = decode(bytes, step: step)
        #expect(events.count == 3)
        guard case .frame(let first, let payload) = events[0] else { Issue.record("not a frame"); return }
        #expect(first.streamID == 1 && Array(payload.readableBytesView) == [1, 2, 3])
        guard case .frame(let third, let big) = events[2] else { Issue.record("not a frame"); return }
        #expect(third.type == .data && big.readableBytes == 300)
    }

    @Test(arguments: [1, 5, 64, 4096])
    func oversizedPayloadIsSkippedThenDecodingGoesOn(step: Int) {
        let oversized = frame(1, payload: Array(repeating: 0xAB, count: 2000))
        let bytes = oversized + frame(3, payload: [42])
        let events = decode(bytes, step: step, max: 1024)
        #expect(events.count == 2)
        guard case .oversized(let header) = events[0] else { Issue.record("expected oversized"); return }
        #expect(header.length == 2000 && header.streamID == 1)
        guard case .frame(let next, let payload) = events[1] else { Issue.record("expected frame"); return }
        #expect(next.streamID == 3 && Array(payload.readableBytesView) == [42])
    }

    @Test func oversizedIsReportedFromTheHeaderAlone() {
        // Only the header arrived: the decoder must not wait for (or buffer) the payload.
        let header = Array(frame(1, payload: Array(repeating: 0, count: 5000)).prefix(10))
        let events = decode(header, step: 10, max: 1024)
        #expect(events.count == 1)
    }

    @Test func truncatedFrameYieldsNothing() {
        let bytes = Array(frame(1, payload: [1, 2, 3, 4]).dropLast())
        #expect(decode(bytes, step: 1).isEmpty)
    }
}
