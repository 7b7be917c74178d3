public import ArgumentParser

/// The `stratus` command: the server and the client in one binary.
public struct Stratus: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stratus",
        abstract: "A self-hosted serverless platform: WebAssembly functions behind an OpenFaaS-compatible gateway.",
        discussion: """
            Quick start:
              stratus serve &                            # gateway on http://127.0.0.1:8080
              stratus new hello --lang swift-wasm        # handler + stack.yml entry
              stratus up -f stack.yml                    # build, upload, deploy
              curl 127.0.0.1:8080/function/hello -d Hi   # Hello! You said: Hi
            """,
        version: StratusVersion.current,
        subcommands: [
            Serve.self, New.self, Build.self, Compile.self, Deploy.self, Up.self, Invoke.self, List.self, Describe.self,
            Remove.self, Scale.self, Publish.self, Versions.self, Alias.self, Triggers.self, Logs.self, Secret.self, Namespace.self, Nodes.self, Images.self, Queue.self, Site.self, Layer.self, Import.self, Demo.self, Login.self, Logout.self, Version.self,
        ])

    public init() {}
}
