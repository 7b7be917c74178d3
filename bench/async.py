#!/usr/bin/env python3
"""Async throughput and latency against the same function called synchronously, in one run.

Usage: async.py GATEWAY FUNCTION CALLS THREADS
Sync: CALLS calls to /function/FUNCTION from THREADS keep-alive connections (calls/s).
Async: CALLS calls to /async-function/FUNCTION with an X-Callback-Url served here; reports calls/s
accepted (202, stored in SQLite before the answer), calls/s completed (first enqueue to last
callback), and enqueue -> callback latency (median, p99). Prints the async/sync ratio.
"""
import http.client
import http.server
import statistics
import sys
import threading
import time
import urllib.parse

gateway, function, calls, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
target = urllib.parse.urlsplit(gateway)
arrived = {}
counted = [0]
lock = threading.Lock()
done = threading.Event()


class Callback(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            call_id = self.headers["X-Call-Id"]
            arrived[call_id] = time.monotonic()
            if call_id.startswith("bench-"):
                counted[0] += 1
                if counted[0] >= calls:
                    done.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Callback)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
callback = f"http://127.0.0.1:{receiver.server_address[1]}/done"


def run(path, headers_for):
    sent = {}

    def worker(indices):
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        for index in indices:
            headers = headers_for(index)
            start = time.monotonic()
            connection.request("POST", path, body=b"Hi", headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status not in (200, 202):
                sys.exit(f"{path} answered {response.status}")
            sent[index] = start

    pool = [threading.Thread(target=worker, args=(range(t, calls, threads),)) for t in range(threads)]
    begin = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return begin, time.monotonic(), sent


begin, end, _ = run(f"/function/{function}", lambda i: {})
sync_rate = calls / (end - begin)
begin_id = int(time.time() * 1000)
begin, end, sent = run(f"/async-function/{function}", lambda i: {"X-Callback-Url": callback, "X-Call-Id": f"bench-{begin_id}-{i}"})
accept_rate = calls / (end - begin)
if not done.wait(300):
    sys.exit(f"only {len(arrived)} of {calls} callbacks arrived")
last = max(arrived.values())
complete_rate = calls / (last - begin)
latencies = sorted((arrived[f"bench-{begin_id}-{i}"] - sent[i]) * 1000 for i in range(calls))
p99 = latencies[int(len(latencies) * 0.99) - 1]
# One call at a time: enqueue -> callback latency of an idle queue.
single = []
connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
for index in range(50):
    call_id = f"single-{begin_id}-{index}"
    start = time.monotonic()
    connection.request("POST", f"/async-function/{function}", body=b"Hi", headers={"X-Callback-Url": callback, "X-Call-Id": call_id})
    connection.getresponse().read()
    while call_id not in arrived:
        time.sleep(0.0002)
    single.append((arrived[call_id] - start) * 1000)
print(f"sync   {function}: {sync_rate:8.0f} calls/s ({calls} calls, {threads} connections)")
print(f"async  {function}: {accept_rate:8.0f} calls/s accepted   {complete_rate:8.0f} calls/s completed (with callbacks)   "
      f"enqueue->callback median {statistics.median(latencies):.1f} ms  p99 {p99:.1f} ms")
print(f"idle   one async call at a time: enqueue->callback median {statistics.median(single):.2f} ms  max {max(single):.2f} ms (50 calls)")
print(f"ratio  async completed / sync {complete_rate / sync_rate:.2f}   async accepted / sync {accept_rate / sync_rate:.2f}")
