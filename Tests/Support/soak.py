#!/usr/bin/env python3
"""Soak load for HardeningTests: sync calls of `echo`, async calls of `echo` (each must complete),
and a function deployed and removed over and over (its calls may get 404/503 between), for
SECONDS or until CALLS sync calls. Prints a JSON report: answers by code, what was unexpected.

Usage: soak.py URL USER:PASSWORD MODULE.wasm SECONDS CALLS
"""
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse

url, credentials, module, seconds, calls = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
host = urllib.parse.urlsplit(url)
auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
deadline = time.time() + seconds
lock = threading.Lock()
report = {"codes": {}, "unexpected": {}, "sync_ok": 0, "async_accepted": 0, "async_completed": 0, "deploys": 0, "removes": 0}


def count(kind, code, expected):
    with lock:
        report["codes"][f"{kind} {code}"] = report["codes"].get(f"{kind} {code}", 0) + 1
        if code not in expected:
            report["unexpected"][f"{kind} {code}"] = report["unexpected"].get(f"{kind} {code}", 0) + 1


def request(connection, method, path, body=None, headers=None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    return response.status, data


def connect():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=60)


def sync_worker():
    connection = connect()
    while time.time() < deadline and report["sync_ok"] < calls:
        status, data = request(connection, "POST", "/function/echo", b"soak")
        count("sync", status, {200, 429, 503})
        if status == 200:
            with lock:
                report["sync_ok"] += 1


accepted = []


def async_worker():
    connection = connect()
    while time.time() < deadline:
        connection.request("POST", "/async-function/echo", body=b"later")
        response = connection.getresponse()
        response.read()
        count("async", response.status, {202, 429, 503})
        if response.status == 202:
            with lock:
                accepted.append(response.getheader("X-Call-Id"))
        time.sleep(0.01)


def churn_worker():
    connection = connect()
    wasm = open(module, "rb").read()
    status, data = request(connection, "POST", "/system/artifacts?name=churn:latest", wasm, dict(auth, **{"Content-Type": "application/wasm"}))
    count("upload", status, {201})
    while time.time() < deadline:
        status, _ = request(connection, "POST", "/system/functions", json.dumps({"service": "churn", "image": "churn:latest"}).encode(),
                            dict(auth, **{"Content-Type": "application/json"}))
        count("deploy", status, {202})
        if status == 202:
            report["deploys"] += 1
        for _ in range(5):
            status, _ = request(connection, "POST", "/function/churn", b"x")
            count("churn-call", status, {200, 404, 429, 503})
        status, _ = request(connection, "DELETE", "/system/functions", json.dumps({"functionName": "churn"}).encode(),
                            dict(auth, **{"Content-Type": "application/json"}))
        count("remove", status, {200})
        if status == 200:
            report["removes"] += 1
        status, _ = request(connection, "POST", "/function/churn", b"x")
        count("churn-call", status, {404})


threads = [threading.Thread(target=sync_worker) for _ in range(4)] + [threading.Thread(target=async_worker), threading.Thread(target=churn_worker)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()

# Every accepted async call completes (within a minute).
connection = connect()
pending = set(accepted)
end = time.time() + 60
while pending and time.time() < end:
    for call in list(pending):
        status, data = request(connection, "GET", f"/system/queue/{call}", None, auth)
        # A call that succeeded (and was delivered) leaves the queue; one that failed stays there.
        if status == 404:
            pending.discard(call)
        elif status == 200 and json.loads(data).get("state") == "failed":
            count("async-failed", 200, set())
            pending.discard(call)
    if pending:
        time.sleep(0.2)
report["async_accepted"] = len(accepted)
report["async_completed"] = len(accepted) - len(pending) - report["codes"].get("async-failed 200", 0)
print(json.dumps(report, sort_keys=True))
