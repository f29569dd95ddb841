#!/usr/bin/env python3
"""A network link in user space, with delay and loss switched on and off: what `tc netem` does,
for kernels without sch_netem (this machine's; chaos.py uses it for its delay-loss fault).

It creates two TAP devices, --a and --b, in the network namespace it runs in, and copies every
Ethernet frame that one receives to the other. The caller attaches them (e.g. --a to a bridge,
--b moved into a node's namespace with that node's address): together they are one cable.
Unimpaired, a frame crosses at once. Impaired (after SIGUSR1, until SIGUSR2), each frame in
either direction is dropped with probability --loss, and the others cross --delay-ms after they
arrived, in order (a fixed delay keeps the order, as netem's delay without jitter does). The
drops come from a seeded generator (--seed): a rerun drops the same frames of the same sequence.

Prints "ready" on stdout once both devices exist; runs until SIGTERM. After each SIGUSR2 and on
exit it prints one JSON line: per direction, the frames seen, and those dropped and delayed
while impaired.

  python3 bench/chaos/link_emulator.py --a eh2 --b en2 --delay-ms 100 --loss 0.05
"""
import argparse
import collections
import fcntl
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--delay-ms", type=float, default=100)
    p.add_argument("--loss", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=27)
    args = p.parse_args()
    fds = {"a": open_tap(args.a), "b": open_tap(args.b)}
    other = {"a": "b", "b": "a"}
    state = {"impaired": False, "stop": False, "report": False}
    signal.signal(signal.SIGUSR1, lambda *_: state.update(impaired=True))
    signal.signal(signal.SIGUSR2, lambda *_: state.update(impaired=False, report=True))
    signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))
    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    queues = {"a": collections.deque(), "b": collections.deque()}  # (due, frame) toward the side
    counts = {d: {"frames": 0, "dropped": 0, "delayed": 0} for d in ("a->b", "b->a")}
    print("ready", flush=True)
    while not state["stop"]:
        if state["report"]:
            state["report"] = False
            print(json.dumps(counts), flush=True)
        now = time.monotonic()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else 0.5
        try:
            readable, _, _ = select.select(list(fds.values()), [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for side, fd in fds.items():
            if fd not in readable:
                continue
            direction = f"{side}->{other[side]}"
            for _ in range(64):  # a burst, then the other side gets its turn
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                c = counts[direction]
                c["frames"] += 1
                if state["impaired"]:
                    if rng.random() < args.loss:
                        c["dropped"] += 1
                        continue
                    c["delayed"] += 1
                    queues[other[side]].append((now + delay, frame))
                elif queues[other[side]]:  # behind frames still delayed: keep the order
                    queues[other[side]].append((now, frame))
                else:
                    try:
                        os.write(fds[other[side]], frame)
                    except OSError:
                        pass  # the device is down (a partition): the frame is lost, as on a wire
        for side, q in queues.items():
            while q and q[0][0] <= now:
                try:
                    os.write(fds[side], q.popleft()[1])
                except OSError:
                    pass
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
