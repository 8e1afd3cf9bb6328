#!/usr/bin/env python3
"""serve.py: a scripted HTTP server on 127.0.0.1 for the tests (python3 standard library only).

usage: serve.py [--port-file FILE] [--tls CERT KEY] ROUTES.json LOG.jsonl

Listens on a free port of 127.0.0.1, prints the port on stdout (one line) and, with --port-file,
also writes it to FILE (written whole, then renamed into place). Stops on SIGTERM or SIGINT.

ROUTES.json is a list of routes, tried in order:
  {"method": "GET",              exact
   "path": "/orgs/x/audit-log",  exact, or a prefix when it ends in "*"
   "query": "after=abc",         optional: a substring the query string must contain
   "body_has": "take 5000",      optional: a substring the request body must contain
   "status": 200,
   "headers": {"Retry-After": "1"},   a list as value sends the header once per item;
                                      "{port}" in a value becomes the server's port
   "body": "text" or any JSON value (sent as JSON, with Content-Type application/json);
                                 "{port}" in it becomes the server's port too,
   "body_base64": "...",         optional: the body's exact bytes, base64 (invalid UTF-8, say)
   "times": 2,                   optional: answers this many times, then the next matching
                                 route is used
   "echo": true,                 optional: the body is {"message": "you sent HEADERS QUERY
                                 BODY"}, a service quoting the request back in an error
   "sigv4": {"secret": "..."}}   optional: the request must carry an AWS Signature Version 4
                                 Authorization header that this server, computing it on its
                                 own from the request it received and the secret key, finds
                                 equal; else 403 InvalidSignatureException
A request no route matches gets 404 {"message": "no route"}.
Every request is appended to LOG.jsonl as one line:
  {"method", "path", "query", "headers" (names lower-case), "body"}
and, when its route checks a signature, "sigv4": "ok" or what did not match.

From bats:

  setup() {
    cat > "$BATS_TEST_TMPDIR/routes.json" <<'EOF'
  [{"method": "GET", "path": "/ping", "status": 200, "body": {"ok": true}}]
  EOF
    python3 "$BATS_TEST_DIRNAME/mock/serve.py" --port-file "$BATS_TEST_TMPDIR/port" \
      "$BATS_TEST_TMPDIR/routes.json" "$BATS_TEST_TMPDIR/log.jsonl" >/dev/null &
    MOCK_PID=$!
    for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.05; done
    PORT=$(cat "$BATS_TEST_TMPDIR/port")
  }
  teardown() {
    kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null || true
  }

  # what we sent: jq -s '.[0].headers.authorization' "$BATS_TEST_TMPDIR/log.jsonl"
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import ssl
import sys
import threading
import urllib.parse


def load_routes(path):
    with open(path, encoding="utf-8") as f:
        routes = json.load(f)
    if not isinstance(routes, list):
        sys.exit("serve.py: %s: not a list of routes" % path)
    for r in routes:
        r["_left"] = r.get("times")
    return routes


def sigv4_check(method, path, query, headers, body, secret):
    """AWS Signature Version 4, computed here from the published algorithm: "ok" or why not"""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no AWS4-HMAC-SHA256 Authorization header"
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    try:
        _, date, region, service, term = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        got = fields["Signature"]
    except (KeyError, ValueError):
        return "a malformed Authorization header"
    amz_date = headers.get("x-amz-date", "")
    if term != "aws4_request" or not amz_date.startswith(date):
        return "the credential scope does not match X-Amz-Date"
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"

    def enc(x):
        return urllib.parse.quote(x, safe="-_.~")

    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    cquery = "&".join("%s=%s" % (enc(k), enc(v)) for k, v in sorted(pairs))
    # S3 encodes each path segment once; every other service encodes the path as sent again
    # (a Bedrock model id "a:0" is sent as "a%3A0" and signed as "a%253A0")
    if service == "s3":
        cpath = "/".join(enc(urllib.parse.unquote(seg)) for seg in (path or "/").split("/"))
    else:
        cpath = "/".join(enc(seg) for seg in (path or "/").split("/"))
    cheaders = "".join("%s:%s\n" % (h, " ".join(headers.get(h, "").split())) for h in signed)
    creq = "\n".join([method, cpath, cquery, cheaders, ";".join(signed),
                      hashlib.sha256(body).hexdigest()])
    scope = "/".join([date, region, service, "aws4_request"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for step in (date, region, service, "aws4_request"):
        key = hmac.new(key, step.encode(), hashlib.sha256).digest()
    want = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return "ok" if hmac.compare_digest(want, got) else "signature mismatch"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes = []
    log = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet: the log file is the record
        pass

    def match(self, method, path, query, body=""):
        for r in self.routes:
            if r.get("method", "GET").upper() != method:
                continue
            want = r.get("path", "/")
            if want.endswith("*"):
                if not path.startswith(want[:-1]):
                    continue
            elif path != want:
                continue
            if "query" in r and r["query"] not in query:
                continue
            if "body_has" in r and r["body_has"] not in body:
                continue
            if r["_left"] is not None:
                if r["_left"] <= 0:
                    continue
                r["_left"] -= 1
            return r
        return None

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.lock:
            entry = {
                "method": self.command,
                "path": url.path,
                "query": url.query,
                "headers": headers,
                "body": raw.decode("utf-8", "replace"),
            }
            route = self.match(self.command, url.path, url.query, entry["body"])
            if route is not None and "sigv4" in route:
                entry["sigv4"] = sigv4_check(self.command, url.path, url.query, headers, raw,
                                             route["sigv4"]["secret"])
                if entry["sigv4"] != "ok":
                    route = {"status": 403, "body": {
                        "__type": "InvalidSignatureException",
                        "message": "The request signature we calculated does not match the "
                                   "signature you provided (%s)" % entry["sigv4"]}}
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()
        if route is None:
            route = {"status": 404, "body": {"message": "no route"}}
        out = route.get("body", "")
        if route.get("echo"):  # a service that quotes the request back in its error
            out = {"message": "you sent %s %s %s" % (json.dumps(entry["headers"]),
                                                    entry["query"], entry["body"])}
        headers = dict(route.get("headers", {}))
        # "{port}" in a header value or the body is this server's port: next links back to it
        port = str(self.server.server_address[1])
        if "body_base64" in route:
            data = base64.b64decode(route["body_base64"])
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        elif isinstance(out, str):
            data = out.replace("{port}", port).encode("utf-8")
        else:
            data = json.dumps(out).replace("{port}", port).encode("utf-8")
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        self.send_response(int(route.get("status", 200)))
        for k, v in headers.items():
            for one in (v if isinstance(v, list) else [v]):
                self.send_header(k, str(one).replace("{port}", port))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


def main(argv):
    port_file = None
    tls = None
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--port-file" and i + 1 < len(argv):
            port_file = argv[i + 1]
            i += 2
        elif argv[i] == "--tls" and i + 2 < len(argv):
            tls = (argv[i + 1], argv[i + 2])
            i += 3
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        sys.exit("usage: serve.py [--port-file FILE] [--tls CERT KEY] ROUTES.json LOG.jsonl")
    Handler.routes = load_routes(args[0])
    Handler.log = open(args[1], "a", encoding="utf-8")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)

    def stop(signum, frame):
        # shutdown() waits for serve_forever, which runs in this thread: do it from another
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        Handler.log.close()


if __name__ == "__main__":
    main(sys.argv[1:])
