#!/usr/bin/env python3
"""The cluster benchmarks (bench/cluster.sh starts PostgreSQL and passes its URL and the binary):

1. warm Wasm echo req/s through a node on the PostgreSQL store vs a node on the SQLite store (wrk, same run);
2. deploy through one node -> first 200 from another node: p50 and p99 over DEPLOYS deploys;
3. async calls completed per second with 1 node vs 3 nodes on one PostgreSQL.
"""
import json, os, statistics, subprocess, sys, tempfile, threading, time, urllib.request, base64, re, socket

BIN, STORE, ECHO = sys.argv[1], sys.argv[2], sys.argv[3]
PSQL = ["psql", "-X", "-q", "-t", "-A", STORE]
DURATION = os.environ.get("DURATION", "10s")
RUNS = int(os.environ.get("RUNS", "3"))
DEPLOYS = int(os.environ.get("DEPLOYS", "40"))
ASYNC_CALLS = int(os.environ.get("ASYNC_CALLS", "2000"))
work = tempfile.mkdtemp(prefix="stratus-cluster-bench-")
key = os.path.join(work, "key"); open(key, "wb").write(os.urandom(32))
creds = os.path.join(work, "credentials"); open(creds, "w").write('{"user": "admin", "password": "bench"}')
AUTH = "Basic " + base64.b64encode(b"admin:bench").decode()
nodes = []


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def start(name, store=None):
    port = free_port()
    data = os.path.join(work, name)
    args = [BIN, "serve", "--port", str(port), "--data-dir", data, "--log-level", "warning", "--credentials-file", creds, "--node-name", name]
    if store:
        args += ["--store", store, "--secret-key-file", key]
    log = open(os.path.join(work, name + ".log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1); break
        except Exception:
            time.sleep(0.05)
    nodes.append(proc)
    return url, proc


def request(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception:
        return 0, b""


def deploy_echo(url, name="echo"):
    subprocess.run([BIN, "deploy", "--gateway", url, "--name", name, "--wasm", ECHO], check=True, capture_output=True,
                   env={**os.environ, "STRATUS_HOME": work, "OPENFAAS_USERNAME": "admin"}, input=b"")


def wrk(url):
    out = subprocess.run(["wrk", "-t2", "-c16", "-d", DURATION, "-s", os.environ["POST_LUA"], url],
                         capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def login(url):
    subprocess.run([BIN, "login", "--gateway", url, "--username", "admin", "--password-stdin"], input=b"bench", check=True,
                   capture_output=True, env={**os.environ, "STRATUS_HOME": work})


try:
    # 1. Warm Wasm echo: PostgreSQL store vs SQLite store, alternating, the median ratio.
    pg_url, pg = start("pg-1", STORE)
    sq_url, sq = start("sqlite-1")
    for url in (pg_url, sq_url):
        login(url); deploy_echo(url)
        request(url + "/function/echo", "POST", b"warm")
    ratios, pairs = [], []
    for _ in range(RUNS):
        p = wrk(pg_url + "/function/echo"); s = wrk(sq_url + "/function/echo")
        ratios.append(p / s); pairs.append((p, s))
    print(f"warm wasm echo, c=16: PostgreSQL store / SQLite store = {statistics.median(ratios):.3f} (median of {RUNS}; "
          + ", ".join(f"{p:.0f} vs {s:.0f}" for p, s in pairs) + " req/s)")
    sq.terminate(); sq.wait()

    # 2. Deploy through node 1 -> first 200 through node 2.
    other_url, _ = start("pg-2", STORE)
    latencies = []
    for i in range(DEPLOYS):
        name = f"d{i}"
        start_t = time.monotonic()
        status, _ = request(pg_url + "/system/functions", "POST", json.dumps({"service": name, "image": "echo:latest"}).encode(),
                            {"Authorization": AUTH, "Content-Type": "application/json"})
        assert status == 202, status
        while True:
            status, _ = request(other_url + f"/function/{name}", "POST", b"x")
            if status == 200: break
            time.sleep(0.002)
        latencies.append((time.monotonic() - start_t) * 1000)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
    print(f"deploy through node 1 -> first 200 from node 2: p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms, "
          f"max {latencies[-1]:.0f} ms over {DEPLOYS} deploys")

    # 3. Async completed calls/s: 1 node, then 3 nodes, on the same database; and where the CPU went.
    TICK = os.sysconf("SC_CLK_TCK")
    def cpu_seconds():
        """CPU seconds used so far by the Stratus nodes and by PostgreSQL's processes."""
        used = {"stratus": 0.0, "postgres": 0.0}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = open(f"/proc/{pid}/stat").read()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            if comm in used:
                used[comm] += (int(fields[11]) + int(fields[12])) / TICK
        return used

    def async_rate(urls):
        subprocess.run(PSQL + ["-c", "DELETE FROM async_call"], check=True, capture_output=True)
        def send(index_range):
            for i in index_range:
                request(urls[i % len(urls)] + "/async-function/echo", "POST", b"call")
        t0 = time.monotonic()
        before = cpu_seconds()
        threads = [threading.Thread(target=send, args=(range(k, ASYNC_CALLS, 8),)) for k in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        while True:
            left = int(subprocess.run(PSQL + ["-c", "SELECT count(*) FROM async_call"], capture_output=True, text=True).stdout.strip() or 0)
            if left == 0: break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        after = cpu_seconds()
        cpu = {k: after[k] - before[k] for k in after}
        return ASYNC_CALLS / elapsed, f"{len(urls)} node(s): {elapsed:.1f} s, CPU {cpu['stratus']:.1f} s in the nodes, {cpu['postgres']:.1f} s in PostgreSQL"
    other_proc = nodes[-1]; other_proc.terminate(); other_proc.wait()
    one, one_cpu = async_rate([pg_url])
    urls = [pg_url] + [start(f"pg-{k}", STORE)[0] for k in (3, 4)]
    time.sleep(1)
    three, three_cpu = async_rate(urls)
    print(f"async calls completed/s (enqueue included, {ASYNC_CALLS} calls): 1 node {one:.0f}/s, 3 nodes {three:.0f}/s "
          f"(ratio {three / one:.2f}; 2 cores shared by the nodes, PostgreSQL, the senders)")
    print(f"  where the time went: {one_cpu}; {three_cpu}")
finally:
    for proc in nodes:
        if proc.poll() is None: proc.terminate()
    for proc in nodes:
        try: proc.wait(timeout=20)
        except Exception: proc.kill()
    subprocess.run(["rm", "-rf", work])
