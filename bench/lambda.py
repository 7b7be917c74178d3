"""Custom runtimes: cold start (deploy -> ready -> first answer) of a swift-lambda bootstrap vs. the
same logic as an http-mode Swift server, and of AWS's Python runtime client vs. the python3-http
template. Warm throughput is measured with wrk by bench/run.sh.

Usage: lambda.py GATEWAY_URL LABEL=BUNDLE:MODE[:FORMAT[:FPROCESS]]... (server started with --no-auth)
"""
import json
import statistics
import sys
import time
import urllib.request

url, specs = sys.argv[1], sys.argv[2:]


def request(method, path, body, content_type="application/json"):
    req = urllib.request.Request(f"{url}{path}", data=body, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req) as response:
        return response.read()


def call(name):
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(f"{url}/function/{name}", data=b"Hi")) as response:
        body = response.read()
    return (time.perf_counter() - start) * 1000, body


for spec in specs:
    label, rest = spec.split("=", 1)
    parts = rest.split(":")
    bundle, mode = parts[0], parts[1]
    fmt = parts[2] if len(parts) > 2 and parts[2] else None
    fprocess = parts[3] if len(parts) > 3 else None
    digest = json.loads(request("POST", f"/system/artifacts?name={label}", open(bundle, "rb").read(), "application/gzip"))["digest"]
    deploys, firsts, warms = [], [], []
    for index in range(10):
        name = f"cold-{index}-{label}"
        annotations = {"com.stratus.mode": mode}
        if fmt:
            annotations["com.stratus.event-format"] = fmt
        deployment = {"service": name, "image": digest, "annotations": annotations}
        if fprocess:
            deployment["envProcess"] = fprocess
        start = time.perf_counter()
        request("POST", "/system/functions", json.dumps(deployment).encode())
        deploys.append((time.perf_counter() - start) * 1000)
        first, body = call(name)
        assert body.startswith(b"Hello! You said: Hi"), body
        firsts.append(first)
        warms.append(statistics.median(call(name)[0] for _ in range(50)))
        request("DELETE", "/system/functions", json.dumps({"functionName": name}).encode())
        time.sleep(0.2)
    print(f"{label:22} deploy->ready p50 {statistics.median(deploys):7.2f} ms   first answer p50 {statistics.median(firsts):6.2f} ms"
          f"   warm call p50 {statistics.median(warms):6.3f} ms (sequential)")
