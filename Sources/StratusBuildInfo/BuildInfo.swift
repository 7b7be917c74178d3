/// What this build of Stratus is: its release and the commit it was built from.
public enum BuildInfo {
    public static let release = "0.2.0"
    /// The full commit sha, or "unknown" when built outside a git checkout.
    public static var commit: String { generatedCommit }
}
