public import NIOCore
public import SwiftProtobuf
import Foundation

extension ByteBuffer {
    /// Writes a whole frame: header then the encoded message.
    @discardableResult
    public mutating func writeTTRPCFrame(
        streamID: UInt32, type: TTRPCMessageType, flags: TTRPCFlags = [], message: some SwiftProtobuf.Message
    ) throws -> Int {
        let payload: [UInt8] = try message.serializedBytes()
        let header = TTRPCFrameHeader(length: UInt32(payload.count), streamID: streamID, type: type, flags: flags)
        return writeTTRPCFrameHeader(header) + writeBytes(payload)
    }
}
