def handle(req):
    print("Hello! You said: " + req)
