/// The web UI's files (`Resources/ui/`), embedded by SwiftPM so the binary is all a user installs.
enum UIAssets {
    static let indexHTML = String(decoding: PackageResources.index_html, as: UTF8.self)
    static let appJS = String(decoding: PackageResources.app_js, as: UTF8.self)
    static let styleCSS = String(decoding: PackageResources.style_css, as: UTF8.self)
}
