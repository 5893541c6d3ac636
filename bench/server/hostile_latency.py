#!/usr/bin/env python3
"""Normal-request latency of `gemma4 serve` alone and beside hostile clients, on 127.0.0.1 only.

One client sends normal chat completions (8 tokens) one after another. In alternating windows it
runs alone, then beside hostile senders in separate processes (so the Python clients do not share
one interpreter lock with the measured client): malformed JSON, oversized prompts (2 MiB), streams
aborted after the first chunk and bodies cut off half way, at an offered total rate. The bodies are
built once, before the first window, so the senders spend their time sending. It prints the normal
p50 alone and loaded per window pair, their ratio, and the hostile requests actually answered per
second.

  python3 bench/server/hostile_latency.py --binary build/gemma4 --model tests/data/tiny-a
  python3 bench/server/hostile_latency.py ... --rate 40 --kinds oversized --pairs 5 --json
Python standard library only; the server is started as scripts/soak.py starts it.
"""
import argparse
import json
import multiprocessing
import os
import random
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import soak  # noqa: E402  (the server launcher, request helper and normal bodies are shared)

KIND_WEIGHTS = {"malformed": 15, "oversized": 10, "aborted": 10, "half_sent": 10}


def prebuilt_bodies(seed):
    """Each hostile kind's bodies as (path, bytes, declared Content-Length or None, reads_answer)."""
    rng = random.Random(seed)
    size = soak.OVERSIZED_BYTES
    words = ["alpha", "beta", "gamma", "delta", "tokens", "context", "limit", "the"]
    text_words = " ".join(rng.choice(words) for _ in range(size // 6))
    chat = "/v1/chat/completions"
    garbage = bytes(rng.randrange(256) for _ in range(4096))
    malformed = []
    for n in (10, 1000, 64 << 10, 1 << 20, 2 << 20):
        malformed += [
            (chat, b'{"messages":[{"role":"user","content":"' + b"x" * n, None, True),
            (chat, b'{"messages":[' + garbage * (n // 4096 + 1), None, True),
            (chat, b"[" * min(n, 1 << 20), None, True),
            (chat, json.dumps({"messages": "x" * n}).encode(), None, True),
        ]
    oversized = [
        (chat, json.dumps({"messages": [{"role": "user", "content": "x" * size}], "max_tokens": 4}).encode(), None, True),
        (chat, json.dumps({"messages": [{"role": "user", "content": text_words}], "max_tokens": 4}).encode(), None, True),
        ("/v1/completions", json.dumps({"prompt": "x" * size, "max_tokens": 4}).encode(), None, True),
        ("/v1/completions", json.dumps({"prompt": text_words, "max_tokens": 4}).encode(), None, True),
    ]
    aborted = []
    half_sent = []
    for i in range(8):
        body = json.dumps(soak.chat_body(random.Random(i), stream=True, max_tokens=400)).encode()
        aborted.append((chat, body, None, "first"))
        small = json.dumps(soak.chat_body(random.Random(100 + i))).encode()
        half_sent.append((chat, small[: len(small) // 2] + b"x" * rng.randrange(1 << 16), len(small) + (1 << 20), False))
    return {"malformed": malformed, "oversized": oversized, "aborted": aborted, "half_sent": half_sent}


def send(port, path, body, content_length, reads_answer):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body) if content_length is None else content_length}\r\n"
                "Connection: close\r\n\r\n")
        s.sendall(head.encode() + body)
        if reads_answer == "first":
            s.recv(4096)
        elif reads_answer:
            while s.recv(65536):
                pass
    finally:
        s.close()


def hostile_process(port, kinds, rate, threads, seed, start_event, stop_event, counter):
    bodies = prebuilt_bodies(seed)
    names = list(kinds)
    weights = [KIND_WEIGHTS[k] for k in names]
    start_event.wait()

    def loop(i):
        rng = random.Random(seed * 100 + i)
        interval = threads / rate
        due = time.perf_counter() + rng.random() * interval
        while not stop_event.is_set():
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            due = max(due + interval, time.perf_counter() - interval)
            kind = rng.choices(names, weights)[0]
            try:
                send(port, *rng.choice(bodies[kind]))
                with counter.get_lock():
                    counter.value += 1
            except OSError:
                pass

    pool = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def normal_window(port, seconds, rng):
    samples = []
    until = time.time() + seconds
    while time.time() < until:
        started = time.perf_counter()
        status, _ = soak.request(port, "POST", "/v1/chat/completions", soak.chat_body(rng))
        if status == 200:
            samples.append(time.perf_counter() - started)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rate", type=float, default=40, help="offered hostile requests per second, all senders")
    parser.add_argument("--kinds", default=",".join(KIND_WEIGHTS), help="hostile kinds, comma-separated")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="sender threads per process")
    parser.add_argument("--pairs", type=int, default=3, help="alone/loaded window pairs")
    parser.add_argument("--seconds", type=float, default=5, help="length of each window")
    parser.add_argument("--serve-arg", action="append", help="an extra `gemma4 serve` argument (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KIND_WEIGHTS]
    if unknown:
        parser.error(f"unknown kind {unknown[0]} (choose from {', '.join(KIND_WEIGHTS)})")

    server = soak.Server(args)
    rng = random.Random(7)
    report = {"rate_offered": args.rate, "kinds": kinds, "serve_args": args.serve_arg or [], "pairs": []}
    try:
        normal_window(server.port, 1, rng)  # warm-up
        for pair in range(args.pairs):
            alone = normal_window(server.port, args.seconds, rng)
            start, stop = multiprocessing.Event(), multiprocessing.Event()
            counter = multiprocessing.Value("i", 0)
            per_process = args.rate / args.processes
            senders = [multiprocessing.Process(target=hostile_process, daemon=True,
                                               args=(server.port, kinds, per_process, args.threads,
                                                     pair * 10 + p, start, stop, counter))
                       for p in range(args.processes)]
            for s in senders:
                s.start()
            time.sleep(3)  # the senders build their bodies
            start.set()
            time.sleep(0.5)
            loaded = normal_window(server.port, args.seconds, rng)
            stop.set()
            for s in senders:
                s.join(30)
            alone_p50 = statistics.median(alone) * 1000
            loaded_p50 = statistics.median(loaded) * 1000
            report["pairs"].append({"alone_p50_ms": round(alone_p50, 2), "loaded_p50_ms": round(loaded_p50, 2),
                                    "ratio": round(loaded_p50 / alone_p50, 2),
                                    "hostile_done_per_s": round(counter.value / (args.seconds + 0.5), 1)})
        report["median_ratio"] = statistics.median(p["ratio"] for p in report["pairs"])
    finally:
        server.stop()
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"hostile {','.join(kinds)} at {args.rate:g}/s offered")
        for p in report["pairs"]:
            print(f"  alone p50 {p['alone_p50_ms']:7.2f} ms  loaded p50 {p['loaded_p50_ms']:7.2f} ms  "
                  f"ratio {p['ratio']:5.2f}  hostile answered {p['hostile_done_per_s']}/s")
        print(f"median ratio {report['median_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
