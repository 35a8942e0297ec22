/// What kind of caller a certificate identifies.
public enum PrincipalKind: String, Sendable, Hashable, CaseIterable {
    /// An insured person; also how a delegate authenticates (delegation is a relationship).
    case patient
    /// A health professional with a profession.
    case professional
    /// A care organisation (hospital, laboratory, pharmacy) acting through its own certificate.
    case organisation
    /// A helpdesk operator: record lifecycle and statistics, never clinical content.
    case `operator`
}

/// An authenticated caller, derived by the server from its client certificate.
public struct Principal: Sendable, Hashable {
    public let kind: PrincipalKind
    /// The identifier carried by the certificate (`urn:dossier:<kind>:<id>`).
    public let id: String
    /// Profession code of a professional (e.g. "gp", "pharmacist").
    public let profession: String?
    /// Organisation identifier, when the certificate names one.
    public let organisation: String?
    /// Display name (the certificate's common name).
    public let displayName: String
    /// The certificate's serial number, lower-case hex.
    public let certificateSerial: String

    public init(
        kind: PrincipalKind,
        id: String,
        profession: String? = nil,
        organisation: String? = nil,
        displayName: String = "",
        certificateSerial: String = ""
    ) {
        self.kind = kind
        self.id = id
        self.profession = profession
        self.organisation = organisation
        self.displayName = displayName
        self.certificateSerial = certificateSerial
    }

    /// Whether this caller is the person whose record is `patient`.
    public func isPatient(_ patient: PatientID) -> Bool {
        kind == .patient && id == patient.rawValue
    }
}
