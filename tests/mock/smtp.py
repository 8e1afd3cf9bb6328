#!/usr/bin/env python3
"""smtp.py: a scripted SMTP receiver on 127.0.0.1 for the tests (python3 standard library only).

usage: smtp.py --port-file FILE --log LOG.jsonl [--cert CERT --key KEY] [--tls]
               [--no-starttls] [--auth USER:PASSWORD] [--reject STAGE:CODE]

Listens on a free port of 127.0.0.1 and writes the port to FILE (written whole, then renamed).
Speaks EHLO/HELO, STARTTLS (with CERT and KEY; not offered with --no-starttls), AUTH PLAIN
and AUTH LOGIN (checked against --auth when given: 535 otherwise), MAIL, RCPT, DATA, RSET,
NOOP, QUIT. --tls serves implicit TLS (smtps) from the first byte. --reject STAGE:CODE answers
CODE at STAGE (greeting, mail, rcpt or data; may be repeated).

Each message accepted is appended to LOG.jsonl as one line:
  {"tls": bool, "auth": user or null, "ehlo", "mail_from", "rcpt_to": [...], "data",
   "headers": {name: value}, "parts": {content type: decoded text}}
Each session that ended without a message appends {"tls", "auth", "aborted": the last reply}.
"""
import base64
import email
import email.policy
import json
import os
import socketserver
import ssl
import sys
import threading


class Config:
    tls = False
    starttls = True
    ctx = None
    auth = None
    reject = {}
    log = None
    lock = threading.Lock()


def record(entry):
    with Config.lock:
        Config.log.write(json.dumps(entry) + "\n")
        Config.log.flush()


def parse(data):
    msg = email.message_from_bytes(data.encode("utf-8", "surrogateescape"),
                                   policy=email.policy.default)
    parts = {}
    for part in msg.walk():
        if part.is_multipart():
            continue
        parts[part.get_content_type()] = part.get_content()
    return {k: str(v) for k, v in msg.items()}, parts


class Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.last = line
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(65536)
        if not line:
            raise EOFError
        return line.decode("utf-8", "surrogateescape").rstrip("\r\n")

    def reject(self, stage):
        code = Config.reject.get(stage)
        if code:
            self.send("%s %s rejected by the test receiver" % (code, "4.0.0" if code.startswith("4") else "5.0.0"))
            return True
        return False

    def handle(self):
        self.last = ""
        self.is_tls = Config.tls
        self.user = None
        self.ehlo = None
        self.mail_from = None
        self.rcpt = []
        delivered = False
        try:
            if self.reject("greeting"):
                return
            self.send("220 127.0.0.1 mallcop test SMTP")
            while True:
                line = self.readline()
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb) + 1:] if " " in line else ""
                if verb in ("EHLO", "HELO"):
                    self.ehlo = arg
                    ext = ["127.0.0.1"]
                    if Config.starttls and not self.is_tls:
                        ext.append("STARTTLS")
                    if self.is_tls or not Config.starttls:
                        ext.append("AUTH PLAIN LOGIN")
                    ext.append("8BITMIME")
                    for i, e in enumerate(ext):
                        self.send("250%s%s" % ("-" if i < len(ext) - 1 else " ", e))
                elif verb == "STARTTLS" and Config.starttls and not self.is_tls:
                    self.send("220 go ahead")
                    conn = Config.ctx.wrap_socket(self.connection, server_side=True)
                    self.connection = conn
                    self.rfile = conn.makefile("rb")
                    self.wfile = conn.makefile("wb")
                    self.is_tls = True
                    self.ehlo = None
                elif verb == "AUTH":
                    self.auth(arg)
                elif verb == "MAIL":
                    if not self.reject("mail"):
                        self.mail_from = arg.split(":", 1)[1].strip()
                        self.rcpt = []
                        self.send("250 ok")
                elif verb == "RCPT":
                    if not self.reject("rcpt"):
                        self.rcpt.append(arg.split(":", 1)[1].strip())
                        self.send("250 ok")
                elif verb == "DATA":
                    if self.reject("data"):
                        continue
                    self.send("354 end with <CRLF>.<CRLF>")
                    lines = []
                    while True:
                        ln = self.readline()
                        if ln == ".":
                            break
                        lines.append(ln[1:] if ln.startswith(".") else ln)
                    data = "\r\n".join(lines) + "\r\n"
                    headers, parts = parse(data)
                    record({"tls": self.is_tls, "auth": self.user, "ehlo": self.ehlo,
                            "mail_from": self.mail_from, "rcpt_to": self.rcpt, "data": data,
                            "headers": headers, "parts": parts})
                    delivered = True
                    self.send("250 queued")
                elif verb == "RSET":
                    self.mail_from, self.rcpt = None, []
                    self.send("250 ok")
                elif verb == "NOOP":
                    self.send("250 ok")
                elif verb == "QUIT":
                    self.send("221 bye")
                    return
                else:
                    self.send("502 command not implemented")
        except (EOFError, ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            if not delivered:
                record({"tls": self.is_tls, "auth": self.user, "aborted": self.last})

    def auth(self, arg):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if mech == "PLAIN":
            if not initial:
                self.send("334 ")
                initial = self.readline()
            _, user, password = base64.b64decode(initial).decode().split("\0")
        elif mech == "LOGIN":
            if initial:
                user = base64.b64decode(initial).decode()
            else:
                self.send("334 VXNlcm5hbWU6")
                user = base64.b64decode(self.readline()).decode()
            self.send("334 UGFzc3dvcmQ6")
            password = base64.b64decode(self.readline()).decode()
        else:
            self.send("504 unrecognized authentication type")
            return
        if Config.auth and Config.auth != "%s:%s" % (user, password):
            self.send("535 5.7.8 authentication credentials invalid")
            return
        self.user = user
        self.send("235 2.7.0 authentication successful")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = super().get_request()
        if Config.tls:
            sock = Config.ctx.wrap_socket(sock, server_side=True)
        return sock, addr


def main(argv):
    port_file = log = cert = key = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--port-file", "--log", "--cert", "--key", "--auth", "--reject") and i + 1 < len(argv):
            v = argv[i + 1]
            i += 2
            if a == "--port-file":
                port_file = v
            elif a == "--log":
                log = v
            elif a == "--cert":
                cert = v
            elif a == "--key":
                key = v
            elif a == "--auth":
                Config.auth = v
            else:
                stage, _, code = v.partition(":")
                Config.reject[stage] = code
        elif a == "--tls":
            Config.tls = True
            i += 1
        elif a == "--no-starttls":
            Config.starttls = False
            i += 1
        else:
            sys.exit(__doc__)
    if not port_file or not log:
        sys.exit(__doc__)
    if cert:
        Config.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        Config.ctx.load_cert_chain(cert, key)
    Config.log = open(log, "a", encoding="utf-8")
    server = Server(("127.0.0.1", 0), Handler)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main(sys.argv[1:])
