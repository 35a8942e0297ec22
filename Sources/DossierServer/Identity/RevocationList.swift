import Foundation
import SwiftASN1
import X509

/// A CRL (RFC 5280 CertificateList) of one of the client CAs, parsed and verified: signed by the
/// CA whose subject is its issuer, not past its nextUpdate. Serials are written as
/// CertificateProfile writes them.
struct RevocationList: Sendable {
    struct Entry: Sendable {
        let serial: String
        let revokedAt: Date
    }

    let issuer: String
    let thisUpdate: Date
    let nextUpdate: Date?
    let crlNumber: String
    let entries: [String: Entry]
    let loadedAt: Date

    struct Invalid: Error, CustomStringConvertible {
        let description: String
        let expired: Bool
        init(_ description: String, expired: Bool = false) {
            self.description = description
            self.expired = expired
        }
    }

    /// Reads a CRL file (PEM "X509 CRL" or DER) and verifies it against `authorities`.
    static func load(path: String, authorities: [Certificate], now: Date) throws -> RevocationList {
        guard let data = FileManager.default.contents(atPath: path) else { throw Invalid("cannot read the CRL \(path)") }
        var der = [UInt8](data)
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN X509 CRL-----") {
            guard let document = try? PEMDocument(pemString: text), document.discriminator == "X509 CRL" else {
                throw Invalid("the CRL \(path) is not valid PEM")
            }
            der = document.derBytes
        }
        do {
            return try parse(der, authorities: authorities, now: now)
        } catch let invalid as Invalid {
            throw Invalid("CRL \(path): \(invalid.description)", expired: invalid.expired)
        } catch {
            throw Invalid("CRL \(path) does not parse: \(error)")
        }
    }

    static func parse(_ der: [UInt8], authorities: [Certificate], now: Date) throws -> RevocationList {
        let root = try DER.parse(der)
        var tbsBytes: ArraySlice<UInt8> = []
        var algorithm = ASN1ObjectIdentifier.AlgorithmIdentifier.sha256WithRSAEncryption
        var signature = ASN1BitString(bytes: [])
        var issuer = DistinguishedName()
        var thisUpdate = Date(timeIntervalSince1970: 0)
        var nextUpdate: Date?
        var entries: [String: Entry] = [:]
        try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbs = nodes.next() else { throw Invalid("no tbsCertList") }
            tbsBytes = tbs.encodedBytes
            try DER.sequence(tbs, identifier: .sequence) { fields in
                var field = fields.next()
                if let node = field, node.identifier == .integer { field = fields.next() }  // version
                guard field != nil else { throw Invalid("no signature algorithm") }  // inner AlgorithmIdentifier
                guard let issuerNode = fields.next() else { throw Invalid("no issuer") }
                issuer = try DistinguishedName(derEncoded: issuerNode)
                guard let thisNode = fields.next() else { throw Invalid("no thisUpdate") }
                thisUpdate = try time(thisNode)
                var next = fields.next()
                if let node = next, node.identifier == .utcTime || node.identifier == .generalizedTime {
                    nextUpdate = try time(node)
                    next = fields.next()
                }
                if let node = next, node.identifier == .sequence {
                    try DER.sequence(node, identifier: .sequence) { items in
                        while let revoked = items.next() {
                            let entry = try Self.entry(revoked)
                            entries[entry.serial] = entry
                        }
                    }
                }
                while fields.next() != nil {}  // crlExtensions
            }
            guard let algorithmNode = nodes.next(), let signatureNode = nodes.next() else { throw Invalid("no signature") }
            algorithm = try DER.sequence(algorithmNode, identifier: .sequence) { parts in
                guard let oid = parts.next() else { throw Invalid("no signature algorithm") }
                while parts.next() != nil {}
                return try ASN1ObjectIdentifier(derEncoded: oid)
            }
            signature = try ASN1BitString(derEncoded: signatureNode)
        }
        guard let authority = authorities.first(where: { $0.subject == issuer }) else {
            throw Invalid("issued by \(issuer), which is not a CA of the client CA bundle")
        }
        let signatureAlgorithm: Certificate.SignatureAlgorithm
        switch algorithm {
        case [1, 2, 840, 10045, 4, 3, 2]: signatureAlgorithm = .ecdsaWithSHA256
        case [1, 2, 840, 10045, 4, 3, 3]: signatureAlgorithm = .ecdsaWithSHA384
        case [1, 2, 840, 10045, 4, 3, 4]: signatureAlgorithm = .ecdsaWithSHA512
        case [1, 2, 840, 113549, 1, 1, 11]: signatureAlgorithm = .sha256WithRSAEncryption
        case [1, 2, 840, 113549, 1, 1, 12]: signatureAlgorithm = .sha384WithRSAEncryption
        case [1, 2, 840, 113549, 1, 1, 13]: signatureAlgorithm = .sha512WithRSAEncryption
        case [1, 3, 101, 112]: signatureAlgorithm = .ed25519
        default: throw Invalid("unsupported signature algorithm \(algorithm)")
        }
        guard authority.publicKey.isValidSignature(Array(signature.bytes), for: Array(tbsBytes), signatureAlgorithm: signatureAlgorithm) else {
            throw Invalid("its signature does not verify with the key of \(issuer)")
        }
        if let nextUpdate, nextUpdate < now {
            throw Invalid("it expired at \(nextUpdate) (nextUpdate)", expired: true)
        }
        return RevocationList(
            issuer: "\(issuer)", thisUpdate: thisUpdate, nextUpdate: nextUpdate, crlNumber: "", entries: entries, loadedAt: now)
    }

    /// revokedCertificates: SEQUENCE { userCertificate INTEGER, revocationDate Time, extensions }.
    private static func entry(_ node: ASN1Node) throws -> Entry {
        try DER.sequence(node, identifier: .sequence) { parts in
            guard let serialNode = parts.next(), let dateNode = parts.next() else { throw Invalid("bad revoked entry") }
            let serial = CertificateProfile.serial(try ArraySlice<UInt8>(derEncoded: serialNode))
            let revokedAt = try time(dateNode)
            while parts.next() != nil {}
            return Entry(serial: serial, revokedAt: revokedAt)
        }
    }

    private static func time(_ node: ASN1Node) throws -> Date {
        switch node.identifier {
        case .utcTime:
            let time = try UTCTime(derEncoded: node)
            return date(time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        case .generalizedTime:
            let time = try GeneralizedTime(derEncoded: node)
            return date(time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        default:
            throw Invalid("a time is neither UTCTime nor GeneralizedTime")
        }
    }

    private static func date(_ year: Int, _ month: Int, _ day: Int, _ hours: Int, _ minutes: Int, _ seconds: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hours, minute: minutes, second: seconds))!
    }
}
