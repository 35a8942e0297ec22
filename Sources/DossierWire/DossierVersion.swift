/// The Dossier release, in one place: what `dossierd` reports (Health.Check, Admin.GetServerInfo)
/// and `dossier --version` prints.
public enum DossierVersion {
    public static let current = "0.1.0"
}
