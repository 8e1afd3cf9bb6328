#!/usr/bin/env python3
"""gen_logs.py: container-log lines of one app, as mallcop-connector-container-logs prints them.

usage: gen_logs.py [--raw] [--drift] APP N START SEED

N lines from START (ISO time, one line a second) in three formats, mixed 6:3:1:
  access  2026-11-25T10:00:01Z GET /api/users/42 200 12ms ip=203.0.113.5 user=alice
  auth    2026-11-25T10:00:02Z AUTH FAILED user=bob ip=198.51.100.7 reason=bad_password
          (one in three with " mfa=totp" at the end: an optional group)
  health  2026-11-25T10:00:03Z healthcheck ok
With --drift the app has changed its format: every line is JSON ({"ts", "level", "msg"}).
With --raw only the text of the lines is printed (for grep), else one log_line event a line.
"""
import datetime
import hashlib
import json
import random
import sys

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
PATHS = ["/api/users/%d", "/api/orders/%d", "/login", "/static/app.js", "/api/items/%d"]


def line(rnd, t, drift):
    ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    kind = rnd.random()
    if drift:
        msg = "GET /api/users/%d 200" % rnd.randint(1, 999)
        return json.dumps({"ts": ts, "level": rnd.choice(["info", "warn"]), "msg": msg})
    if kind < 0.6:
        p = rnd.choice(PATHS)
        if "%d" in p:
            p = p % rnd.randint(1, 9999)
        return "%s %s %s %d %dms ip=203.0.113.%d user=%s" % (
            ts, rnd.choice(["GET", "POST", "PUT"]), p, rnd.choice([200, 200, 201, 404, 500]),
            rnd.randint(1, 900), rnd.randint(1, 254), rnd.choice(USERS))
    if kind < 0.9:
        s = "%s AUTH FAILED user=%s ip=198.51.100.%d reason=%s" % (
            ts, rnd.choice(USERS), rnd.randint(1, 254), rnd.choice(["bad_password", "locked"]))
        if rnd.random() < 1 / 3:
            s += " mfa=totp"
        return s
    return "%s healthcheck ok" % ts


def main(argv):
    raw = "--raw" in argv
    drift = "--drift" in argv
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 4:
        sys.exit(__doc__)
    app, n, start, seed = args[0], int(args[1]), args[2], int(args[3])
    rnd = random.Random(seed)
    t = datetime.datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
    out = sys.stdout
    for i in range(n):
        text = line(rnd, t, drift)
        ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        if raw:
            out.write(text + "\n")
        else:
            key = "%s:%s:%s:%d" % (app, ts, text, i)
            out.write(json.dumps({
                "id": "evt_" + hashlib.sha256(("container-logs:" + key).encode()).hexdigest()[:20],
                "timestamp": ts, "source": "container-logs", "event_type": "log_line",
                "actor": app, "action": "log", "target": app, "severity": "info",
                "metadata": {"app": app, "container": app, "stream": "stdout"},
                "raw": {"line": text}}, separators=(",", ":")) + "\n")
        t += datetime.timedelta(seconds=1)


if __name__ == "__main__":
    main(sys.argv[1:])
