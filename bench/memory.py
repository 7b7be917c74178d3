"""Memory comes back: deploy COUNT Wasm functions, call each once, remove them all, CYCLES times
over with the same names, and print the server's resident memory after each cycle.
usage: memory.py URL SERVER_PID MODULE.wasm [COUNT] [CYCLES]"""
import sys
import urllib.request

url, pid, module = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 500
cycles = int(sys.argv[5]) if len(sys.argv) > 5 else 3


def request(method, path, body=b"", content_type="application/json"):
    req = urllib.request.Request(url + path, data=body, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.read()


def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


with open(module, "rb") as f:
    request("POST", "/system/artifacts?name=soak:1", f.read(), "application/wasm")
print(f"idle      RSS {rss_mib():7.1f} MiB")
for cycle in range(1, cycles + 1):
    names = [f"soak-{i}" for i in range(count)]
    for name in names:
        request("POST", "/system/functions", ('{"service": "%s", "image": "soak:1"}' % name).encode())
    for name in names:
        request("POST", f"/function/{name}", b"hi", "text/plain")
    for name in names:
        request("DELETE", "/system/functions", ('{"functionName": "%s"}' % name).encode())
    print(f"cycle {cycle}   RSS {rss_mib():7.1f} MiB  ({count} deployed, called, removed)")
