public import Foundation
import Yams

/// Converts a Serverless Framework file (`serverless.yml`) into a Stratus `stack.yml`: a Tencent
/// SCF component (`component: scf`, `inputs: …`) or a service with `provider` and `functions`
/// (AWS Lambda or Tencent). What has no Stratus equivalent is listed, not silently dropped.
public enum ServerlessImport {
    /// The stack file's text and what could not be carried over, one line each.
    public struct Result: Sendable {
        public var stackYAML: String
        public var functionNames: [String]
        public var unmapped: [String]
    }

    public struct ImportError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// One function as read from either shape.
    struct Function {
        var name: String
        var source: String?
        var handler: String?
        var runtime: String?
        var memory: Int?
        var timeout: Double?
        var environment: [(String, String)] = []
        var layers: [String] = []
        var eventFormat: String?
    }

    public static func convert(_ text: String, file: String = "serverless.yml") throws(ImportError) -> Result {
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw ImportError(description: "\(file): not valid YAML: \(error)") }
        guard let document = root as? [String: Any] else { throw ImportError(description: "\(file): expected a mapping at the top") }
        var notes: [String] = []
        var functions: [Function] = []
        if let component = document["component"] as? String {
            guard component.lowercased().hasPrefix("scf") else {
                throw ImportError(description: "\(file): component '\(component)' is not a cloud function (only `component: scf` can be imported)")
            }
            guard let inputs = document["inputs"] as? [String: Any] else { throw ImportError(description: "\(file): an scf component needs `inputs`") }
            let name = (inputs["name"] as? String) ?? (document["name"] as? String) ?? "function"
            functions.append(readSCF(name: name, inputs, notes: &notes, path: "inputs"))
            for key in ["app", "stage", "org"] where document[key] != nil { notes.append("\(key): \(describe(document[key])) (Stratus has no apps or stages: one gateway, one namespace)") }
        } else if let entries = document["functions"] as? [String: Any] {
            let provider = (document["provider"] as? [String: Any]) ?? [:]
            let cloud = ((provider["name"] as? String) ?? "aws").lowercased()
            for (name, value) in entries.sorted(by: { $0.key < $1.key }) {
                guard let fields = value as? [String: Any] else {
                    notes.append("functions.\(name): not a mapping, skipped")
                    continue
                }
                functions.append(readService(name: name, fields, provider: provider, cloud: cloud, notes: &notes))
            }
            for key in ["region", "stage", "profile", "credentials", "iam", "vpc", "deploymentBucket"] where provider[key] != nil {
                notes.append("provider.\(key): \(describe(provider[key])) (not used by Stratus)")
            }
            for key in ["plugins", "resources", "custom", "package"] where document[key] != nil {
                notes.append("\(key): left out (Serverless Framework deployment settings)")
            }
        } else {
            throw ImportError(description: "\(file): neither an scf component (`component: scf`) nor a service with `functions`")
        }
        guard !functions.isEmpty else { throw ImportError(description: "\(file): no functions found") }
        var yaml = "# Imported from \(file) by `stratus import`.\nversion: 1.0\nprovider:\n  name: openfaas\nfunctions:\n"
        var names: [String] = []
        for function in functions {
            let name = dnsName(function.name)
            if name != function.name { notes.append("\(function.name): renamed to \(name) (function names are lowercase letters, digits and '-')") }
            names.append(name)
            yaml += "  \(name):\n"
            if let lang = language(for: function, notes: &notes) { yaml += "    lang: \(lang)\n" }
            yaml += "    handler: \(quote(function.source ?? "./\(name)"))\n"
            var environment = function.environment
            if let handler = function.handler, !environment.contains(where: { $0.0 == "_HANDLER" }) { environment.append(("_HANDLER", handler)) }
            if !environment.isEmpty {
                yaml += "    environment:\n"
                for (key, value) in environment { yaml += "      \(key): \(quote(value))\n" }
            }
            if !function.layers.isEmpty { yaml += "    layers: [\(function.layers.map(quote).joined(separator: ", "))]\n" }
            if let memory = function.memory { yaml += "    limits:\n      memory: \(memory)Mi\n" }
            var annotations: [(String, String)] = []
            if let timeout = function.timeout { annotations.append(("com.stratus.timeout", "\(formatSeconds(timeout))s")) }
            if let format = function.eventFormat { annotations.append(("com.stratus.event-format", format)) }
            if !annotations.isEmpty {
                yaml += "    annotations:\n"
                for (key, value) in annotations { yaml += "      \(key): \(quote(value))\n" }
            }
        }
        return Result(stackYAML: yaml, functionNames: names, unmapped: notes)
    }

    /// An SCF component's `inputs`.
    static func readSCF(name: String, _ inputs: [String: Any], notes: inout [String], path: String) -> Function {
        var function = Function(name: name)
        if let src = inputs["src"] as? String {
            function.source = src
        } else if let src = inputs["src"] as? [String: Any] {
            function.source = src["src"] as? String
            if src["bucket"] != nil || src["object"] != nil { notes.append("\(path).src: code in COS cannot be fetched; put it in a folder and set `handler`") }
        }
        function.handler = inputs["handler"] as? String
        function.runtime = inputs["runtime"] as? String
        function.memory = number(inputs["memorySize"]).map(Int.init)
        function.timeout = number(inputs["timeout"])
        if let environment = inputs["environment"] as? [String: Any] {
            let variables = (environment["variables"] as? [String: Any]) ?? environment
            function.environment = variables.sorted { $0.key < $1.key }.map { ($0.key, describe($0.value)) }
        }
        for layer in (inputs["layers"] as? [Any]) ?? [] {
            if let layer = layer as? [String: Any], let layerName = layer["name"] as? String {
                let version = number(layer["version"]).map { ":\(Int($0))" } ?? ""
                function.layers.append(dnsName(layerName) + version)
            } else {
                notes.append("\(path).layers: entry \(describe(layer)) not understood (expected name and version)")
            }
        }
        for event in (inputs["events"] as? [Any]) ?? [] {
            guard let event = event as? [String: Any], let kind = event.keys.first else { continue }
            switch kind.lowercased() {
            case "apigw":
                function.eventFormat = "apigateway-scf"
                notes.append("\(path).events.apigw: every path and method reach the function at /function/\(dnsName(name)) (API gateway event format apigateway-scf)")
            default:
                notes.append("\(path).events.\(kind): \(kind) triggers have no Stratus equivalent (call the function over HTTP, or asynchronously with POST /async-function/\(dnsName(name)))")
            }
        }
        for key in ["region", "namespace", "role", "vpcConfig", "cls", "eip", "publicAccess", "asyncRunEnable", "traceEnable", "image", "type"]
        where inputs[key] != nil {
            notes.append("\(path).\(key): \(describe(inputs[key])) (not used by Stratus)")
        }
        return function
    }

    /// One entry of a service's `functions`, with the provider's defaults.
    static func readService(name: String, _ fields: [String: Any], provider: [String: Any], cloud: String, notes: inout [String]) -> Function {
        var function = Function(name: name)
        function.handler = fields["handler"] as? String
        function.runtime = (fields["runtime"] as? String) ?? (provider["runtime"] as? String)
        function.memory = (number(fields["memorySize"]) ?? number(provider["memorySize"])).map(Int.init)
        function.timeout = number(fields["timeout"]) ?? number(provider["timeout"])
        var environment: [String: String] = [:]
        for source in [provider["environment"], fields["environment"]] {
            for (key, value) in (source as? [String: Any]) ?? [:] { environment[key] = describe(value) }
        }
        function.environment = environment.sorted { $0.key < $1.key }
        if let package = fields["package"] as? [String: Any], let artifact = package["artifact"] as? String {
            notes.append("functions.\(name).package.artifact: \(artifact) (unzip it into a folder and point `handler` there)")
        }
        for layer in (fields["layers"] as? [Any]) ?? (provider["layers"] as? [Any]) ?? [] {
            let text = describe(layer)
            // arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION
            let parts = text.split(separator: ":")
            if parts.count >= 8, parts[5] == "layer" {
                function.layers.append("\(dnsName(String(parts[6]))):\(parts[7])")
            } else if let reference = layer as? [String: Any], let ref = reference["Ref"] as? String {
                function.layers.append(dnsName(ref.replacingOccurrences(of: "LambdaLayer", with: "")))
                notes.append("functions.\(name).layers: \(ref) refers to a layer of this service: publish it with `stratus layer publish`")
            } else {
                notes.append("functions.\(name).layers: \(text) is not a layer ARN")
            }
        }
        for event in (fields["events"] as? [Any]) ?? [] {
            guard let event = event as? [String: Any], let kind = event.keys.first else { continue }
            switch kind {
            case "httpApi", "url":
                function.eventFormat = cloud == "tencent" ? "apigateway-scf" : "apigateway-aws"
                notes.append("functions.\(name).events.\(kind): every path and method reach the function at /function/\(dnsName(name)) (event format \(function.eventFormat!))")
            case "http":
                function.eventFormat = cloud == "tencent" ? "apigateway-scf" : "apigateway-aws"
                notes.append("functions.\(name).events.http: a REST API (payload 1.0) becomes the HTTP API payload 2.0 (apigateway-aws): check fields such as `path` → `rawPath`")
            case "apigw":
                function.eventFormat = "apigateway-scf"
                notes.append("functions.\(name).events.apigw: every path and method reach the function at /function/\(dnsName(name)) (event format apigateway-scf)")
            default:
                notes.append("functions.\(name).events.\(kind): \(kind) triggers have no Stratus equivalent (call the function over HTTP, or asynchronously with POST /async-function/\(dnsName(name)))")
            }
        }
        return function
    }

    /// The template a runtime maps to; custom runtimes run their own `bootstrap`.
    static func language(for function: Function, notes: inout [String]) -> String? {
        guard let runtime = function.runtime else { return "bootstrap" }
        let lower = runtime.lowercased()
        if lower == "customruntime" || lower.hasPrefix("provided") || lower == "custom" {
            return "bootstrap"
        }
        notes.append("\(function.name).runtime: \(runtime) is a managed runtime: it became `lang: bootstrap`, so the folder needs an executable bootstrap "
            + (lower.hasPrefix("python") ? "(for Python, AWS's awslambdaric: `exec python3 -m awslambdaric \"$_HANDLER\"`)"
                : "that runs the handler through the runtime API"))
        return "bootstrap"
    }

    static func number(_ value: Any?) -> Double? {
        if let value = value as? Int { return Double(value) }
        if let value = value as? Double { return value }
        if let value = value as? String { return Double(value) }
        return nil
    }

    static func describe(_ value: Any?) -> String {
        switch value {
        case let text as String: text
        case let number as Int: String(number)
        case let number as Double: formatSeconds(number)
        case let flag as Bool: flag ? "true" : "false"
        case nil: ""
        case let other?: "\(other)"
        }
    }

    static func formatSeconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// A YAML scalar in double quotes (JSON escaping is valid YAML).
    static func quote(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    /// A DNS label: lowercase, other characters to '-', starting with a letter.
    static func dnsName(_ name: String) -> String {
        var result = String(name.lowercased().map { ($0.isLetter && $0.isASCII) || ($0.isNumber && $0.isASCII) ? $0 : "-" })
        while result.contains("--") { result = result.replacingOccurrences(of: "--", with: "-") }
        result = result.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if result.first.map({ !$0.isLetter }) ?? true { result = "fn-" + result }
        return String(result.prefix(63))
    }
}
