// The hello function in Embedded Swift (the swift-wasm template).
func handle(_ request: Request) -> Response {
    Response(body: "Hello! You said: \(request.text)")
}
