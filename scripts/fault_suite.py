"""The fault suite's checks against a running release server (see scripts/fault-suite.sh).

Each check prints one line with its figures and exits non-zero on a failure. Python's standard
library only: sockets, threads, urllib, sqlite3.
"""

import argparse
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

ADMIN = ("fault@gatehouse.test", "fault suite password")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Session:
    """A signed-in admin, speaking to the server as the browser does."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.cookie = None

    def request(self, method, path, body=None, headers=None, source=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30,
                                          source_address=(source, 0) if source else None)
        h = {"Sec-Fetch-Site": "same-origin"}
        if self.cookie:
            h["Cookie"] = self.cookie
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        res = conn.getresponse()
        data = res.read()
        cookie = res.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        conn.close()
        return res.status, data

    def sign_in(self):
        body = urllib.parse.urlencode({"email": ADMIN[0], "password": ADMIN[1], "next": ""})
        status, _ = self.request("POST", "/auth/login", body)
        assert status == 303, f"sign-in answered {status}"
        return self

    def rpc(self, name, fields=None):
        body = urllib.parse.urlencode(fields or {})
        status, data = self.request("POST", f"/rpc/{name}", body, {"Accept": "application/json"})
        return status, data


def healthz_ms(host, port):
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/healthz")
    status = conn.getresponse().status
    conn.close()
    return status, (time.monotonic() - started) * 1000


def slowloris(args):
    socks = []
    for _ in range(args.sockets):
        s = socket.create_connection((args.host, args.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nX-Slow: ")
        socks.append(s)
    status, ms = healthz_ms(args.host, args.port)
    # Keep dribbling a byte now and then, as slowloris does, until the server gives up on them.
    deadline = time.monotonic() + args.header_timeout + 5
    open_socks = list(socks)
    while open_socks and time.monotonic() < deadline:
        time.sleep(1)
        still = []
        for s in open_socks:
            try:
                s.sendall(b"a")
                s.settimeout(0.01)
                try:
                    if s.recv(64) == b"":
                        continue
                except socket.timeout:
                    pass
                still.append(s)
            except OSError:
                pass
        open_socks = still
    for s in socks:
        s.close()
    print(f"slowloris: {args.sockets} sockets; /healthz answered {status} in {ms:.0f} ms; "
          f"{len(open_socks)} still open {args.header_timeout + 5} s later")
    return status == 200 and ms < 1000 and not open_socks


def sign_in_flood(args):
    """Wrong sign-ins at once from 200 loopback addresses; resident memory sampled."""
    peak = [rss_mb(args.pid)]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak.append(rss_mb(args.pid))
            time.sleep(0.05)

    statuses = {}
    lock = threading.Lock()

    def attempt(n):
        source = f"127.0.{1 + n // 250}.{1 + n % 250}"
        body = urllib.parse.urlencode({"email": f"nobody{n}@flood.test", "password": "x" * 20, "next": ""})
        try:
            conn = http.client.HTTPConnection(args.host, args.port, timeout=60, source_address=(source, 0))
            conn.request("POST", "/auth/login", body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            status = conn.getresponse().status
            conn.close()
        except OSError as e:
            status = type(e).__name__
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    for _round in range(args.rounds):
        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    fives = sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500 and k != 503)
    print(f"sign-in flood: {args.rounds} x 200 concurrent wrong sign-ins from 200 addresses in "
          f"{elapsed:.1f} s; answers {dict(sorted(statuses.items(), key=str))}; "
          f"resident memory {peak[0]:.0f} MB before, {max(peak):.0f} MB at most")
    return max(peak) < 400 and fives == 0


def admin_writes(args):
    """200 concurrent admin writes (role changes, key regenerations, invitations): no 5xx, no
    "database is locked", and every accepted write is in the audit log (nothing lost)."""
    admin = Session(args.host, args.port).sign_in()
    admin.rpc("api_enable")
    ids = []
    # One group per role change, each changed once: every accepted change is a real change.
    for n in range(70):
        status, data = admin.rpc("principals_add", {"kind": "group", "principal": f"Fault group {time.time()} {n}", "role": "viewer"})
        assert status == 200, (status, data)
        ids.append(json.loads(data)["principal"]["id"])
    stamp = int(time.time() * 1000)
    results = {}
    accepted = {"role": 0, "regenerate": 0, "invite": 0}
    lock = threading.Lock()

    def write(n):
        kind = ["role", "regenerate", "invite"][n % 3]
        if kind == "role":
            status, data = admin.rpc("principals_change_role", {"id": ids[n // 3], "role": "contributor", "confirm_self": "false"})
        elif kind == "regenerate":
            status, data = admin.rpc("api_regenerate", {"slot": ["primary", "secondary"][n % 2], "grace": "now"})
        else:
            status, data = admin.rpc("principals_add", {"kind": "user", "principal": f"invitee-{stamp}-{n}@fault.test", "role": "viewer"})
        with lock:
            results[status] = results.get(status, 0) + 1
            if status == 200:
                accepted[kind] += 1
            if b"database is locked" in data:
                results["locked"] = results.get("locked", 0) + 1

    audit_before = audit_counts(args.db)
    threads = [threading.Thread(target=write, args=(n,)) for n in range(200)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    audit_after = audit_counts(args.db)
    recorded = {k: audit_after.get(a, 0) - audit_before.get(a, 0) for k, a in
                [("role", "principal.role"), ("regenerate", "api.regenerate"), ("invite", "principal.add")]}
    conn = sqlite3.connect(args.db)
    invited = conn.execute("SELECT count(*) FROM principals WHERE handle LIKE ?", (f"invitee-{stamp}-%",)).fetchone()[0]
    live_keys = conn.execute("SELECT count(*) FROM api_keys WHERE expires_at IS NULL").fetchone()[0]
    conn.close()
    fives = sum(v for k, v in results.items() if isinstance(k, int) and k >= 500)
    print(f"admin writes: 200 concurrent (role changes, key regenerations, invitations) in {elapsed:.1f} s; "
          f"answers {results}; accepted {accepted}; audited {recorded}; {invited} invitees stored; "
          f"{live_keys} live keys")
    return (fives == 0 and "locked" not in results and recorded == accepted
            and invited == accepted["invite"] and live_keys == 2 and results.get(200) == 200)


def audit_counts(db_path):
    conn = sqlite3.connect(db_path)
    counts = dict(conn.execute("SELECT action, count(*) FROM audit_log GROUP BY action").fetchall())
    conn.close()
    return counts


def integrity(db_path):
    conn = sqlite3.connect(db_path)
    (check,) = conn.execute("PRAGMA integrity_check").fetchone()
    keys = conn.execute("SELECT count(*) FROM api_keys WHERE expires_at IS NULL").fetchone()[0]
    admins = conn.execute("SELECT count(*) FROM principals WHERE role = 'admin' AND kind = 'user'").fetchone()[0]
    conn.close()
    return check, keys, admins


def main():
    p = argparse.ArgumentParser()
    p.add_argument("check", choices=["slowloris", "flood", "writes", "integrity"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3230)
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--header-timeout", type=int, default=10)
    p.add_argument("--db", default="")
    args = p.parse_args()
    if args.check == "integrity":
        check, keys, admins = integrity(args.db)
        print(f"integrity: {check}; {keys} live API keys; {admins} admin users")
        sys.exit(0 if check == "ok" and admins >= 1 and keys in (0, 2) else 1)
    ok = {"slowloris": slowloris, "flood": sign_in_flood, "writes": admin_writes}[args.check](args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
