public import Foundation

/// A static site: a folder of files served as they are under `/sites/NAME/`, deployed on its own
/// or with a function (annotation `com.stratus.site`), stored as a gzip'd tar artifact.
public struct SiteStatus: Codable, Sendable, Equatable {
    /// The site's name (the rules of a function name).
    public var name: String
    /// The archive's content address.
    public var digest: String
    /// Regular files in the site.
    public var files: Int
    /// When it was last deployed.
    public var deployedAt: Date
    /// Where it is served, e.g. `/sites/classify/`.
    public var url: String

    public init(name: String, digest: String, files: Int, deployedAt: Date) {
        self.name = name
        self.digest = digest
        self.files = files
        self.deployedAt = deployedAt
        self.url = "/sites/\(name)/"
    }

    /// The annotation naming the site deployed with a function (the function's name is the site's);
    /// `stratus deploy` uploads the folder it names and replaces the value with the site's digest.
    public static let annotation = "com.stratus.site"
}
