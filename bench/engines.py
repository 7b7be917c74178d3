"""Helpers of bench/engines.sh (Wasmtime vs WasmKit, in one run). Standard library only.

  engines.py compute URL WORKDIR ITERATIONS BUDGET_MS ROUNDS
      Guest compute: each workload run natively (WORKDIR/compute-gcc, compute-clang, json-native)
      and through the gateway as the functions compute-wasmtime, compute-wasmkit, json-wasmtime,
      json-wasmkit (deployed by the caller); each program times its own work and prints its best
      per-iteration time. ROUNDS rounds in turns (native, wasmtime, wasmkit, ...); the best of all
      rounds is reported, with the ratios to native.
  engines.py cold URL ENGINE NAME MODULE MODEL_DIGEST BODY_FILE
      Deploy -> first 200: upload MODULE (what `stratus deploy --wasm` does first), deploy NAME
      with the engine's annotation and the model, then call it until it answers 200. Prints one
      JSON line with the phases in ms.
  engines.py rss URL PID MODULE ENGINE COUNT
      Deploys COUNT functions of MODULE with the engine's annotation, calls each once, and prints
      the server's VmRSS before and after.
  engines.py upload URL FILE NAME [model]
      Uploads an artifact and prints its digest.
  engines.py engine URL NAME
      The engine the server says runs NAME (GET /system/function/NAME's `engine`), or '-'.
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

ENGINE_ANNOTATION = "com.stratus.wasm.engine"


def request(url, method, path, body=b"", content_type="application/json", timeout=300):
    req = urllib.request.Request(url + path, data=body if method != "GET" else None, method=method,
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def upload(url, path, name, model=False):
    with open(path, "rb") as f:
        data = f.read()
    query = f"/system/artifacts?name={name}" + ("&kind=model" if model else "")
    status, body = request(url, "POST", query, data, "application/octet-stream" if model else "application/wasm")
    if status >= 300:
        sys.exit(f"upload of {path} failed: {status} {body[:300]!r}")
    return json.loads(body)["digest"]


def deploy(url, name, image, engine, annotations=None):
    spec = {"service": name, "image": image,
            "annotations": {ENGINE_ANNOTATION: engine, "com.stratus.timeout": "120s", **(annotations or {})}}
    status, body = request(url, "POST", "/system/functions", json.dumps(spec).encode())
    if status >= 300:
        sys.exit(f"deploy of {name} failed: {status} {body[:300]!r}")


def engine_of(url, name):
    status, body = request(url, "GET", f"/system/function/{name}")
    if status != 200:
        return "-"
    return json.loads(body).get("engine") or "-"


# MARK: guest compute

def parse_line(text):
    """workload=sha256 best_ns=… → dict (values as strings)."""
    fields = {}
    for part in text.split():
        if "=" in part:
            key, value = part.split("=", 1)
            fields[key] = value
    if "best_ns" not in fields:
        raise RuntimeError(f"no timing in the guest's answer: {text[:300]!r}")
    return fields


def run_native(binary, spec):
    out = subprocess.run([binary], input=spec.encode(), capture_output=True, timeout=600, check=True)
    return parse_line(out.stdout.decode())


def run_wasm(url, function, spec):
    status, body = request(url, "POST", f"/function/{function}", spec.encode(), "text/plain", timeout=600)
    if status != 200:
        raise RuntimeError(f"{function} answered {status}: {body[:300]!r}")
    return parse_line(body.decode())


def compute(url, workdir, iterations, budget, rounds):
    workloads = [
        # (label, workload, native baselines [(label, binary)], function prefix)
        ("sha256 1 MiB (C)", "sha256", [("gcc -O2", f"{workdir}/compute-gcc"), ("clang -O2", f"{workdir}/compute-clang")], "compute"),
        ("fib(30) recursive (C)", "fib", [("gcc -O2", f"{workdir}/compute-gcc"), ("clang -O2", f"{workdir}/compute-clang")], "compute"),
        ("JSON parse (Swift)", "json", [("swiftc -O", f"{workdir}/json-native")]
         + ([("Embedded -O", f"{workdir}/json-embedded")] if os.path.exists(f"{workdir}/json-embedded") else []), "json"),
    ]
    spec_note = f"each program runs its workload up to {iterations}x (stopping after {budget} ms), best per-iteration time; {rounds} round(s) in turns"
    print(f"# {spec_note}")
    header = f"{'workload':24} {'native (best of)':>18} {'wasmtime':>11} {'wasmkit':>11} {'wasmtime/native':>16} {'wasmkit/native':>15} {'wasmkit/wasmtime':>17}"
    print(header)
    rows = []
    for label, workload, natives, prefix in workloads:
        spec = f"{workload} {iterations} {budget}"
        best = {}
        checks = {}
        runs = {}
        for _ in range(rounds):
            results = [(name, run_native(binary, spec)) for name, binary in natives]
            results.append(("wasmtime", run_wasm(url, f"{prefix}-wasmtime", spec)))
            results.append(("wasmkit", run_wasm(url, f"{prefix}-wasmkit", spec)))
            for name, fields in results:
                ns = int(fields["best_ns"])
                best[name] = min(best.get(name, ns), ns)
                checks[name] = fields.get("check")
                runs[name] = runs.get(name, 0) + int(fields.get("iterations", 1))
        if len(set(checks.values())) != 1:
            print(f"  WARNING: {label}: results differ between builds: {checks}")
        native_name = min((n for n, _ in natives), key=lambda n: best[n])
        native = best[native_name]
        wt, wk = best["wasmtime"], best["wasmkit"]
        print(f"{label:24} {native / 1e6:9.2f} ms {native_name:>7} {wt / 1e6:8.2f} ms {wk / 1e6:8.2f} ms "
              f"{wt / native:15.2f}x {wk / native:14.1f}x {wk / wt:16.1f}x")
        for name, _ in natives:
            if name != native_name:
                print(f"{'':24} ({name}: {best[name] / 1e6:.2f} ms; wasmtime/{name} {wt / best[name]:.2f}x)")
        rows.append((label, wt / native, wk / native))
        print(f"{'':24} iterations measured: " + ", ".join(f"{n} {runs[n]}" for n in runs) + f"; check {checks['wasmtime']}")
    worst = max(r[1] for r in rows)
    geo = statistics.geometric_mean([r[1] for r in rows])
    geo_kit = statistics.geometric_mean([r[2] for r in rows])
    verdict = "met" if worst <= 1.5 else "NOT met"
    print(f"wasmtime/native: worst {worst:.2f}x, geometric mean {geo:.2f}x (goal <= 1.5x: {verdict});"
          f" wasmkit/native geometric mean {geo_kit:.1f}x")


# MARK: deploy -> first answer

def cold(url, engine, name, module, model_digest, body_file):
    with open(body_file, "rb") as f:
        body = f.read()
    begin = time.perf_counter()
    upload(url, module, f"{name}:latest")
    uploaded = time.perf_counter()
    annotations = {"com.stratus.model.efficientnet": model_digest} if model_digest != "-" else {}
    deploy(url, name, f"{name}:latest", engine, annotations)
    deployed = time.perf_counter()
    attempts = 0
    while True:
        attempts += 1
        call_start = time.perf_counter()
        status, answer = request(url, "POST", f"/function/{name}", body, "application/json")
        done = time.perf_counter()
        if status == 200 or (model_digest == "-" and status < 500 and status != 404):
            break
        if done - begin > 120:
            sys.exit(f"{name}: no 200 within 120 s (last {status}: {answer[:200]!r})")
        time.sleep(0.001)
    print(json.dumps({
        "name": name, "engine": engine, "ran_on": engine_of(url, name), "status": status,
        "upload_ms": (uploaded - begin) * 1e3, "deploy_ms": (deployed - uploaded) * 1e3,
        "first_call_ms": (done - call_start) * 1e3, "total_ms": (done - begin) * 1e3, "attempts": attempts,
        "answer": answer[:60].decode(errors="replace").strip().split("\n")[0],
    }))


# MARK: memory

def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss(url, pid, module, engine, count):
    idle = rss_mib(pid)
    digest = upload(url, module, "soak:1")
    after_upload = rss_mib(pid)
    begin = time.perf_counter()
    for i in range(count):
        deploy(url, f"soak-{i}", digest, engine)
    deployed = time.perf_counter()
    after_deploy = rss_mib(pid)
    for i in range(count):
        status, body = request(url, "POST", f"/function/soak-{i}", b"hi", "text/plain")
        if status != 200 or body != b"hi":
            sys.exit(f"soak-{i} answered {status}: {body[:200]!r}")
    called = time.perf_counter()
    time.sleep(1)
    after_calls = rss_mib(pid)
    print(json.dumps({
        "engine": engine, "ran_on": engine_of(url, "soak-0"), "count": count, "idle_mib": idle, "after_upload_mib": after_upload,
        "after_deploy_mib": after_deploy, "after_calls_mib": after_calls,
        "per_function_kib": (after_calls - after_upload) * 1024 / count,
        "deploy_s": deployed - begin, "calls_s": called - deployed,
    }))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    command, args = argv[1], argv[2:]
    if command == "compute":
        compute(args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
    elif command == "cold":
        cold(*args[:6])
    elif command == "rss":
        rss(args[0], int(args[1]), args[2], args[3], int(args[4]))
    elif command == "upload":
        print(upload(args[0], args[1], args[2], model=len(args) > 3 and args[3] == "model"))
    elif command == "engine":
        print(engine_of(args[0], args[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
