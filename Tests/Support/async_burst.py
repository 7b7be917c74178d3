#!/usr/bin/env python3
"""POSTs COUNT async calls to URL over keep-alive connections from THREADS threads.

Usage: async_burst.py URL COUNT THREADS; prints {"accepted": n, "other": {status: n}} as JSON.
"""
import http.client
import json
import sys
import threading
import urllib.parse

url, count, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
target = urllib.parse.urlsplit(url)
lock = threading.Lock()
results = {"accepted": 0, "other": {}}


def worker(share):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    for index in range(share):
        connection.request("POST", target.path, body=f"call {index}", headers={"Content-Type": "text/plain"})
        response = connection.getresponse()
        response.read()
        with lock:
            if response.status == 202:
                results["accepted"] += 1
            else:
                results["other"][str(response.status)] = results["other"].get(str(response.status), 0) + 1


shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
for thread in pool:
    thread.start()
for thread in pool:
    thread.join()
print(json.dumps(results))
