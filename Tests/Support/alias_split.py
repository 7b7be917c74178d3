#!/usr/bin/env python3
"""Calls URL N times over one kept-alive connection, each with its own X-Call-Id (call-0 … call-N-1),
and prints a JSON object counting the answers by their first line."""
import http.client
import json
import sys
from urllib.parse import urlparse

url, count = urlparse(sys.argv[1]), int(sys.argv[2])
prefix = sys.argv[3] if len(sys.argv) > 3 else "call-"
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
counts = {}
for index in range(count):
    connection.request("POST", url.path, body=b"hello", headers={"X-Call-Id": f"{prefix}{index}"})
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    key = f"{response.status} {body.splitlines()[0] if body else ''}"
    counts[key] = counts.get(key, 0) + 1
print(json.dumps(counts))
