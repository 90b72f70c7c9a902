-- wrk script: POST an empty writer command (optionally emitting an event) per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("NOOP_BODY") or "{}"
