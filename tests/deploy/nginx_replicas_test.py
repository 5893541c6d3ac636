#!/usr/bin/env python3
"""Three replicas of `gemma4 serve` on tests/data/tiny-a behind nginx, all on 127.0.0.1, with the
configuration deploy/nginx/render_conf.py writes. Checks, each failing with a message:
  - affinity: both turns of a conversation with X-Session-Id reach one replica (response header)
    and turn 2 hits that replica's prefix cache (usage.cached_tokens, and each replica's /metrics
    adds up to exactly what the responses report); without a key (least_conn) turn 2 mostly lands
    elsewhere and hits far less;
  - streaming through nginx: SSE events and [DONE], the same text as the non-streamed answer;
  - body limits: a body over --max-body is refused with 413;
  - rolling restart and failover: while clients keep sending, one replica is drained (SIGTERM) and
    restarted, then another is killed (SIGKILL); every request is answered 200;
  - throughput of 3 replicas against 1 is printed (not asserted: it depends on the cores).
Usage: nginx_replicas_test.py GEMMA4_BINARY REPO_ROOT
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
MODEL = os.path.join(ROOT, "tests", "data", "tiny-a")
MAX_BODY = 65536
WORK = tempfile.mkdtemp(prefix="gemma4-deploy-")


def fail(msg):
    print(f"nginx_replicas_test: FAIL: {msg}", file=sys.stderr)
    for name in sorted(os.listdir(WORK)):
        if name.endswith(".log"):
            with open(os.path.join(WORK, name), errors="replace") as f:
                tail = f.read()[-1500:]
            print(f"--- {name} (tail)\n{tail}", file=sys.stderr)
    raise SystemExit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, payload


class Replica:
    def __init__(self, port):
        self.port, self.proc, self.starts = port, None, 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(WORK, f"replica-{self.port}-{self.starts}.log"), "w")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--model", MODEL, "--dtype", "f32", "--threads", "1", "--parallel", "2",
             "--port", str(self.port), "--max-body", str(MAX_BODY), "--drain-seconds", "5",
             "--model-alias", "tiny-a"], stdout=log, stderr=log)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail(f"replica {self.port} exited with {self.proc.returncode} while loading")
            try:
                if request(self.port, "GET", "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        fail(f"replica {self.port} not ready after {timeout} s")

    def metrics(self):
        status, _, body = request(self.port, "GET", "/metrics")
        if status != 200:
            fail(f"/metrics of {self.port}: {status}")
        values = {}
        for line in body.decode().splitlines():
            m = re.match(r"^(gemma4_[a-z_]+) ([0-9.e+]+)$", line)
            if m:
                values[m.group(1)] = float(m.group(2))
        return values


def start_nginx(port, replicas):
    conf = os.path.join(WORK, "nginx.conf")
    with open(conf, "w") as f:
        subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "nginx", "render_conf.py"),
                        "--listen", f"127.0.0.1:{port}", "--max-body", str(MAX_BODY), "--standalone", WORK]
                       + sum((["--replica", f"127.0.0.1:{r.port}"] for r in replicas), []), stdout=f, check=True)
    log = open(os.path.join(WORK, "nginx-stderr.log"), "w")
    proc = subprocess.Popen(["nginx", "-p", WORK, "-c", conf, "-e", os.path.join(WORK, "error.log"),
                             "-g", "daemon off;"], stdout=log, stderr=log)
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"nginx exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    fail("nginx did not listen")


def chat(port, messages, key=None, max_tokens=8, stream=False):
    body = {"model": "tiny-a", "messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": stream}
    headers = {"X-Session-Id": key} if key else {}
    return request(port, "POST", "/v1/chat/completions", body, headers)


def user_turn(tag, i):
    # Long and different from the start, so only a conversation's own turns share cache blocks.
    return f"{tag} {i}: " + " ".join(f"word{i}x{j}" for j in range(24))


def conversation(port, tag, i, key):
    first = [{"role": "user", "content": user_turn(tag, i)}]
    s1, h1, b1 = chat(port, first, key)
    if s1 != 200:
        fail(f"{tag} {i} turn 1: {s1} {b1[:200]}")
    reply = json.loads(b1)["choices"][0]["message"]["content"]
    second = first + [{"role": "assistant", "content": reply}, {"role": "user", "content": f"And then {i}?"}]
    s2, h2, b2 = chat(port, second, key)
    if s2 != 200:
        fail(f"{tag} {i} turn 2: {s2} {b2[:200]}")
    u1, u2 = json.loads(b1)["usage"], json.loads(b2)["usage"]
    return {"replicas": (h1.get("x-gemma4-replica"), h2.get("x-gemma4-replica")),
            "prompt1": u1["prompt_tokens"],
            "cached": u1["prompt_tokens_details"]["cached_tokens"] + u2["prompt_tokens_details"]["cached_tokens"],
            "cached2": u2["prompt_tokens_details"]["cached_tokens"]}


def cached_total(replicas):
    return sum(r.metrics().get("gemma4_prompt_tokens_cached_total", 0) for r in replicas)


def check_affinity(lb, replicas):
    before = cached_total(replicas)
    keyed = [conversation(lb, "Keyed", i, f"conv-{i}") for i in range(12)]
    for i, c in enumerate(keyed):
        if c["replicas"][0] != c["replicas"][1] or c["replicas"][0] is None:
            fail(f"conversation conv-{i} moved between replicas: {c['replicas']}")
        if c["cached2"] < 16:
            fail(f"conversation conv-{i}: turn 2 reused {c['cached2']} cached tokens of a {c['prompt1']}-token turn 1")
    used = {c["replicas"][0] for c in keyed}
    if len(used) < 2:
        fail(f"12 session keys all hashed to one replica: {used}")
    keyed_cached = sum(c["cached"] for c in keyed)
    after = cached_total(replicas)
    if after - before != keyed_cached:
        fail(f"replicas' /metrics count {after - before} cached prompt tokens, responses {keyed_cached}")

    unkeyed = [conversation(lb, "Unkeyed", i, None) for i in range(12)]
    unkeyed_cached = sum(c["cached"] for c in unkeyed)
    moved = sum(c["replicas"][0] != c["replicas"][1] for c in unkeyed)
    if unkeyed_cached * 2 >= keyed_cached:
        fail(f"without keys turn 2 hit {unkeyed_cached} cached tokens, with keys {keyed_cached}")
    print(f"affinity: 12 keyed conversations on {len(used)} replicas, turn 2 cached {keyed_cached} tokens; "
          f"12 without a key (least_conn): {moved} moved replica, cached {unkeyed_cached}")


def check_streaming(lb):
    messages = [{"role": "user", "content": user_turn("Stream", 0)}]
    status, _, body = chat(lb, messages, "stream-key", max_tokens=24)
    if status != 200:
        fail(f"non-streamed answer: {status}")
    expected = json.loads(body)["choices"][0]["message"]["content"]

    conn = http.client.HTTPConnection("127.0.0.1", lb, timeout=30)
    conn.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json", "X-Session-Id": "stream-key"},
                 body=json.dumps({"model": "tiny-a", "messages": messages, "max_tokens": 24, "temperature": 0, "stream": True}))
    r = conn.getresponse()
    if r.status != 200 or not r.getheader("Content-Type", "").startswith("text/event-stream"):
        fail(f"stream through nginx: {r.status} {r.getheader('Content-Type')}")
    events, text, done = 0, "", False
    for raw in r:  # line by line as nginx forwards them
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            done = True
            break
        events += 1
        for choice in json.loads(line[6:])["choices"]:
            text += choice.get("delta", {}).get("content") or ""
    conn.close()
    if not done or events < 3:
        fail(f"stream through nginx: {events} events, [DONE] {'seen' if done else 'missing'}")
    if text != expected:
        fail(f"streamed text {text!r} differs from the answer {expected!r}")
    print(f"streaming: {events} events through nginx, text equal to the non-streamed answer")


def check_body_limit(lb):
    big = {"messages": [{"role": "user", "content": "x" * (MAX_BODY + 1)}]}
    status, _, _ = request(lb, "POST", "/v1/chat/completions", big)
    if status != 413:
        fail(f"a body over --max-body through nginx: {status}, expected 413")


def throughput(port, requests=18, concurrency=6):
    done, errors, lock = [0], [], threading.Lock()
    queue = list(range(requests))

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            status, _, body = chat(port, [{"role": "user", "content": user_turn("Load", i)}], None, max_tokens=32)
            with lock:
                if status != 200:
                    errors.append(status)
                else:
                    done[0] += json.loads(body)["usage"]["completion_tokens"]

    start = time.time()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail(f"{len(errors)} throughput requests failed: {errors[:5]}")
    return done[0] / (time.time() - start)


def check_restart_and_failover(lb, replicas):
    results, stop = [], threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            key = f"conv-{(i + n) % 12}" if i % 2 == 0 else None
            try:
                status = chat(lb, [{"role": "user", "content": user_turn(f"Client{n}", i)}], key, max_tokens=4)[0]
            except Exception as e:  # a reset or a malformed answer is a failed request, not a crash
                status = repr(e)
            results.append(status)
            i += 1

    clients = [threading.Thread(target=client, args=(n,)) for n in range(3)]
    for t in clients:
        t.start()
    time.sleep(1)
    drained = replicas[0]
    drained.proc.send_signal(signal.SIGTERM)
    if drained.proc.wait(timeout=20) != 0:
        fail(f"drained replica exited with {drained.proc.returncode}")
    during_drain = len(results)
    drained.start()
    drained.wait_ready()
    time.sleep(1)
    killed = replicas[1]
    killed.proc.kill()
    killed.proc.wait()
    time.sleep(2)
    stop.set()
    for t in clients:
        t.join()
    bad = [s for s in results if s != 200]
    if bad:
        fail(f"{len(bad)} of {len(results)} requests failed during drain/restart/kill: {bad[:5]}")
    if len(results) - during_drain < 10:
        fail(f"only {len(results) - during_drain} requests ran after the drain")
    # What nginx retried on another replica (informational: how many depends on timing).
    with open(os.path.join(WORK, f"replica-{drained.port}-1.log"), errors="replace") as f:
        drained_503 = sum(1 for line in f if '" 503 ' in line)
    with open(os.path.join(WORK, "error.log"), errors="replace") as f:
        log = f.read()
    refused_or_reset = log.count("Connection refused") + log.count("Connection reset")
    print(f"rolling restart + failover: {len(results)} requests, all 200; the draining replica answered "
          f"{drained_503} with 503 and nginx resent them, {refused_or_reset} refused or reset connections resent")


def main():
    replicas = [Replica(free_port()) for _ in range(3)]
    lb_port = free_port()
    nginx = None
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        nginx = start_nginx(lb_port, replicas)
        check_affinity(lb_port, replicas)
        check_streaming(lb_port)
        check_body_limit(lb_port)
        one, three = throughput(replicas[2].port), throughput(lb_port)
        print(f"throughput (tiny-a, 6 concurrent clients, {os.cpu_count()} cores): 1 replica {one:.0f} tok/s, "
              f"3 replicas behind nginx {three:.0f} tok/s ({three / one:.2f}x)")
        check_restart_and_failover(lb_port, replicas)
        print("nginx_replicas_test: ok")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for r in replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()
        if not os.environ.get("KEEP_WORK"):
            subprocess.run(["rm", "-rf", WORK])


if __name__ == "__main__":
    main()
