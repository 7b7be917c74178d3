"""Cold start of an http-mode function: deploy -> first answer through Stratus, against starting the
same server by hand and polling until it accepts a connection (a readiness check starting at
250 us, doubling to 5 ms), then calling it. Rounds alternate between the two so both see the same
machine; prints the medians and Stratus/by-hand.

Usage: coldstart_http.py GATEWAY_URL BUNDLE.tar.gz "FPROCESS" [ROUNDS]   (server started with --no-auth)
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

url, bundle, fprocess = sys.argv[1], sys.argv[2], sys.argv[3]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
host, port = url.split("//", 1)[1].split(":")


def request(method, path, body, content_type="application/json"):
    req = urllib.request.Request(f"{url}{path}", data=body, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req) as response:
        return response.read()


def post(address, port, path):
    connection = http.client.HTTPConnection(address, port)
    connection.request("POST", path, body=b"Hi")
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    assert answer.status == 200, (answer.status, body)
    return body


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def by_hand(directory):
    """Start the server, poll until it accepts, call it: milliseconds from start to answer."""
    server_port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(fprocess.split(), cwd=directory, env={**os.environ, "PORT": str(server_port)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait = 0.00025
    while True:
        try:
            socket.create_connection(("127.0.0.1", server_port), timeout=1).close()
            break
        except OSError:
            time.sleep(wait)
            wait = min(wait * 2, 0.005)
    post("127.0.0.1", server_port, "/")
    elapsed = (time.perf_counter() - start) * 1000
    process.terminate()
    process.wait()
    return elapsed


def through_stratus(digest, index):
    """Deploy a new function and call it: milliseconds from the deploy request to the answer."""
    name = f"cold-http-{index}"
    deployment = {"service": name, "image": digest, "envProcess": fprocess, "annotations": {"com.stratus.mode": "http"}}
    start = time.perf_counter()
    request("POST", "/system/functions", json.dumps(deployment).encode())
    post(host, int(port), f"/function/{name}")
    elapsed = (time.perf_counter() - start) * 1000
    request("DELETE", "/system/functions", json.dumps({"functionName": name}).encode())
    return elapsed


with tempfile.TemporaryDirectory() as directory:
    with tarfile.open(bundle) as archive:
        archive.extractall(directory)
    digest = json.loads(request("POST", "/system/artifacts?name=cold-http", open(bundle, "rb").read(), "application/gzip"))["digest"]
    through_stratus(digest, "warmup")  # the bundle is unpacked once per digest
    by_hand(directory)
    hands, stratus = [], []
    for index in range(rounds):
        hands.append(by_hand(directory))
        stratus.append(through_stratus(digest, index))
        time.sleep(0.2)
    h, s = statistics.median(hands), statistics.median(stratus)
    print(f"http-mode cold start ({fprocess}): by hand + readiness poll p50 {h:6.1f} ms   Stratus deploy -> first answer p50 {s:6.1f} ms"
          f"   Stratus/by hand {s / h:.2f}")
