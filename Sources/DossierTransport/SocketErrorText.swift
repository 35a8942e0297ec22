import Foundation
import NIOCore

/// A socket error in words ops can search for: `Address already in use (errno 98)`.
/// NIO's own description repeats the system call and nests parentheses.
public func socketErrorText(_ error: any Error) -> String {
    if let error = error as? IOError {
        return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))"
    }
    return "\(error)"
}
