#!/usr/bin/env python3
"""Chaos under load (issue 27): faults injected into a running epara cluster while closed-loop
clients send a steady mixed load, every request accounted for.

The cluster, each part in network namespaces this script creates (run as root; nothing outside
them is touched):
  - a private hub namespace (`unshare --net`): a bridge 10.211.0.1/24, a three-member etcd
    (ports 23791-23793), two `epara controller`s (one leads, one stands by), and the clients;
  - four `epara node`s, each in its own namespace (10.211.0.10-13) joined to the bridge by a veth
    pair, on the demo models: n0 and n1 are the ingress nodes the clients send to (n0 holds
    tensor-demo, n1 seg-demo), n2 and n3 hold all three services (llama-demo too), so requests
    for them are forwarded from the ingress nodes.
The load: `--clients` closed-loop clients alternating between the ingress nodes and cycling
through a KServe v2 tensor inference, a 64x64 PNG segmentation and a streamed 16-token
completion of llama-demo (greedy: every answer must be the same text).

Faults, in order, each after a steady window and followed by an observation window:
  kill-node       SIGKILL of n3 (a worker: streams and forwards in flight there are cut)
  restart-node    n3 started again with the same id
  kill-leader     SIGKILL of the controller that leads; the standby must take over
  kill-etcd       SIGKILL of etcd member 0 (the first endpoint of every node and controller)
  partition       n2's link down for 10 s, then up
  delay-loss      100 ms delay and 5% loss both ways on n2's link for --impaired seconds (15):
                  n2's link is then a user-space one (link_emulator.py, TAP devices) where
                  /dev/net/tun exists, else tc netem (skipped with the reason without sch_netem)
Each request is classed: answered (200 and the whole answer: for streams every token, a finish
reason and [DONE]), clear error (an HTTP error with a JSON body carrying message and type, or a
stream that ends with an error event and [DONE]), lost (reset, truncated, malformed or past the
30 s deadline: must be 0), or not accepted (the connection itself was refused or timed out: a
client's load balancer would try the other ingress). Recovery: seconds from the fault until a
2 s window's answers reach 90% of the steady window's rate.

  python3 bench/chaos/chaos.py --epara build/epara --out bench/results/chaos_s25.json

Writes the JSON and a markdown table beside it (same name, .md). Processes are stopped by PID;
the namespaces are deleted at the end.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HUB = "10.211.0.1"
NODE_IP = ["10.211.0.10", "10.211.0.11", "10.211.0.12", "10.211.0.13"]
API_PORT, PEER_PORT = 8000, 9000
ETCD_CLIENT = [23791, 23792, 23793]
ETCD_PEER = [23801, 23802, 23803]
INGRESS = [0, 1]
SERVES = [["tensor-demo"], ["seg-demo"], ["llama-demo", "tensor-demo", "seg-demo"],
          ["llama-demo", "tensor-demo", "seg-demo"]]
LLM_TOKENS = 16
DEADLINE_S = 30.0
INFER = (b'{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},'
         b'{"name":"b","shape":[1,4],"datatype":"INT64","data":[1,1,1,1]},'
         b'{"name":"c","shape":[1,4],"datatype":"UINT8","data":[0,0,0,2]}]}')
COMPLETION = json.dumps({"model": "llama-demo", "prompt": "chaos under load",
                         "max_tokens": LLM_TOKENS, "temperature": 0, "ignore_eos": True,
                         "stream": True, "stream_options": {"include_usage": True}}).encode()


def png(w, h):
    """A w x h RGB PNG (a gradient with a bright square), built with zlib."""
    rows = b""
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            inside = w // 4 <= x < 3 * w // 4 and h // 4 <= y < 3 * h // 4
            row += bytes([255, 255, 255]) if inside else bytes([x * 3 % 256, y * 3 % 256, 40])
        rows += bytes(row)

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


IMAGE = png(64, 64)
LINK_EMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "link_emulator.py")
DELAY_LOSS = "100 ms delay + 5% loss on a link"


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.stderr.strip()}")
    return r


class Cluster:
    """The namespaces, etcd, controllers and nodes; every process by PID."""

    def __init__(self, epara, work, tag):
        self.epara, self.work, self.tag = epara, work, tag
        self.ns = [f"epc{tag}n{i}" for i in range(4)]
        self.procs = {}  # name -> Popen
        self.models = os.path.join(work, "models")

    def network(self, emulated=()):
        """Node i's link is a veth pair, or for i in `emulated` the two TAP devices of a
        link_emulator.py process (same names, so the faults treat both alike)."""
        sh("ip link set lo up")
        sh("ip link add epbr0 type bridge")
        sh(f"ip addr add {HUB}/24 dev epbr0")
        sh("ip link set epbr0 up")
        for i, ns in enumerate(self.ns):
            sh(f"ip netns add {ns}")
            if i in emulated:
                self.spawn(f"link-n{i}", [sys.executable, LINK_EMULATOR, "--a", f"eh{i}", "--b",
                                          f"en{i}", "--delay-ms", "100", "--loss", "0.05"])
                wait_until(f"n{i}'s emulated link", lambda: "ready" in self.log(f"link-n{i}"), 10)
            else:
                sh(f"ip link add eh{i} type veth peer name en{i}")
            sh(f"ip link set en{i} netns {ns}")
            sh(f"ip link set eh{i} master epbr0")
            sh(f"ip link set eh{i} up")
            sh(f"ip -n {ns} addr add {NODE_IP[i]}/24 dev en{i}")
            sh(f"ip -n {ns} link set en{i} up")
            sh(f"ip -n {ns} link set lo up")

    def spawn(self, name, argv, ns=None):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        if ns:
            argv = ["ip", "netns", "exec", ns] + argv
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def log(self, name):
        with open(os.path.join(self.work, name + ".log"), "rb") as f:
            return f.read().decode(errors="replace")

    def etcd(self, i, state="new"):
        cluster = ",".join(f"m{j}=http://{HUB}:{ETCD_PEER[j]}" for j in range(3))
        self.spawn(f"etcd{i}", [
            "etcd", f"--name=m{i}", f"--data-dir={self.work}/etcd{i}",
            f"--listen-client-urls=http://{HUB}:{ETCD_CLIENT[i]}",
            f"--advertise-client-urls=http://{HUB}:{ETCD_CLIENT[i]}",
            f"--listen-peer-urls=http://{HUB}:{ETCD_PEER[i]}",
            f"--initial-advertise-peer-urls=http://{HUB}:{ETCD_PEER[i]}",
            f"--initial-cluster={cluster}", f"--initial-cluster-state={state}",
            f"--initial-cluster-token=epara-chaos-{self.tag}", "--heartbeat-interval=50",
            "--election-timeout=500", "--log-level=warn"])

    def endpoints(self):
        return [f"{HUB}:{p}" for p in ETCD_CLIENT]

    def node_yaml(self, i):
        path = os.path.join(self.work, f"n{i}.yaml")
        with open(path, "w") as f:
            f.write(f"id: n{i}\ndevice_class: edge-server\n"
                    f"api: {{host: {NODE_IP[i]}, port: {API_PORT}}}\n"
                    f"peer: {{host: {NODE_IP[i]}, port: {PEER_PORT}}}\n"
                    f"models:\n  dir: {self.models}\n  serve: [{', '.join(SERVES[i])}]\n"
                    "devices:\n  - {id: cpu, kind: cpu, cpu_threads: 1, memory_mb: 4096}\n"
                    f"store: {{kind: etcd, endpoints: [{', '.join(self.endpoints())}]}}\n"
                    "security: {insecure: true}\n"
                    "sync_interval_ms: 200\ndown_after_ms: 1500\n")
        return path

    def node(self, i):
        self.spawn(f"n{i}", [self.epara, "node", "--config", self.node_yaml(i)], ns=self.ns[i])

    def controller(self, name):
        self.spawn(name, [self.epara, "controller", "--store", ",".join(self.endpoints()),
                          "--period-s", "5", "--id", name])

    def leader(self):
        """A running controller whose log says it leads (not since lost), or None."""
        best = None
        for name in ("ctl-a", "ctl-b"):
            if name not in self.procs:
                continue
            i = self.log(name).rfind(f"controller: {name} is the leader")
            lost = self.log(name).rfind(f"controller: {name} lost its leadership")
            if i > lost and i >= 0:
                best = name
        return best

    def stop(self):
        for name in list(self.procs):
            p = self.procs[name]
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 20
        for name in list(self.procs):
            p = self.procs.pop(name)
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
        for ns in self.ns:
            sh(f"ip netns del {ns}", check=False)


def get(ip, path, timeout=2.0):
    try:
        c = http.client.HTTPConnection(ip, API_PORT, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    except OSError:
        return None, b""


def clear_error(body):
    try:
        e = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(e, dict) and bool(e.get("message")) and bool(e.get("type"))


def check_stream(body, reference):
    """('ok'|'error'|'lost', text): a whole stream, one that ended with an error event and [DONE],
    or anything else."""
    text = body.decode(errors="replace")
    if not text.endswith("data: [DONE]\n\n"):
        return "lost", ""
    out, finish, tokens, errored = "", "", -1, False
    for event in text.split("\n\n"):
        if not event.startswith("data: ") or event == "data: [DONE]":
            continue
        try:
            e = json.loads(event[6:])
        except ValueError:
            return "lost", ""
        if "error" in e:
            errored = isinstance(e["error"], dict) and bool(e["error"].get("message"))
            continue
        if isinstance(e.get("usage"), dict):
            tokens = e["usage"].get("completion_tokens", -1)
        for c in e.get("choices", []):
            out += c.get("text") or ""
            finish = c.get("finish_reason") or finish
    if errored:
        return "error", out
    if finish == "length" and tokens == LLM_TOKENS and (reference is None or out == reference):
        return "ok", out
    return "lost", out


class Load:
    """Closed-loop clients; every request recorded as (start, end, kind, outcome, by, why)."""

    def __init__(self, clients):
        self.records, self.mu, self.stop = [], threading.Lock(), threading.Event()
        self.reference = None
        self.threads = [threading.Thread(target=self.client, args=(k,), daemon=True)
                        for k in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(DEADLINE_S + 5)

    def one(self, ingress, kind):
        ip = NODE_IP[ingress]
        if kind == "tensor":
            method, path, body, ctype = "POST", "/v2/models/tensor-demo/infer", INFER, \
                "application/json"
        elif kind == "seg":
            method, path, body, ctype = "POST", "/v1/segment/seg-demo", IMAGE, "image/png"
        else:
            method, path, body, ctype = "POST", "/v1/completions", COMPLETION, "application/json"
        c = http.client.HTTPConnection(ip, API_PORT, timeout=DEADLINE_S)
        try:
            c.connect()
        except OSError as e:
            return "not-accepted", "", f"connect: {e}"
        try:
            c.request(method, path, body, {"Content-Type": ctype})
            r = c.getresponse()
            data = r.read()
            by = r.getheader("X-Epara-Node", "")
        except (OSError, http.client.HTTPException) as e:
            return "lost", "", f"{type(e).__name__}: {e}"
        finally:
            c.close()
        if r.status != 200:
            return ("error" if clear_error(data) else "lost"), by, f"{r.status} {data[:200]!r}"
        if kind == "llm":
            verdict, text = check_stream(data, self.reference)
            if verdict == "ok" and self.reference is None:
                self.reference = text
            return verdict, by, "" if verdict == "ok" else data[-300:].decode(errors="replace")
        if kind == "seg" and not (data.startswith(b"\x89PNG") or data.startswith(b"{")):
            return "lost", by, "neither a mask image nor JSON"
        if kind == "tensor" and b"outputs" not in data:
            return "lost", by, "no outputs"
        return "ok", by, ""

    def client(self, k):
        kinds = ["tensor", "seg", "llm"]
        n = k
        while not self.stop.is_set():
            ingress, kind = INGRESS[n % len(INGRESS)], kinds[(n // len(INGRESS)) % len(kinds)]
            n += 1
            t0 = time.time()
            outcome, by, why = self.one(ingress, kind)
            t1 = time.time()
            if t1 - t0 > DEADLINE_S and outcome != "not-accepted":
                outcome, why = "lost", f"past the {DEADLINE_S:.0f} s deadline: " + why
            with self.mu:
                self.records.append((t0, t1, kind, outcome, by, why))
            if outcome == "not-accepted":
                time.sleep(0.2)  # a balancer's retry delay: not a synchronization

    def ended_between(self, a, b):
        with self.mu:
            return [r for r in self.records if a <= r[1] < b]

    def answered_between(self, a, b):
        with self.mu:
            return sum(1 for r in self.records if r[3] == "ok" and a <= r[1] < b)


def etcd_writable():
    for port in ETCD_CLIENT:
        try:
            c = http.client.HTTPConnection(HUB, port, timeout=2)
            c.request("POST", "/v3/kv/put", b'{"key":"cmVhZHk=","value":"MQ=="}',
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            if r.status != 200 or b"header" not in r.read():
                return False
        except OSError:
            return False
    return True


def selected(args, fault):
    """Whether `fault` (a name in the plan) runs: --only names substrings of those that do."""
    return not args.only or any(o in fault for o in args.only.split(","))


def wait_until(what, cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)  # polling a condition, bounded
    raise RuntimeError(f"timed out waiting for {what}")


def run_fault(cluster, load, name, inject, args, extra=None):
    steady_from = time.time()
    time.sleep(args.steady)  # the steady window before the fault: load runs meanwhile
    t_fault = time.time()
    note = inject()
    time.sleep(args.observe)  # the observation window
    t_end = time.time()
    steady_rate = load.answered_between(steady_from, t_fault) / (t_fault - steady_from)
    recovery = None
    t = t_fault
    while t + 2 <= t_end:
        if load.answered_between(t, t + 2) >= 0.9 * 2 * steady_rate:
            recovery = t - t_fault
            break
        t += 0.25
    rows = load.ended_between(t_fault, t_end)  # by end: requests in flight at the fault count
    cut = [r for r in rows if r[0] < t_fault]
    count = {k: sum(1 for r in rows if r[3] == k) for k in ("ok", "error", "lost", "not-accepted")}
    lat = sorted(r[1] - r[0] for r in rows if r[3] == "ok")
    row = {
        "fault": name, "note": note, "window_s": round(t_end - t_fault, 1),
        "steady_answers_per_s": round(steady_rate, 2),
        "accepted": count["ok"] + count["error"] + count["lost"],
        "answered": count["ok"], "clear_errors": count["error"], "lost": count["lost"],
        "not_accepted": count["not-accepted"],
        "in_flight_at_fault": {k: sum(1 for r in cut if r[3] == k) for k in ("ok", "error", "lost")},
        "recovery_s": None if recovery is None else round(recovery, 2),
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "max_ms": round(1000 * lat[-1], 1) if lat else None,
        "errors": sorted({r[5][:160] for r in rows if r[3] == "error"})[:5],
        "lost_examples": sorted({r[5][:240] for r in rows if r[3] == "lost"})[:5],
        "served_by": {n: sum(1 for r in rows if r[4] == n and r[3] == "ok")
                      for n in ("n0", "n1", "n2", "n3")},
    }
    # Answers per second from the fault on, and the requests that took over 2 s (start offset).
    row["answers_per_s"] = [load.answered_between(t_fault + k, t_fault + k + 1)
                            for k in range(int(t_end - t_fault))]
    row["slow"] = [f"{r[0] - t_fault:+.1f}s {r[2]} {r[3]} by {r[4] or '?'} {r[1] - r[0]:.1f}s"
                   for r in rows if r[1] - r[0] > 2][:12]
    if extra:
        row.update(extra(t_fault, t_end, rows))
    print(json.dumps(row), flush=True)
    return row


def inner(args):
    tag = str(os.getpid())
    work = tempfile.mkdtemp(prefix="epara_chaos_")
    cluster = Cluster(os.path.abspath(args.epara), work, tag)
    results = {"command": os.environ.get("EPARA_CHAOS_COMMAND", " ".join(sys.argv)),
               "clients": args.clients, "faults": []}
    load = None
    try:
        sh(f"{cluster.epara} models demo {cluster.models}")
        # tc netem needs the kernel's sch_netem; a user-space link (TAP devices) does the same
        # where /dev/net/tun exists, so n2's link is one whenever the delay-loss fault runs.
        delay_loss_planned = args.soak <= 0 and selected(args, DELAY_LOSS)
        cluster.network(emulated=(2,) if delay_loss_planned and os.path.exists("/dev/net/tun")
                        else ())
        for i in range(3):
            cluster.etcd(i)
        wait_until("etcd to accept writes", etcd_writable, 60)
        for i in range(4):
            cluster.node(i)
        wait_until("every node", lambda: all(get(ip, "/v2/health/ready")[0] == 200
                                             for ip in NODE_IP), 180)
        cluster.controller("ctl-a")
        wait_until("a leader", lambda: cluster.leader() == "ctl-a", 60)
        cluster.controller("ctl-b")
        load = Load(args.clients)
        load.start()
        # Warm up until every service is answered through both ingress nodes.
        wait_until("answers of every kind", lambda: all(
            any(r[2] == k and r[3] == "ok" for r in load.ended_between(0, time.time()))
            for k in ("tensor", "seg", "llm")), 120)
        time.sleep(args.steady)  # warm-up load, not counted

        def kill_node():
            cluster.kill("n3")
            return "SIGKILL n3 (holds llama-demo, tensor-demo, seg-demo)"

        def restart_node():
            cluster.node(3)
            return "n3 started again with the same id and config"

        def restarted_serves(t0, t1, rows):
            # Served by n3 again: within the window, or (a loaded host starts it slowly) within
            # 60 s of the restart, bounded.
            def answered_by_n3():
                return [r[1] for r in load.ended_between(t0, time.time())
                        if r[4] == "n3" and r[3] == "ok"]
            try:
                wait_until("n3 to answer again", answered_by_n3, max(0.0, t0 + 60 - time.time()))
            except RuntimeError:
                pass
            ended = answered_by_n3()
            return {"n3_answers_after_restart": len(ended),
                    "n3_first_answer_after_s": round(min(ended) - t0, 2) if ended else None}

        takeover = {}

        def kill_leader():
            leader = cluster.leader()
            other = "ctl-b" if leader == "ctl-a" else "ctl-a"
            t0 = time.time()
            cluster.kill(leader)
            try:
                wait_until("the standby to lead", lambda: cluster.leader() == other, 30)
                takeover["s"] = round(time.time() - t0, 2)
            except RuntimeError:
                takeover["s"] = None
            cluster.controller(leader)  # back as the standby, for the faults that follow
            return f"SIGKILL {leader} (the leader); {other} led after {takeover['s']} s"

        def kill_etcd():
            cluster.kill("etcd0")
            return "SIGKILL etcd member m0 (every node's and controller's first endpoint)"

        def partition():
            sh(f"ip -n {cluster.ns[2]} link set en2 down")
            time.sleep(10)  # the partition lasts 10 s
            sh(f"ip -n {cluster.ns[2]} link set en2 up")
            return "n2's link down for 10 s, then up"

        def routed_to_partitioned(t0, t1, rows):
            late = [r for r in rows if r[4] == "n2" and r[3] == "ok"
                    and t0 + 1.5 + 0.5 <= r[0] < t0 + 10]
            return {"answered_by_n2_after_down_after": len(late)}

        netem = {}

        def delay_loss():
            if "link-n2" in cluster.procs:
                emulator = cluster.procs["link-n2"]
                emulator.send_signal(signal.SIGUSR1)
                time.sleep(args.impaired)  # the impaired period
                emulator.send_signal(signal.SIGUSR2)
                wait_until("the link's counts", lambda: "{" in cluster.log("link-n2"), 10)
                line = [x for x in cluster.log("link-n2").splitlines() if x.startswith("{")][-1]
                netem["user_space_link"] = json.loads(line)
                return (f"100 ms delay and 5% loss both ways on n2's link for {args.impaired:.0f} s"
                        " (a user-space link, bench/chaos/link_emulator.py: no sch_netem here)")
            r = sh(f"tc qdisc add dev eh2 root netem delay 100ms loss 5%", check=False)
            if r.returncode != 0:
                netem["skipped"] = r.stderr.strip()
                return f"not measured: tc netem failed ({r.stderr.strip()})"
            sh(f"ip netns exec {cluster.ns[2]} tc qdisc add dev en2 root netem delay 100ms loss 5%",
               check=False)
            time.sleep(args.impaired)  # the impaired period
            sh("tc qdisc del dev eh2 root", check=False)
            sh(f"ip netns exec {cluster.ns[2]} tc qdisc del dev en2 root", check=False)
            return f"100 ms delay and 5% loss both ways on n2's link for {args.impaired:.0f} s"

        if args.soak > 0:
            results["soak"] = soak(cluster, load, args)
            plan = []
        else:
            plan = [("kill -9 a worker node", kill_node, None),
                    ("restart it with the same id", restart_node, restarted_serves),
                    ("kill -9 the controller leader", kill_leader, None),
                    ("kill -9 an etcd member (the store)", kill_etcd, None),
                    ("partition a node for 10 s, then heal", partition, routed_to_partitioned),
                    (DELAY_LOSS, delay_loss, None)]
        for name, inject, extra in plan:
            if not selected(args, name):
                continue
            results["faults"].append(run_fault(cluster, load, name, inject, args, extra))
        results["controller_takeover_s"] = takeover.get("s")
        if netem:
            results["netem"] = netem
    finally:
        if load:
            load.finish()
            results["total"] = {k: sum(1 for r in load.records if r[3] == k)
                                for k in ("ok", "error", "lost", "not-accepted")}
        cluster.stop()
        if args.keep:
            print("logs kept in", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    write_markdown(results, os.path.splitext(args.out)[0] + ".md")
    problems = failures(results)
    for p in problems:
        print("chaos: FAILED:", p)
    return 1 if problems else 0


def failures(results):
    """What the faults did that they must not: lost requests, no takeover, no service after the
    restart, answers from a partitioned node after down_after."""
    out = []
    if "soak" in results and results["soak"]["lost"]:
        out.append(f"soak: {results['soak']['lost']} lost: {results['soak']['lost_examples']}")
    for r in results["faults"]:
        if r["lost"]:
            out.append(f"{r['fault']}: {r['lost']} lost: {r['lost_examples']}")
        if r.get("n3_answers_after_restart") == 0:
            out.append(f"{r['fault']}: the restarted node answered nothing")
        if r.get("answered_by_n2_after_down_after"):
            out.append(f"{r['fault']}: the partitioned node answered after down_after")
    if any("leader" in r["fault"] for r in results["faults"]) and \
            results.get("controller_takeover_s") is None:
        out.append("the standby controller did not take over within 30 s")
    return out


def proc_stats(pid):
    """(RSS MB, open fds, threads) of a process, from /proc; None when it is gone."""
    try:
        status = open(f"/proc/{pid}/status").read()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    field = {l.split(":")[0]: l.split(":")[1].split() for l in status.splitlines() if ":" in l}
    return int(field["VmRSS"][0]) / 1024.0, fds, int(field["Threads"][0])


def soak(cluster, load, args):
    """`args.soak` minutes of the mixed load with a migration every minute (seg-demo between n1
    and n0, `epara deploy --move`) and a restart of n3 (SIGTERM, then the same id again) every 5
    minutes; the long-lived nodes' RSS, fds and threads sampled every 10 s."""
    t0 = time.time()
    end = t0 + 60 * args.soak
    samples = []  # (t, node, rss_mb, fds, threads)
    moves, restarts = [], []
    holder = "n1"
    next_move, next_restart, next_sample = t0 + 60, t0 + 300, t0
    while time.time() < end:
        now = time.time()
        if now >= next_sample:
            for n in ("n0", "n1", "n2"):
                st = proc_stats(cluster.procs[n].pid)
                if st:
                    samples.append((now - t0,) + (n,) + st)
            next_sample += 10
        if now >= next_move:
            to = "n0" if holder == "n1" else "n1"
            r = subprocess.run([cluster.epara, "deploy", "--node", f"{NODE_IP[1]}:{API_PORT}",
                                "--move", f"seg-demo:{holder}:{to}", "--grace-ms", "300"],
                               capture_output=True, text=True, timeout=120)
            moves.append({"at_s": round(now - t0, 1), "move": f"{holder}->{to}",
                          "ok": r.returncode == 0,
                          "out": "" if r.returncode == 0 else (r.stdout + r.stderr)[-300:]})
            if r.returncode == 0:
                holder = to
            next_move += 60
        if now >= next_restart:
            p = cluster.procs.pop("n3")
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
            cluster.node(3)
            restarts.append(round(now - t0, 1))
            next_restart += 300
        time.sleep(0.5)  # the soak's clock: moves, restarts and samples are due on whole periods
    rows = load.ended_between(t0, end)
    count = {k: sum(1 for r in rows if r[3] == k) for k in ("ok", "error", "lost", "not-accepted")}
    warm = min(300, 60 * args.soak / 3)  # after warm-up: from minute 5 (or the first third)
    growth = {n: g for n in ("n0", "n1", "n2") if (g := node_growth(samples, n, warm))}
    return {"minutes": args.soak, "accepted": count["ok"] + count["error"] + count["lost"],
            "answered": count["ok"], "clear_errors": count["error"], "lost": count["lost"],
            "not_accepted": count["not-accepted"],
            "errors": sorted({r[5][:160] for r in rows if r[3] == "error"})[:8],
            "lost_examples": sorted({r[5][:240] for r in rows if r[3] == "lost"})[:8],
            "moves": moves, "moves_ok": sum(m["ok"] for m in moves), "restarts_at_s": restarts,
            "after_warm_up_from_s": warm, "nodes": growth,
            "samples": [[round(x[0]), x[1], round(x[2], 1), x[3], x[4]] for x in samples]}


def node_growth(samples, node, warm):
    """RSS, fds and threads of `node` from `warm` s on, samples (t, node, rss_mb, fds, threads).

    RSS is compared window to window, not sample to sample: the node gives freed heap back after
    an unload (ReleaseFreeHostMemory), so its RSS swings with what it holds at the moment
    (+-100 MB here) while a leak raises the whole envelope. Growth: the peak of the last window
    (5 min, or a third of the time after warm-up) over the peak of the first; the means too.
    None with fewer than 12 samples."""
    mine = [x for x in samples if x[1] == node and x[0] >= warm]
    if len(mine) < 12:
        return None
    end = mine[-1][0]
    window = min(300, (end - warm) / 3)
    first = [x[2] for x in mine if x[0] < warm + window]
    last = [x[2] for x in mine if x[0] >= end - window]
    return {"window_s": round(window),
            "rss_peak_mb": [round(max(first), 1), round(max(last), 1)],
            "rss_growth_pct": round(100 * (max(last) / max(first) - 1), 2),
            "rss_mean_mb": [round(statistics.mean(first), 1), round(statistics.mean(last), 1)],
            "rss_mean_growth_pct": round(100 * (statistics.mean(last) / statistics.mean(first)
                                                - 1), 2),
            "fds": [mine[0][3], mine[-1][3], max(x[3] for x in mine)],
            "threads": [mine[0][4], mine[-1][4], max(x[4] for x in mine)]}


def write_markdown(results, path):
    lines = ["# Chaos under load", "", f"`{results['command']}`", "",
             "| fault | accepted | answered | clear errors | lost | in flight at the fault"
             " (answered / clear error / lost) | not accepted | recovery (s) |"
             " answered p50 / max (ms) | note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["faults"]:
        f = r["in_flight_at_fault"]
        lines.append(f"| {r['fault']} | {r['accepted']} | {r['answered']} | {r['clear_errors']} |"
                     f" {r['lost']} | {f['ok']} / {f['error']} / {f['lost']} |"
                     f" {r['not_accepted']} | {r['recovery_s']} |"
                     f" {r['p50_ms']} / {r['max_ms']} | {r['note']} |")
    if "soak" in results:
        k = results["soak"]
        lines += ["", f"Soak: {k['minutes']} min, {k['moves_ok']} of {len(k['moves'])} moves,"
                  f" restarts at {k['restarts_at_s']} s: accepted {k['accepted']}, answered"
                  f" {k['answered']}, clear errors {k['clear_errors']}, lost {k['lost']}", "",
                  "| node | peak RSS MB, first -> last window after warm-up | growth |"
                  " mean RSS MB (same windows) | fds first / last / max |"
                  " threads first / last / max |", "|---|---|---|---|---|---|"]
        for n, g in k["nodes"].items():
            lines.append(f"| {n} | {g['rss_peak_mb'][0]} -> {g['rss_peak_mb'][1]} |"
                         f" {g['rss_growth_pct']}% | {g['rss_mean_mb'][0]} ->"
                         f" {g['rss_mean_mb'][1]} ({g['rss_mean_growth_pct']}%) |"
                         f" {' / '.join(map(str, g['fds']))} |"
                         f" {' / '.join(map(str, g['threads']))} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epara", default="build/epara")
    p.add_argument("--out", default="chaos.json")
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--steady", type=float, default=10, help="seconds before each fault")
    p.add_argument("--observe", type=float, default=20, help="seconds after each fault")
    p.add_argument("--impaired", type=float, default=15,
                   help="seconds of delay and loss in the delay-loss fault")
    p.add_argument("--only", default="", help="comma-separated substrings of fault names")
    p.add_argument("--keep", action="store_true", help="keep the logs")
    p.add_argument("--soak", type=float, default=0,
                   help="minutes of soak (migrations every minute, a restart every 5) instead "
                        "of the faults")
    p.add_argument("--quick", action="store_true",
                   help="the CI check: 3 s steady, 8 s observed, 8 s of delay-loss; exit 77 when "
                        "the machine cannot run it, 1 when a fault broke a rule")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.steady, args.observe, args.impaired = 3, 8, 8
        args.only = args.only or "worker,restart,leader,etcd,partition,delay"
    if args.inner:
        return inner(args)
    skip = 77 if args.quick else 0
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("chaos: skipped: needs root, unshare and ip (network namespaces)")
        return skip
    if not shutil.which("etcd"):
        print("chaos: skipped: etcd is not installed (scripts/setup.sh installs etcd-server)")
        return skip
    if subprocess.call(["unshare", "--net", "true"]) != 0:
        print("chaos: skipped: this machine does not allow network namespaces")
        return skip
    args.out = os.path.abspath(args.out)
    env = dict(os.environ, EPARA_CHAOS_COMMAND="python3 " + " ".join(sys.argv))
    return subprocess.call(["unshare", "--net", sys.executable, os.path.abspath(__file__),
                            "--inner"] + sys.argv[1:], env=env)


if __name__ == "__main__":
    sys.exit(main())
