# A function for the SCF custom runtime: main_handler gets the event (JSON) as $1 and prints
# the answer. Behind the API gateway (com.stratus.event-format: apigateway-scf) the event
# carries the HTTP request (body, headers, httpMethod, path, queryString, isBase64Encoded);
# an answer shaped {"statusCode", "headers", "body", "isBase64Encoded"} sets the HTTP response.
main_handler () {
  local body
  body=$(printf '%s' "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("body") or "", end="")')
  printf '{"isBase64Encoded": false, "statusCode": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": %s}' \
    "$(printf 'Hello! You said: %s' "$body" | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read()))')"
}
