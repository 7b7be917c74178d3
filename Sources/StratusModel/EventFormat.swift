public import Foundation

/// How an HTTP call reaches a function's stdin, and how its stdout becomes the answer
/// (annotation `com.stratus.event-format`).
///
/// - `raw`: the body as it is; stdout is the body (the OpenFaaS watchdog contract).
/// - `apigateway-scf`: a Tencent Cloud SCF API-gateway event (`httpMethod`, `path`, `headers`,
///   `queryString`, `body`, `isBase64Encoded`, `requestContext`…).
/// - `apigateway-aws`: an AWS API Gateway v2 / Lambda function URL event (`version` "2.0",
///   `rawPath`, `rawQueryString`, `headers`, `requestContext.http`, `body`, `isBase64Encoded`).
///
/// - `timer-scf`: timer calls get an SCF timer-trigger event (`{"Type":"Timer","TriggerName",
///   "Time","Message"}`); HTTP calls get the raw body. `apigateway-scf` functions get the same
///   timer event from their timer trigger, as on SCF, where one function takes each trigger's events.
///
/// With either API-gateway format, an answer shaped like an integration response (`statusCode`,
/// optional `headers`, `body`, `isBase64Encoded`) sets the status, headers and body; any other
/// answer is the body.
public enum EventFormat: String, Sendable, CaseIterable {
    case raw
    case apigatewaySCF = "apigateway-scf"
    case apigatewayAWS = "apigateway-aws"
    case timerSCF = "timer-scf"

    public static let annotation = "com.stratus.event-format"

    /// Whether a timer trigger sends this function an SCF timer event (else an empty body).
    public var readsSCFEvents: Bool { self == .apigatewaySCF || self == .timerSCF }

    /// Whether `request` came from a timer trigger (its body is already the event).
    static func isTimerCall(_ request: InvocationRequest) -> Bool {
        request.headers.contains { $0.0.lowercased() == "x-connector" && $0.1 == "cron-connector" }
    }

    /// The event a function with this format reads on stdin for `request`.
    public func event(for request: InvocationRequest, now: Date = Date()) -> [UInt8] {
        guard self != .raw, self != .timerSCF, !(readsSCFEvents && Self.isTimerCall(request)) else { return request.body }
        var headers: [String: String] = [:]
        for (name, value) in request.headers {
            let key = name.lowercased()
            headers[key] = headers[key].map { $0 + "," + value } ?? value
        }
        var query: [String: String] = [:]
        for pair in request.query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(parts[1])) : ""
            query[key] = query[key].map { $0 + "," + value } ?? value
        }
        let text = String(validating: request.body, as: UTF8.self)
        let body: String = text ?? Data(request.body).base64EncodedString()
        let encoded = text == nil
        let sourceIP = headers["x-forwarded-for"]?.split(separator: ",").first.map(String.init) ?? "127.0.0.1"
        let object: [String: Any]
        switch self {
        case .raw, .timerSCF:
            return request.body
        case .apigatewaySCF:
            object = [
                "httpMethod": request.method, "path": request.path, "headers": headers, "queryString": query,
                "queryStringParameters": query, "headerParameters": [String: String](), "pathParameters": [String: String](),
                "stageVariables": ["stage": "release"], "body": body, "isBase64Encoded": encoded,
                "requestContext": [
                    "serviceId": "stratus", "path": request.path, "httpMethod": request.method, "requestId": request.callID,
                    "identity": [String: String](), "sourceIp": sourceIP, "stage": "release",
                ] as [String: Any],
            ]
        case .apigatewayAWS:
            object = [
                "version": "2.0", "routeKey": "$default", "rawPath": request.path, "rawQueryString": request.query,
                "headers": headers, "queryStringParameters": query, "body": body, "isBase64Encoded": encoded,
                "requestContext": [
                    "accountId": "anonymous", "apiId": "stratus", "domainName": headers["host"] ?? "localhost", "requestId": request.callID,
                    "routeKey": "$default", "stage": "$default", "timeEpoch": Int64(now.timeIntervalSince1970 * 1000),
                    "http": ["method": request.method, "path": request.path, "protocol": "HTTP/1.1", "sourceIp": sourceIP,
                             "userAgent": headers["user-agent"] ?? ""],
                ] as [String: Any],
            ]
        }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8))
    }

    /// What an answer in integration-response shape says: status, headers, body; nil when `output`
    /// is not such an object (then it is the body as it is).
    public static func integrationResponse(_ output: [UInt8]) -> (status: Int, headers: [(name: String, value: String)], body: [UInt8])? {
        guard output.first(where: { $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }) == UInt8(ascii: "{"),
              let object = try? JSONSerialization.jsonObject(with: Data(output)) as? [String: Any],
              let status = (object["statusCode"] as? NSNumber)?.intValue, (100...599).contains(status)
        else { return nil }
        var headers: [(name: String, value: String)] = []
        for (name, value) in (object["headers"] as? [String: Any]) ?? [:] {
            headers.append((name, (value as? String) ?? "\(value)"))
        }
        var body: [UInt8] = []
        if let text = object["body"] as? String {
            if (object["isBase64Encoded"] as? Bool) == true {
                guard let data = Data(base64Encoded: text) else { return nil }
                body = Array(data)
            } else {
                body = Array(text.utf8)
            }
        } else if let value = object["body"], !(value is NSNull),
                  let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
            body = Array(data)
        }
        return (status, headers.sorted { $0.name < $1.name }, body)
    }
}
