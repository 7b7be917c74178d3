import Foundation
import StratusTemplates
import Testing

/// The templates' files are Sources/StratusTemplates/Resources/templates/LANGUAGE.FILE and the guest
/// SDK's are Resources/sdk/FILE; the binary carries them byte for byte, and none is left unused.
@Suite struct TemplateFilesTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/StratusTemplates/Resources")

    /// The template's files that come from Resources/ (an empty requirements.txt is written inline).
    static func embeddedFiles(of template: FunctionTemplate) -> [TemplateFile] {
        (template.files + template.buildSupportFiles).filter { !$0.contents.isEmpty }
    }

    /// Where a template's file lives in the source tree: the SDK under sdk/, the rest under templates/.
    static func source(of file: TemplateFile, in language: TemplateLanguage) -> URL {
        if language == .swiftWasm, ["Stratus.swift", "StratusInference.swift"].contains(file.path) {
            return resources.appendingPathComponent("sdk/\(file.path)")
        }
        return resources.appendingPathComponent("templates/\(language.rawValue).\(file.path)")
    }

    @Test("Every template file is the file in Resources/, byte for byte", arguments: TemplateLanguage.allCases)
    func embeddedFilesMatchTheSourceTree(language: TemplateLanguage) throws {
        let template = Templates.template(for: language)
        for file in Self.embeddedFiles(of: template) {
            let url = Self.source(of: file, in: language)
            let bytes = try Data(contentsOf: url)
            #expect(Data(file.contents.utf8) == bytes, "\(file.path) of \(language.rawValue) differs from \(url.path): rebuild")
        }
    }

    @Test func everyFileInResourcesBelongsToATemplate() throws {
        var used = Set<String>()
        for template in Templates.all {
            for file in Self.embeddedFiles(of: template) {
                used.insert(Self.source(of: file, in: template.language).standardizedFileURL.path)
            }
        }
        var present = Set<String>()
        for folder in ["sdk", "templates"] {
            let url = Self.resources.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
                present.insert(url.appendingPathComponent(name).standardizedFileURL.path)
            }
        }
        #expect(present.subtracting(used).isEmpty, "not used by any template: \(present.subtracting(used).sorted())")
        #expect(used.subtracting(present).isEmpty)
    }
}
