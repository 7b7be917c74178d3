#!/usr/bin/env python3
"""Scale-from-zero latency of an http-mode function vs. its warm latency, in one run.

Usage: scale_from_zero.py GATEWAY FUNCTION ROUNDS
Each round scales FUNCTION to zero (POST /system/scale-function), waits until no replica is left,
then times the first call (which starts a replica and waits for it) and a warm call right after.
"""
import http.client
import json
import statistics
import sys
import time
import urllib.parse

gateway, function, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
target = urllib.parse.urlsplit(gateway)


def request(method, path, body=b""):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    start = time.monotonic()
    connection.request(method, path, body=body)
    response = connection.getresponse()
    data = response.read()
    return response.status, data, (time.monotonic() - start) * 1000


cold, warm = [], []
for _ in range(rounds):
    status, _, _ = request("POST", f"/system/scale-function/{function}", json.dumps({"serviceName": function, "replicas": 0}).encode())
    if status != 202:
        sys.exit(f"scale-function answered {status}")
    for _ in range(500):
        _, data, _ = request("GET", f"/system/function/{function}")
        if json.loads(data)["availableReplicas"] == 0:
            break
        time.sleep(0.01)
    status, _, elapsed = request("POST", f"/function/{function}", b"Hi")
    if status != 200:
        sys.exit(f"the first call after zero answered {status}")
    cold.append(elapsed)
    warm.append(request("POST", f"/function/{function}", b"Hi")[2])
print(f"scale from zero {function}: first call median {statistics.median(cold):.1f} ms (max {max(cold):.1f})   "
      f"warm call median {statistics.median(warm):.2f} ms   ratio {statistics.median(cold) / statistics.median(warm):.0f}x   ({rounds} rounds)")
