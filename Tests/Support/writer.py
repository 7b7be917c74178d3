#!/usr/bin/env python3
"""Writes as fast as it can until the server dies: functions (deploys of the uploaded `echo`),
secrets and async calls (to `failing`, which fails for good at once, so its calls stay listed). Prints each one the server acknowledged, one per line
(`function NAME`, `secret NAME`, `call ID`), flushed, so the test knows what must survive.

Usage: writer.py URL USER:PASSWORD PREFIX
"""
import base64
import http.client
import json
import sys
import urllib.parse

url, credentials, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
host = urllib.parse.urlsplit(url)
auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(), "Content-Type": "application/json"}
index = 0
try:
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    while True:
        index += 1
        name = f"{prefix}-fn-{index}"
        connection.request("POST", "/system/functions", body=json.dumps({"service": name, "image": "echo:latest"}), headers=auth)
        response = connection.getresponse()
        response.read()
        if response.status == 202:
            print(f"function {name}", flush=True)
        secret = f"{prefix}-secret-{index}"
        connection.request("POST", "/system/secrets", body=json.dumps({"name": secret, "value": "v"}), headers=auth)
        response = connection.getresponse()
        response.read()
        if response.status in (200, 201):
            print(f"secret {secret}", flush=True)
        connection.request("POST", "/async-function/failing", body=b"kept")
        response = connection.getresponse()
        response.read()
        if response.status == 202:
            print(f"call {response.getheader('X-Call-Id')}", flush=True)
except Exception:
    pass
