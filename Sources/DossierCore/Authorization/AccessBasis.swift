/// On what ground a caller acts on a record; recorded with every access-log entry.
public enum AccessBasis: String, Sendable, Hashable, CaseIterable {
    case patient
    /// A delegate named by the patient, acting with the patient's rights.
    case delegate
    case author
    case referringPhysician
    case grant
    case presenceCode
    case emergency
    case `operator`
    /// No relationship: the call was denied.
    case none
}
