#!/usr/bin/env python3
"""Soak test: hostile and normal traffic against a real `gemma4 serve`, on 127.0.0.1 only.

Client loops mix normal and streaming chat requests, streams aborted after the first chunk,
malformed JSON, oversized prompts (2 MiB of one character, 2 MB of words), bodies cut off half
way, and bursts past --parallel + --max-queue. After a warm-up, two equal rounds run; the test
fails when
  * the server's RSS after round 2 exceeds RSS after round 1 by more than 5 % + 32 MiB,
  * a well-formed request gets anything but an answer (or the expected 400 for an oversized
    prompt) or a 429, or a malformed one anything but a 400,
  * /metrics does not return to idle (nothing running or waiting, no KV blocks in use).
It also reports the p50 latency of normal requests alone and under the mixed load.

  scripts/soak.py --binary build/gemma4 --model tests/data/tiny-a            # short form, ~20 s
  scripts/soak.py --binary build/gemma4 --model tests/data/tiny-a --long     # 60 s rounds
Python standard library only.
"""
import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time

OVERSIZED_BYTES = 2 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Server:
    def __init__(self, args):
        self.port = free_port()
        cmd = [args.binary, "serve", "--model", args.model, "--dtype", "f32", "--host", "127.0.0.1",
               "--port", str(self.port), "--parallel", "4", "--max-queue", "16", "--threads", "2"]
        cmd += getattr(args, "serve_arg", None) or []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.log = []
        threading.Thread(target=self._drain_log, daemon=True).start()
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("gemma4 serve exited:\n" + "".join(self.log))
            if time.time() > deadline:
                raise RuntimeError("gemma4 serve did not become healthy")
            try:
                if request(self.port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)

    def _drain_log(self):
        for line in self.proc.stderr:
            if len(self.log) < 2000:
                self.log.append(line.decode(errors="replace"))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def request(port, method, path, body=None, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def chat_body(rng, stream=False, max_tokens=8):
    return {"messages": [{"role": "user", "content": f"Tell me about the number {rng.randrange(1000)}."}],
            "max_tokens": max_tokens, "temperature": 0.7, "seed": rng.randrange(1 << 30), "stream": stream}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.normal_latency = []

    def add(self, kind, outcome, ok, detail=""):
        with self.lock:
            key = f"{kind}:{outcome}"
            self.counts[key] = self.counts.get(key, 0) + 1
            if not ok and len(self.failures) < 20:
                self.failures.append(f"{kind}: {outcome} {detail[:300]}")


def expect(tally, kind, status, payload, allowed):
    ok = status in allowed
    tally.add(kind, str(status), ok, payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload))
    return ok


def normal(port, rng, tally):
    started = time.perf_counter()
    status, payload = request(port, "POST", "/v1/chat/completions", chat_body(rng))
    if status == 200:
        answer = json.loads(payload)
        if "content" not in answer["choices"][0]["message"]:
            tally.add("normal", "no-content", False, payload.decode())
            return
        with tally.lock:
            tally.normal_latency.append(time.perf_counter() - started)
    expect(tally, "normal", status, payload, (200, 429))


def streaming(port, rng, tally):
    status, payload = request(port, "POST", "/v1/chat/completions", chat_body(rng, stream=True))
    if status == 200 and not payload.rstrip().endswith(b"data: [DONE]"):
        tally.add("stream", "no-[DONE]", False, payload.decode(errors="replace")[-300:])
        return
    expect(tally, "stream", status, payload, (200, 429))


def raw_post(port, path, body, content_length=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if content_length is None else content_length}\r\n\r\n")
    s.sendall(head.encode() + body)
    return s


def aborted_stream(port, rng, tally):
    s = raw_post(port, "/v1/chat/completions", json.dumps(chat_body(rng, stream=True, max_tokens=400)).encode())
    try:
        first = s.recv(4096)
    finally:
        s.close()
    status = first.split(b" ", 2)[1].decode() if first.startswith(b"HTTP/1.1 ") else "no-status"
    tally.add("aborted", status, status in ("200", "429"), first.decode(errors="replace"))


def malformed(port, rng, tally):
    size = rng.choice([10, 1000, 64 << 10, 1 << 20, 2 << 20])
    pick = rng.randrange(4)
    if pick == 0:  # cut off inside a long string
        body = b'{"messages":[{"role":"user","content":"' + b"x" * size
    elif pick == 1:  # garbage after a valid prefix
        body = b'{"messages":[' + bytes(rng.randrange(256) for _ in range(min(size, 4096))) * (size // 4096 + 1)
    elif pick == 2:  # deep nesting, never closed
        body = b"[" * min(size, 1 << 20)
    else:  # valid JSON, wrong shape
        body = json.dumps({"messages": "x" * size}).encode()
    status, payload = request(port, "POST", "/v1/chat/completions", body)
    expect(tally, "malformed", status, payload, (400,))


def oversized(port, rng, tally):
    if rng.randrange(2):
        text = "x" * OVERSIZED_BYTES
    else:
        words = ["alpha", "beta", "gamma", "delta", "tokens", "context", "limit", "the"]
        text = " ".join(rng.choice(words) for _ in range(OVERSIZED_BYTES // 6))
    if rng.randrange(2):
        path, body = "/v1/chat/completions", {"messages": [{"role": "user", "content": text}], "max_tokens": 4}
    else:
        path, body = "/v1/completions", {"prompt": text, "max_tokens": 4}
    status, payload = request(port, "POST", path, body)
    if status == 400 and json.loads(payload)["error"].get("code") != "context_length_exceeded":
        tally.add("oversized", "wrong-code", False, payload.decode())
        return
    expect(tally, "oversized", status, payload, (400, 429))


def half_sent(port, rng, tally):
    body = json.dumps(chat_body(rng)).encode()
    s = raw_post(port, "/v1/chat/completions", body[: len(body) // 2] + b"x" * rng.randrange(1 << 16),
                 content_length=len(body) + (1 << 20))
    s.close()
    tally.add("half-sent", "closed", True)


def burst(port, rng, tally):
    seeds = [rng.randrange(1 << 30) for _ in range(40)]
    threads = [threading.Thread(target=normal_burst_one, args=(port, random.Random(s), tally)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def normal_burst_one(port, rng, tally):
    status, payload = request(port, "POST", "/v1/chat/completions", chat_body(rng, max_tokens=48))
    expect(tally, "burst", status, payload, (200, 429))


MIX = [(normal, 40), (streaming, 15), (aborted_stream, 10), (malformed, 15), (oversized, 10), (half_sent, 10)]


def client_loop(port, seed, until, tally, kinds):
    rng = random.Random(seed)
    funcs = [k for k, _ in kinds]
    weights = [w for _, w in kinds]
    while time.time() < until:
        kind = rng.choices(funcs, weights)[0]
        try:
            kind(port, rng, tally)
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            tally.add(kind.__name__, type(e).__name__, False, str(e))


def run_round(port, seconds, loops, seed, kinds, with_burst):
    tally = Tally()
    until = time.time() + seconds
    threads = [threading.Thread(target=client_loop, args=(port, seed * 1000 + i, until, tally, kinds))
               for i in range(loops)]
    for t in threads:
        t.start()
    if with_burst:
        rng = random.Random(seed)
        while time.time() < until - 1:
            burst(port, rng, tally)
            time.sleep(min(2.0, max(0.0, until - time.time() - 1)))
    for t in threads:
        t.join()
    return tally


def metrics_idle(port, timeout=15):
    deadline = time.time() + timeout
    values = {}
    while time.time() < deadline:
        status, text = request(port, "GET", "/metrics")
        values = {}
        for line in text.decode().splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        if all(values.get(n, -1) == 0 for n in ("gemma4_requests_running", "gemma4_requests_waiting",
                                                 "gemma4_kv_blocks_used")):
            return True, values
        time.sleep(0.2)
    return False, values


def p50_ms(samples):
    return round(statistics.median(samples) * 1000, 1) if samples else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--long", action="store_true", help="60 s rounds with 24 client loops")
    parser.add_argument("--round-seconds", type=float, help="length of each of the two measured rounds")
    parser.add_argument("--loops", type=int, help="client loops")
    parser.add_argument("--only", help="comma-separated kinds of the mix to run (normal, streaming, "
                        "aborted_stream, malformed, oversized, half_sent), to find what grows memory")
    parser.add_argument("--no-burst", action="store_true", help="no bursts past the queue")
    parser.add_argument("--margin-mib", type=float, default=32, help="allowed RSS growth besides 5 %%")
    args = parser.parse_args()
    seconds = args.round_seconds or (60 if args.long else 6)
    loops = args.loops or (24 if args.long else 12)

    mix = [(k, w) for k, w in MIX if not args.only or k.__name__ in args.only.split(",")]
    with_burst = not args.no_burst
    server = Server(args)
    failures = []
    report = {"round_seconds": seconds, "loops": loops}
    try:
        quiet = run_round(server.port, min(seconds / 2, 10), 4, 1, [(normal, 1)], False)
        report["normal_p50_ms_alone"] = p50_ms(quiet.normal_latency)
        report["rss_mib_after_normal_warmup"] = round(rss_bytes(server.proc.pid) / 2**20, 1)
        run_round(server.port, min(seconds / 2, 10), loops, 2, mix, with_burst)  # warm-up of the full mix
        rss = []
        for r in (3, 4):
            tally = run_round(server.port, seconds, loops, r, mix, with_burst)
            idle, values = metrics_idle(server.port)
            if not idle:
                failures.append(f"round {r - 2}: /metrics not idle: {values}")
            rss.append(rss_bytes(server.proc.pid))
            report[f"round{r - 2}"] = {"rss_mib": round(rss[-1] / 2**20, 1), "counts": tally.counts,
                                       "normal_p50_ms": p50_ms(tally.normal_latency)}
            failures += [f"round {r - 2}: {f}" for f in tally.failures]
        allowed = rss[0] * 1.05 + args.margin_mib * 2**20
        report["rss_allowed_mib"] = round(allowed / 2**20, 1)
        if rss[1] > allowed:
            failures.append(f"RSS grew from {rss[0] / 2**20:.1f} MiB to {rss[1] / 2**20:.1f} MiB "
                            f"(allowed {allowed / 2**20:.1f})")
        if server.proc.poll() is not None:
            failures.append(f"server exited with {server.proc.returncode}")
    finally:
        server.stop()
    print(json.dumps(report, indent=1))
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        print("".join(server.log[-30:]), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
