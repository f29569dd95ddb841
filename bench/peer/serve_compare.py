#!/usr/bin/env python3
"""epara serve vs llama-server on the same GGUF file: concurrent streams through the OpenAI API.

  bench/peer/serve_compare.py --gguf MODEL.gguf --llama-server PATH [--epara build/epara]
      [--streams 1,4,16] [--rounds 3] [--threads 2] [--max-tokens 64] [--out FILE.json]

For each stream count and round (servers in alternating order, one at a time on a free loopback
port, stopped by PID), N clients send prompts of one length, each its own (no prompt-cache reuse
across requests), to /v1/completions at once with
"stream": true, "ignore_eos": true, "max_tokens": M and temperature 0, and time their first
content event (time to first token) and the end. Reported per server: aggregate completion tokens/s
(the completion tokens the usage reports / wall time of the batch) and TTFT p50, medians over rounds, and the ratios epara / llama.cpp.

Both servers get the same KV-cache memory: llama-server a context of 1024 tokens per slot (-c
streams * 1024, -np streams), epara the megabytes those tokens take at the same KV type
(llm.kv_cache_mb, from the file's layer count, KV heads and head size). With epara's default of
256 MB instead, only ~7,000 tokens (f16) fit and the 16-stream batch queued for memory.
"""
import argparse, json, os, shutil, socket, statistics, struct, subprocess, sys, tempfile, threading, time
import urllib.request


def gguf_kv_bytes_per_token(path, kv_bytes):
    """KV-cache bytes per token of a llama GGUF: 2 (K, V) x layers x KV heads x head size."""
    meta = {}
    with open(path, "rb") as f:
        def rd(fmt):
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]
        def string():
            return f.read(rd("Q")).decode("utf-8", "replace")
        sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
        def value(t):
            if t == 8:
                return string()
            if t == 9:
                et, n = rd("I"), rd("Q")
                if et in (8, 9):
                    return [value(et) for _ in range(n)]
                f.seek(n * struct.calcsize(sizes[et]), 1)  # numeric arrays (scores, types): skipped
                return None
            return rd(sizes[t])
        if f.read(4) != b"GGUF":
            sys.exit(f"{path}: not a GGUF file")
        rd("I")
        rd("Q")
        for _ in range(rd("Q")):
            key = string()
            meta[key] = value(rd("I"))
    arch = meta.get("general.architecture", "llama")
    layers = meta[f"{arch}.block_count"]
    heads = meta[f"{arch}.attention.head_count"]
    kv_heads = meta.get(f"{arch}.attention.head_count_kv", heads)
    head_dim = meta.get(f"{arch}.attention.key_length", meta[f"{arch}.embedding_length"] // heads)
    return 2 * layers * kv_heads * head_dim * kv_bytes


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(port, path, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return True
        except Exception:
            time.sleep(0.2)
    return False


def one_stream(port, model, prompt, max_tokens, out, i):
    body = json.dumps({"model": model, "prompt": f"p{i:03d} {prompt}", "max_tokens": max_tokens,
                       "temperature": 0, "ignore_eos": True, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.time()
    ttft = None
    tokens = None
    with urllib.request.urlopen(req, timeout=600) as r:
        for line in r:
            line = line.decode("utf-8", "replace").strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            ev = json.loads(line[6:])
            if ev.get("usage"):
                tokens = ev["usage"].get("completion_tokens")
            if ttft is None and ev.get("choices") and ev["choices"][0].get("text"):
                ttft = time.time() - t0
    out[i] = (ttft if ttft is not None else time.time() - t0, time.time() - t0,
              tokens if tokens is not None else max_tokens)


def run_batch(port, model, prompt, streams, max_tokens):
    """Aggregate completion tokens/s and TTFT p50 of `streams` concurrent requests. Each request's
    prompt starts with its own tag, so no server reuses another request's prompt cache."""
    out = [None] * streams
    threads = [threading.Thread(target=one_stream, args=(port, model, prompt, max_tokens, out, i))
               for i in range(streams)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    return sum(o[2] for o in out) / wall, statistics.median(o[0] for o in out)


def start(kind, args, port, repo):
    if kind == "epara":
        cmd = [args.epara, "serve", "--models", repo, "--port", str(port)]
        ready = "/v1/models"
    else:
        cmd = [args.llama_server, "-m", args.gguf, "-t", str(args.threads), "--host", "127.0.0.1",
               "--port", str(port), "-c", str(max(s for s in args.streams) * 1024), "-np",
               str(max(s for s in args.streams))] + (["-ctk", "f32", "-ctv", "f32"] if args.f32_kv else [])
        ready = "/health"
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_ready(port, ready):
        p.terminate()
        p.wait()
        sys.exit(f"{kind} did not start: {' '.join(cmd)}")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("--epara", default="build/epara")
    ap.add_argument("--streams", default="1,4,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompt-words", type=int, default=100)
    ap.add_argument("--f32-kv", action="store_true",
                    help="both servers with an F32 KV cache (default: their own defaults, f16 on both)")
    ap.add_argument("--out")
    args = ap.parse_args()
    args.streams = [int(s) for s in args.streams.split(",")]
    repo = tempfile.mkdtemp(prefix="epara_serve_compare_")
    os.makedirs(f"{repo}/m")
    os.symlink(os.path.abspath(args.gguf), f"{repo}/m/model.gguf")
    kv_tokens = max(args.streams) * 1024  # llama-server's -c
    kv_mb = -(-kv_tokens * gguf_kv_bytes_per_token(args.gguf, 4 if args.f32_kv else 2) // (1 << 20))
    with open(f"{repo}/m/model.yaml", "w") as f:
        kv = "f32" if args.f32_kv else "f16"
        f.write(f"name: m\ntask: llm\nartifacts: [model.gguf]\n"
                f"llm: {{threads: {args.threads}, kv_cache_dtype: {kv}, kv_cache_mb: {kv_mb}}}\n")
    prompt = " ".join(["word"] * args.prompt_words)
    results = {n: {"epara": [], "llama_cpp": []} for n in args.streams}
    try:
        for r in range(args.rounds):
            order = ["epara", "llama_cpp"] if r % 2 == 0 else ["llama_cpp", "epara"]
            for kind in order:
                port = free_port()
                p = start("epara" if kind == "epara" else "llama", args, port, repo)
                try:
                    run_batch(port, "m", "warm " + prompt, 1, 4)  # warm-up
                    for n in args.streams:
                        tps, ttft = run_batch(port, "m", f"r{r}n{n:02d} " + prompt, n,
                                              args.max_tokens)
                        results[n][kind].append({"tokens_per_s": tps, "ttft_p50_s": ttft})
                        print(f"round {r} {kind:9s} {n:2d} streams: {tps:7.1f} tokens/s, "
                              f"TTFT p50 {ttft * 1e3:7.1f} ms", file=sys.stderr)
                finally:
                    p.terminate()
                    p.wait()
    finally:
        shutil.rmtree(repo, ignore_errors=True)
    summary = {}
    for n, sides in results.items():
        med = {k: {"tokens_per_s": statistics.median(x["tokens_per_s"] for x in v),
                   "ttft_p50_s": statistics.median(x["ttft_p50_s"] for x in v)}
               for k, v in sides.items()}
        summary[str(n)] = dict(med, tokens_per_s_ratio=med["epara"]["tokens_per_s"] /
                               med["llama_cpp"]["tokens_per_s"],
                               ttft_ratio=med["epara"]["ttft_p50_s"] / med["llama_cpp"]["ttft_p50_s"])
    result = {"benchmark": "serve_compare", "gguf": os.path.basename(args.gguf),
              "kv_cache": "f32 on both" if args.f32_kv else "f16 on both (both defaults)",
              "kv_cache_tokens": kv_tokens, "epara_kv_cache_mb": kv_mb,
              "threads": args.threads, "max_tokens": args.max_tokens,
              "prompt": f"'word' x {args.prompt_words}", "rounds": args.rounds,
              "per_round": {str(n): v for n, v in results.items()}, "summary": summary}
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
