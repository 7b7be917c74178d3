def handle(req):
    """Handle a request to the function.

    req is the request body as text. Return the answer (or print it):
    both become the response body. Raise an exception to answer 500.
    """
    return "Hello! You said: " + req
