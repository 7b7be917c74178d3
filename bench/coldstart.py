"""Cold start: time from a deploy's completion to the new function's first answer, and first vs. warm call.

Usage: coldstart.py STRATUS_BIN GATEWAY_URL module.wasm... (server started with --no-auth)
"""
import json
import statistics
import subprocess
import sys
import time
import urllib.request

binary, url, modules = sys.argv[1], sys.argv[2], sys.argv[3:]


def call(name):
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(f"{url}/function/{name}", data=b"Hi")) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


def request(method, path, body, content_type="application/json"):
    req = urllib.request.Request(f"{url}{path}", data=body, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req) as response:
        return response.read()


for module in modules:
    label = module.rsplit("/", 1)[-1]
    data = open(module, "rb").read()
    digest = json.loads(request("POST", f"/system/artifacts?name={label}", data, "application/wasm"))["digest"]
    deploys, firsts, warms = [], [], []
    for index in range(20):
        name = f"cold-{index}-{label.split('.')[0]}"
        start = time.perf_counter()
        request("POST", "/system/functions", json.dumps({"service": name, "image": digest}).encode())
        deploys.append((time.perf_counter() - start) * 1000)
        firsts.append(call(name))
        warms.append(statistics.median(call(name) for _ in range(20)))
        request("DELETE", "/system/functions", json.dumps({"functionName": name}).encode())
    print(f"{label:12} deploy p50 {statistics.median(deploys):6.2f} ms   first answer after deploy p50 "
          f"{statistics.median(firsts):6.2f} ms (max {max(firsts):6.2f})   warm call p50 {statistics.median(warms):6.2f} ms")
