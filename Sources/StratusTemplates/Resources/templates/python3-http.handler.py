def handle(event, context):
    """Handle a request to the function (http mode: this process stays up between calls).

    event.body is the request body (bytes); event.headers, event.method, event.query (a dict)
    and event.path describe the request. Return a dict with statusCode, body and headers, or
    just the body (str, bytes, or a dict/list sent as JSON). Raise an exception to answer 500.
    """
    return {
        "statusCode": 200,
        "body": "Hello! You said: " + event.body.decode("utf-8", "replace"),
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
    }
