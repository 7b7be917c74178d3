// A Stratus function in Embedded Swift. The request body arrives in `request.body`
// (`request.text` as UTF-8); whatever the response body holds is sent back.
// Also available: request.method, .path, .query, .queryParameter("name"),
// .contentType, .header("X-Name"), .env("MY_VAR"); log("…") writes to the function's log;
// Response(status: .failure, body: "…") answers HTTP 500.
func handle(_ request: Request) -> Response {
    Response(body: "Hello! You said: \(request.text)")
}
