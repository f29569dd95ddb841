#!/usr/bin/env python3
"""Connection exhaustion (issue 27): health checks and inference against `epara serve` while
thousands of hostile connections are open.

Starts `epara serve` on the demo models (loopback, a free port), then per scenario opens N
connections of one kind and, with them open, times health checks and tensor inferences from a
fresh client, one at a time:
  half-open   a request line and one header, never finished (the classic slowloris)
  trickle     a request head sent one byte every 0.5 s (never finishes within the head deadline)
  idle        connected, nothing sent
  slow-body   a complete head announcing 1 MB, then nothing
The hostile connections come from 127.0.0.2, the checks from 127.0.0.1 (the server caps
connections per client address at 4,096: the rest of the 5,000 are closed at accept).
Reports per scenario: connections opened, checks answered, p50/p99/max latency, failures, and how
many hostile connections the server had closed when the checks were done (its deadlines).

  python3 bench/connection_exhaustion.py --epara build/epara --out bench/results/connections_s24.json

With --tls the server runs HTTPS (a CA and certificate made with `epara certs` in a temporary
folder) and the kinds are TLS ones:
  handshake   connected, the first 4 bytes of a TLS record, never finished (no thread may wait
              for the rest of a handshake)
  idle        connected, nothing sent
  half-open   a finished handshake, then a request line and one header, never finished
  trickle     as half-open, then a header byte every 0.5 s
  slow-body   a finished handshake, a head announcing 1 MB, then nothing
--thread-per-connection serves them on cpp-httplib's thread per connection instead (the server
HTTPS used before session 27), for the comparison; --connections 1000 keeps its run short.

  python3 bench/connection_exhaustion.py --epara build/epara --tls --out bench/results/connections_tls_s27.json

Only loopback; the server is stopped by its PID.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import tempfile
import time

INFER = (b'{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},'
         b'{"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},'
         b'{"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]}')


TLS = None  # an ssl.SSLContext trusting the run's CA, with --tls


def connect(port, timeout, source=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    return TLS.wrap_socket(s, server_hostname="127.0.0.1") if TLS else s


def request(port, method, path, body=b"", timeout=10.0):
    """One request on a new connection; returns (status, seconds) or (None, seconds)."""
    t0 = time.perf_counter()
    try:
        s = connect(port, timeout)
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
        return status, time.perf_counter() - t0
    except OSError:
        return None, time.perf_counter() - t0


def hostile(port, kind, n):
    socks = []
    for _ in range(n):
        try:
            # From another loopback address than the checks: the server's per-address limit
            # (4,096) applies to the attacker, not to everyone.
            if kind in ("idle", "handshake"):  # no TLS session: raw bytes or none
                s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                             source_address=("127.0.0.2", 0))
            else:
                s = connect(port, 5, "127.0.0.2")
        except OSError:
            break
        s.setblocking(False)
        if kind == "handshake":
            s.send(b"\x16\x03\x01\x02")
        elif kind == "half-open":
            s.send(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")
        elif kind == "slow-body":
            s.send(b"POST /v2/models/tensor-demo/infer HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 1048576\r\n\r\n{")
        socks.append(s)
    return socks


def still_open(socks):
    """Hostile connections the server has not closed (a read of 0 bytes: closed)."""
    open_ = 0
    for s in socks:
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            open_ += 1
            continue
        except OSError:
            pass
    return open_


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epara", default="build/epara")
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--tls", action="store_true", help="HTTPS, and TLS kinds of hostile clients")
    ap.add_argument("--thread-per-connection", action="store_true",
                    help="serve on cpp-httplib's thread per connection (the comparison)")
    ap.add_argument("--check-timeout", type=float, default=10.0)
    ap.add_argument("--out")
    a = ap.parse_args()
    global TLS
    work = tempfile.mkdtemp(prefix="epara_conn_")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([a.epara, "models", "demo", f"{work}/repo"], check=True, **quiet)
    port_file = f"{work}/port"
    log = open(f"{work}/serve.log", "w")
    cmd = [a.epara, "serve", "--models", f"{work}/repo", "--port", "0", "--port-file", port_file]
    if a.tls:
        subprocess.run([a.epara, "certs", "init", "--dir", f"{work}/ca"], check=True, **quiet)
        subprocess.run([a.epara, "certs", "issue", "--dir", f"{work}/ca", "--name", "server",
                        "--host", "127.0.0.1"], check=True, **quiet)
        cmd += ["--tls-cert", f"{work}/ca/server.pem", "--tls-key", f"{work}/ca/server.key"]
        TLS = ssl.create_default_context(cafile=f"{work}/ca/ca.pem")
    if a.thread_per_connection:
        cmd.append("--thread-per-connection")
    server = subprocess.Popen(cmd, stdout=log, stderr=log)
    try:
        deadline = time.time() + 120
        while not os.path.exists(port_file) and time.time() < deadline:
            time.sleep(0.05)  # the server writes it once listening
        port = int(open(port_file).read().strip())
        results = []
        kinds = ["none", "half-open", "trickle", "idle", "slow-body"]
        if a.tls:
            kinds.insert(1, "handshake")
        for kind in kinds:
            socks = [] if kind == "none" else hostile(port, "half-open" if kind == "trickle" else kind,
                                                      a.connections)
            lat = {"health": [], "infer": []}
            failures = 0
            t_start = time.time()
            for i in range(a.checks):
                for name, (method, path, body) in {
                        "health": ("GET", "/v2/health/live", b""),
                        "infer": ("POST", "/v2/models/tensor-demo/infer", INFER)}.items():
                    status, secs = request(port, method, path, body, a.check_timeout)
                    if status != 200:
                        failures += 1
                    else:
                        lat[name].append(secs * 1e3)
                if kind == "trickle" and i % 10 == 0:
                    for s in socks:  # one more byte of a header that never ends
                        try:
                            s.send(b"X")
                        except OSError:
                            pass
            row = {"hostile": kind, "opened": len(socks), "checks": a.checks, "failures": failures,
                   "seconds": round(time.time() - t_start, 2)}
            for name, v in lat.items():
                v.sort()
                if v:
                    row[name] = {"p50_ms": round(statistics.median(v), 3),
                                 "p99_ms": round(v[int(0.99 * (len(v) - 1))], 3),
                                 "max_ms": round(v[-1], 3)}
            # The head deadline (10 s) closes half-open and trickling connections; idle ones too
            # (no request within it); a slow body after 30 s without progress.
            time.sleep(11)  # waiting out the server's 10 s head deadline, not synchronizing
            row["still_open_after_11s"] = still_open(socks)  # of those opened (accepted or not)
            for s in socks:
                s.close()
            results.append(row)
            print(json.dumps(row), flush=True)
        server_kind = ("cpp-httplib thread per connection" if a.thread_per_connection
                       else "event loop")
        out = {"benchmark": "connection_exhaustion",
               "server": f"epara serve ({'HTTPS' if a.tls else 'plain HTTP'}, {server_kind})",
               "connections": a.connections, "results": results}
        if a.out:
            with open(a.out, "w") as f:
                json.dump(out, f, indent=2)
                f.write("\n")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
