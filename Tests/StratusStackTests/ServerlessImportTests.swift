import Foundation
import Testing

@testable import StratusStack

@Suite struct ServerlessImportTests {
    static let scfComponent = """
        component: scf
        name: classifier
        app: seed
        stage: dev
        inputs:
          name: Image_Classifier
          src: ./src
          handler: index.main_handler
          runtime: CustomRuntime
          region: ap-guangzhou
          memorySize: 512
          timeout: 30
          environment:
            variables:
              MODEL: efficientnet
              THREADS: 2
          layers:
            - name: onnx-deps
              version: 3
          events:
            - apigw:
                parameters:
                  endpoints:
                    - path: /
                      method: POST
            - timer:
                parameters:
                  cronExpression: '*/5 * * * * * *'
        """

    @Test func convertsAnSCFComponent() throws {
        let result = try ServerlessImport.convert(Self.scfComponent)
        #expect(result.functionNames == ["image-classifier"])
        let stack = try StackParser.parse(result.stackYAML, file: "stack.yml", environment: [:])
        let function = try #require(stack.function(named: "image-classifier"))
        #expect(function.lang == "bootstrap")
        #expect(function.handler == "./src")
        #expect(function.environment == ["MODEL": "efficientnet", "THREADS": "2", "_HANDLER": "index.main_handler"])
        #expect(function.layers == ["onnx-deps:3"])
        #expect(function.limits?.memory == "512Mi")
        #expect(function.annotations["com.stratus.timeout"] == "30s")
        #expect(function.annotations["com.stratus.event-format"] == "apigateway-scf")
        let notes = result.unmapped.joined(separator: "\n")
        #expect(notes.contains("timer"), "unmapped triggers are reported")
        #expect(notes.contains("region"))
        #expect(notes.contains("renamed to image-classifier"))
    }

    @Test func convertsAnAWSService() throws {
        let result = try ServerlessImport.convert("""
            service: orders
            provider:
              name: aws
              runtime: provided.al2
              memorySize: 256
              timeout: 10
              region: eu-west-1
              environment:
                TABLE: orders
            functions:
              create:
                handler: bootstrap
                environment:
                  MODE: create
                layers:
                  - arn:aws:lambda:eu-west-1:123456789012:layer:swift-deps:7
                events:
                  - httpApi:
                      path: /orders
                      method: post
              report:
                handler: report.handler
                runtime: python3.11
                timeout: 60
                events:
                  - schedule: rate(1 hour)
            """)
        #expect(result.functionNames == ["create", "report"])
        let stack = try StackParser.parse(result.stackYAML, file: "stack.yml", environment: [:])
        let create = try #require(stack.function(named: "create"))
        #expect(create.environment == ["TABLE": "orders", "MODE": "create", "_HANDLER": "bootstrap"])
        #expect(create.layers == ["swift-deps:7"])
        #expect(create.limits?.memory == "256Mi")
        #expect(create.annotations["com.stratus.timeout"] == "10s")
        #expect(create.annotations["com.stratus.event-format"] == "apigateway-aws")
        let report = try #require(stack.function(named: "report"))
        #expect(report.annotations["com.stratus.timeout"] == "60s")
        #expect(report.annotations["com.stratus.event-format"] == nil)
        let notes = result.unmapped.joined(separator: "\n")
        #expect(notes.contains("python3.11 is a managed runtime") && notes.contains("awslambdaric"))
        #expect(notes.contains("schedule"))
        #expect(notes.contains("provider.region"))
    }

    @Test func refusesWhatIsNotAServerlessFile() {
        #expect(throws: ServerlessImport.ImportError.self) { try ServerlessImport.convert("component: website\ninputs: {}\n") }
        #expect(throws: ServerlessImport.ImportError.self) { try ServerlessImport.convert("just: a mapping\n") }
        #expect(throws: ServerlessImport.ImportError.self) { try ServerlessImport.convert("functions: [oops\n") }
        #expect(throws: ServerlessImport.ImportError.self) { try ServerlessImport.convert("- a list\n") }
    }
}
