public import NIOCore

/// A ttrpc message type (the header's type byte).
public struct TTRPCMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let request = TTRPCMessageType(rawValue: 1)
    public static let response = TTRPCMessageType(rawValue: 2)
    /// ttrpc 1.2 streaming data; no Dossier method streams.
    public static let data = TTRPCMessageType(rawValue: 3)

    public var description: String {
        switch self {
        case .request: "request"
        case .response: "response"
        case .data: "data"
        default: "type(\(rawValue))"
        }
    }
}

/// The header's flags byte.
public struct TTRPCFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let remoteClosed = TTRPCFlags(rawValue: 0x01)
    public static let remoteOpen = TTRPCFlags(rawValue: 0x02)
    public static let noData = TTRPCFlags(rawValue: 0x04)
}

/// The 10-byte ttrpc frame header: payload length, stream id, type, flags (big-endian).
public struct TTRPCFrameHeader: Hashable, Sendable {
    public static let size = 10
    /// ttrpc's own limit: 4 MiB of payload.
    public static let defaultMaxPayloadLength = 4 << 20

    public var length: UInt32
    public var streamID: UInt32
    public var type: TTRPCMessageType
    public var flags: TTRPCFlags

    public init(length: UInt32, streamID: UInt32, type: TTRPCMessageType, flags: TTRPCFlags = []) {
        self.length = length
        self.streamID = streamID
        self.type = type
        self.flags = flags
    }
}

extension ByteBuffer {
    /// Reads a frame header, or returns nil (reading nothing) when fewer than 10 bytes are there.
    public mutating func readTTRPCFrameHeader() -> TTRPCFrameHeader? {
        guard let (length, streamID, type, flags) = readMultipleIntegers(
            endianness: .big, as: (UInt32, UInt32, UInt8, UInt8).self)
        else { return nil }
        return TTRPCFrameHeader(
            length: length, streamID: streamID, type: TTRPCMessageType(rawValue: type),
            flags: TTRPCFlags(rawValue: flags))
    }

    /// Writes a frame header.
    @discardableResult
    public mutating func writeTTRPCFrameHeader(_ header: TTRPCFrameHeader) -> Int {
        writeMultipleIntegers(
            header.length, header.streamID, header.type.rawValue, header.flags.rawValue,
            endianness: .big)
    }
}
