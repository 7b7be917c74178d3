#!/usr/bin/env python3
"""A misbehaving custom runtime for the tests: speaks the AWS Lambda Runtime API and does, on
purpose, what a broken bootstrap does. MODE (env) picks how it starts; the event picks what it does
with each call (the event is the raw request body):

MODE=never-next   never asks for an event
MODE=exit-init    exits with status 3 before asking for anything
MODE=init-error   reports an init error, then exits
MODE=twice        sends a second `next` while the first waits; answers with the first one's status
(else)            serves events: "hang" sleeps past any deadline, "crash" exits mid-call, "fail" posts
                  an error, "unknown-id" first answers for another request id, "big" answers 2 MiB, "deadline" the
                  milliseconds left before Lambda-Runtime-Deadline-Ms,
                  anything else is echoed as "ok: EVENT".
"""
import http.client
import json
import os
import sys
import threading
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"
MODE = os.environ.get("MODE", "serve")


def call(method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(API, timeout=3600)
    connection.request(method, BASE + path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    result = (response.status, dict(response.getheaders()), data)
    connection.close()
    return result


if MODE == "never-next":
    print("initialising forever", flush=True)
    time.sleep(3600)
    sys.exit(0)
if MODE == "exit-init":
    print("cannot start: no configuration", flush=True)
    sys.exit(3)
if MODE == "init-error":
    call("POST", "/init/error", json.dumps({"errorMessage": "missing DATABASE_URL", "errorType": "Init.ConfigError"}),
         {"Lambda-Runtime-Function-Error-Type": "Init.ConfigError"})
    sys.exit(1)

first_status = None
if MODE == "twice":
    # A second `next` while the first waits: the first is let go with 409, the second gets the event.
    first = {}

    def first_next():
        first["status"] = call("GET", "/invocation/next")[0]
        print(f"first next got {first['status']}", flush=True)

    waiter = threading.Thread(target=first_next)
    waiter.start()
    time.sleep(0.5)
    pending = call("GET", "/invocation/next")
    waiter.join()
    first_status = first["status"]
else:
    pending = None

while True:
    status, headers, event = pending if pending else call("GET", "/invocation/next")
    pending = None
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    text = event.decode("utf-8", "replace")
    if MODE == "twice":
        call("POST", f"/invocation/{request_id}/response", f"first next got {first_status}")
    elif text == "hang":
        time.sleep(3600)
    elif text == "crash":
        os._exit(9)
    elif text == "fail":
        call("POST", f"/invocation/{request_id}/error", json.dumps({"errorMessage": "the order was empty", "errorType": "ValueError"}),
             {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
    elif text == "unknown-id":
        wrong = call("POST", "/invocation/not-a-request/response", "wrong")[0]
        call("POST", f"/invocation/{request_id}/response", f"unknown id got {wrong}")
    elif text == "deadline":
        remaining = int(headers.get("Lambda-Runtime-Deadline-Ms", "0")) - int(time.time() * 1000)
        call("POST", f"/invocation/{request_id}/response", f"remaining {remaining}")
    elif text == "big":
        status = call("POST", f"/invocation/{request_id}/response", b"x" * (2 * 1024 * 1024))[0]
        print(f"big response got {status}", flush=True)
    else:
        call("POST", f"/invocation/{request_id}/response", "ok: " + text)
