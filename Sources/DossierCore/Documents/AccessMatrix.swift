/// What professionals of one profession (or organisations) may see, beyond scope and
/// confidentiality: the document classes, and the sensitive categories. Deny by default: a
/// profession without a row sees nothing. The patient, their delegate and an author reading
/// their own documents are not subject to it.
public struct AccessMatrix: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        public var kind: PrincipalKind
        /// Empty for the organisation row (every organisation certificate).
        public var profession: String
        public var documentClasses: Set<DocumentClass>
        public var sensitiveCategories: Set<SensitiveCategory>
        public var mayUseEmergencyAccess: Bool

        public init(
            kind: PrincipalKind, profession: String, documentClasses: Set<DocumentClass>,
            sensitiveCategories: Set<SensitiveCategory> = [], mayUseEmergencyAccess: Bool = false
        ) {
            self.kind = kind
            self.profession = profession
            self.documentClasses = documentClasses
            self.sensitiveCategories = sensitiveCategories
            self.mayUseEmergencyAccess = mayUseEmergencyAccess
        }
    }

    public let rows: [Row]

    /// Fails on a row for another kind than professional/organisation, a professional row
    /// without profession, or two rows for the same profession.
    public init(rows: [Row]) throws {
        var seen: Set<String> = []
        for row in rows {
            switch row.kind {
            case .professional:
                guard !row.profession.isEmpty else { throw MatrixError("a professional row needs a profession") }
            case .organisation:
                guard row.profession.isEmpty else { throw MatrixError("the organisation row has no profession") }
                guard !row.mayUseEmergencyAccess else { throw MatrixError("organisations cannot use emergency access") }
            case .patient, .operator:
                throw MatrixError("rows are for professionals and organisations only")
            }
            guard seen.insert("\(row.kind.rawValue):\(row.profession)").inserted else {
                throw MatrixError("two rows for \(row.kind.rawValue) \(row.profession)")
            }
        }
        self.rows = rows
    }

    public struct MatrixError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The row that applies to `caller`, if any.
    public func row(for caller: Principal) -> Row? {
        switch caller.kind {
        case .professional:
            guard let profession = caller.profession else { return nil }
            return rows.first { $0.kind == .professional && $0.profession == profession }
        case .organisation:
            return rows.first { $0.kind == .organisation }
        case .patient, .operator:
            return nil
        }
    }

    /// Whether the matrix lets `caller` see a document of this class and these categories.
    public func allows(_ caller: Principal, documentClass: DocumentClass, categories: Set<SensitiveCategory>) -> Bool {
        guard let row = row(for: caller) else { return false }
        return row.documentClasses.contains(documentClass) && categories.isSubset(of: row.sensitiveCategories)
    }

    /// Whether `caller` may open emergency access.
    public func mayUseEmergencyAccess(_ caller: Principal) -> Bool {
        caller.kind == .professional && row(for: caller)?.mayUseEmergencyAccess == true
    }

    /// The shipped default (docs/ACCESS-MATRIX.md explains each row).
    public static let `default`: AccessMatrix = {
        let all = Set(DocumentClass.allCases)
        let allCategories = Set(SensitiveCategory.allCases)
        let medication: Set<DocumentClass> = [
            .prescription, .dispensation, .labResult, .summary, .administeredTreatment, .patientProvided,
        ]
        let nursing: Set<DocumentClass> = [
            .summary, .carePlan, .prescription, .dispensation, .administeredTreatment, .labResult, .report,
            .patientProvided, .certificate,
        ]
        return try! AccessMatrix(rows: [
            Row(kind: .professional, profession: "gp", documentClasses: all, sensitiveCategories: allCategories, mayUseEmergencyAccess: true),
            Row(kind: .professional, profession: "specialist", documentClasses: all, sensitiveCategories: allCategories, mayUseEmergencyAccess: true),
            Row(kind: .professional, profession: "psychiatrist", documentClasses: all, sensitiveCategories: [.psychiatry, .addiction]),
            Row(kind: .professional, profession: "emergency_physician", documentClasses: all,
                sensitiveCategories: [.psychiatry, .addiction, .sexualHealth], mayUseEmergencyAccess: true),
            Row(kind: .professional, profession: "nurse", documentClasses: nursing, mayUseEmergencyAccess: true),
            Row(kind: .professional, profession: "midwife", documentClasses: nursing, sensitiveCategories: [.reproductiveHealth]),
            Row(kind: .professional, profession: "pharmacist", documentClasses: medication),
            Row(kind: .professional, profession: "lab_biologist", documentClasses: [.labResult, .prescription, .summary]),
            Row(kind: .professional, profession: "radiologist", documentClasses: [.imaging, .report, .summary, .prescription]),
            Row(kind: .professional, profession: "physiotherapist", documentClasses: [.summary, .carePlan, .imaging, .prescription, .patientProvided]),
            Row(kind: .organisation, profession: "", documentClasses: all.subtracting([.patientProvided])),
        ])
    }()
}
