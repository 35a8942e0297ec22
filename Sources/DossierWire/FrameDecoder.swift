public import NIOCore

/// What the frame decoder produces.
public enum TTRPCFrameEvent: Sendable, Equatable {
    /// A whole frame with its payload.
    case frame(TTRPCFrameHeader, payload: ByteBuffer)
    /// A frame whose declared length exceeds the limit: its payload is being skipped, never
    /// buffered; the peer gets RESOURCE_EXHAUSTED on this stream id.
    case oversized(TTRPCFrameHeader)
}

/// Splits a byte stream into ttrpc frames. The declared length is checked against the limit
/// before any of the payload is buffered; an oversized payload is skipped as it arrives, so a
/// connection's memory stays bounded by the limit whatever the peer declares.
public struct TTRPCFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = TTRPCFrameEvent

    public let maxPayloadLength: Int
    private var bytesToSkip = 0

    public init(maxPayloadLength: Int = TTRPCFrameHeader.defaultMaxPayloadLength) {
        self.maxPayloadLength = maxPayloadLength
    }

    /// The pure decoding step, usable without a channel: consumes what it can from `buffer`.
    public mutating func next(from buffer: inout ByteBuffer) -> TTRPCFrameEvent? {
        while bytesToSkip > 0 {
            let skipped = min(bytesToSkip, buffer.readableBytes)
            guard skipped > 0 else { return nil }
            buffer.moveReaderIndex(forwardBy: skipped)
            bytesToSkip -= skipped
        }
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self),
            buffer.readableBytes >= TTRPCFrameHeader.size
        else { return nil }
        if Int(length) > maxPayloadLength {
            let header = buffer.readTTRPCFrameHeader()!
            bytesToSkip = Int(length)
            return .oversized(header)
        }
        guard buffer.readableBytes >= TTRPCFrameHeader.size + Int(length) else { return nil }
        let header = buffer.readTTRPCFrameHeader()!
        let payload = buffer.readSlice(length: Int(length))!
        return .frame(header, payload: payload)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let event = next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(event))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A frame cut short by the end of the connection cannot be answered: drop it.
        while let event = next(from: &buffer) {
            context.fireChannelRead(wrapInboundOut(event))
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
