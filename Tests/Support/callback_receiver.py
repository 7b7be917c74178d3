#!/usr/bin/env python3
"""A callback receiver for the async-queue tests: records every POST as one JSON line.

Usage: callback_receiver.py RECORD_FILE [--fail-first N] [--status CODE] [--delay SECONDS]
Prints the port it listens on (127.0.0.1, chosen by the OS) on its first line, then serves until killed.
The first N requests answer 500 (--fail-first), the rest CODE (default 200), each after --delay seconds.
"""
import argparse
import http.server
import json
import signal
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("record")
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--status", type=int, default=200)
parser.add_argument("--delay", type=float, default=0)
options = parser.parse_args()
# A test runner may have blocked these; this process must stop when told to.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
lock = threading.Lock()
seen = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            seen[0] += 1
            number = seen[0]
        time.sleep(options.delay)
        status = 500 if number <= options.fail_first else options.status
        record = {
            "n": number, "status": status, "path": self.path, "body": body.decode("utf-8", "replace"),
            "headers": {k: v for k, v in self.headers.items() if k.lower().startswith("x-")},
        }
        with lock, open(options.record, "a") as out:
            out.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
