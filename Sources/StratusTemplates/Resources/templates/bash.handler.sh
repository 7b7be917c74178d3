#!/usr/bin/env bash
# A Stratus function in bash: the request body is on stdin, the answer goes to stdout.
# Request metadata is in environment variables (Http_Method, Http_Path, Http_Query, Http_X_...).
body=$(cat)
echo "Hello! You said: $body"
