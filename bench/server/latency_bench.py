#!/usr/bin/env python3
"""Latency the HTTP layer adds on top of the engine (Python standard library only).

Measures, against `gemma4 serve` (started here, or already running with --url):
  1. kept-alive request latency: N sequential GET /health and N one-token chat completions on one
     reused connection, client-side p50/p99, next to the server's own handling time taken from its
     access log (only when this script starts the server);
  2. SSE inter-chunk gaps: streamed chat completions, the client-side gap between consecutive content
     chunks, next to the engine-side gap between the same tokens, which the server observes at its
     token callbacks and exports as gemma4_inter_token_latency_seconds (/metrics, delta over the run);
  3. a crowded server: --idle kept-alive connections left idle and --slow clients sending a body
     slowly, while GET /health (fresh connection each) and a 2 MB POST are timed.

Usage (from the repository root, after building the gemma4 target):
  python3 bench/server/latency_bench.py --binary build/gemma4 --model tests/data/tiny-a
  python3 bench/server/latency_bench.py --url http://127.0.0.1:8080 [--api-key KEY]
"""
import argparse
import http.client
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ACCESS_LOG = re.compile(r'"(GET|POST) (\S+)" (\d+) ([0-9.]+) ms')


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[rank]


def summary(values):
    return {"n": len(values), "p50": percentile(values, 0.50), "p99": percentile(values, 0.99),
            "mean": statistics.fmean(values) if values else float("nan")}


class Server:
    """gemma4 serve on a free port, its stderr (the access log) kept in a temporary file."""

    def __init__(self, binary, model, extra):
        self.log = tempfile.NamedTemporaryFile(mode="w+", prefix="gemma4-serve-", suffix=".log")
        cmd = [binary, "serve", "--model", model, "--port", "0", *extra]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)
        self.port = self._wait_for_port()
        self._wait_until_healthy()

    def _wait_for_port(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = re.search(r"listening on http://[^:]+:(\d+)", self.log_text())
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                sys.exit("error: gemma4 serve exited:\n" + self.log_text())
            time.sleep(0.05)
        sys.exit("error: gemma4 serve did not start listening within 30 s")

    def _wait_until_healthy(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.1)
        sys.exit("error: the model did not load within 120 s")

    def log_text(self):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def handling_ms(self, method, path, skip):
        """The server's own time for the matching access-log lines after the first `skip` lines."""
        lines = self.log_text().splitlines()[skip:]
        return [float(m.group(4)) for m in map(ACCESS_LOG.search, lines)
                if m and m.group(1) == method and m.group(2) == path]

    def log_lines(self):
        return len(self.log_text().splitlines())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def kept_alive_latency(host, port, headers, method, path, body, count):
    """Client-side milliseconds per request, all on one reused connection."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.connect()
    # The client's own request must not be split by Nagle's algorithm either.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    payload = json.dumps(body).encode() if body is not None else None
    for _ in range(count):
        start = time.perf_counter()
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        response.read()
        samples.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            sys.exit(f"error: {method} {path} answered {response.status}")
    connection.close()
    return samples


def metric_values(host, port, headers, name):
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/metrics", headers=headers)
    text = connection.getresponse().read().decode()
    connection.close()
    values = {}
    for suffix in ("_sum", "_count"):
        match = re.search(rf"^{name}{suffix} (\S+)$", text, re.M)
        values[suffix] = float(match.group(1)) if match else 0.0
    return values


def stream_chunk_times(host, port, headers, body):
    """Arrival time (s) of each SSE event carrying content, read off a raw socket."""
    payload = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{head}"
               f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        buffer, times, scanned = b"", [], 0
        while True:
            data = sock.recv(65536)
            now = time.perf_counter()
            if not data:
                break
            buffer += data
            # Every event completed by this read arrived now (chunk-size lines sit between events).
            while True:
                start = buffer.find(b"data: ", scanned)
                end = buffer.find(b"\n\n", start) if start >= 0 else -1
                if end < 0:
                    break
                event = buffer[start + 6:end]
                scanned = end + 2
                if event != b"[DONE]":
                    choice = json.loads(event)["choices"]
                    if choice and choice[0]["delta"].get("content"):
                        times.append(now)
    return times


def timed_fresh_request(host, port, headers, method, path, payload):
    """Milliseconds for one request on a new connection (connect included)."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=60)
    connection.request(method, path, body=payload, headers=headers)
    connection.getresponse().read()
    connection.close()
    return (time.perf_counter() - start) * 1000


def crowded(host, port, headers, idle_count, slow_count):
    """Latency of /health and of a 2 MB POST while idle and slow clients hold connections."""
    # Opened and left silent, as a client's connection pool keeps spare connections.
    idle = [socket.create_connection((host, port), timeout=60) for _ in range(idle_count)]
    slow = []
    for _ in range(slow_count):
        sock = socket.create_connection((host, port), timeout=60)
        sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 100000\r\n\r\n{{\"messages\":".encode())  # the rest never comes
        slow.append(sock)
    time.sleep(0.1)
    health = [timed_fresh_request(host, port, headers, "GET", "/health", None) for _ in range(5)]
    # 2 MB to a route that does not exist: the body is read, then 404, so only the transport is timed.
    big = b"x" * (2 << 20)
    upload = [timed_fresh_request(host, port, {**headers, "Content-Type": "text/plain"}, "POST", "/v1/nothing", big)
              for _ in range(3)]
    for c in idle:
        c.close()
    for sock in slow:
        sock.close()
    return {"idle": idle_count, "slow": slow_count, "health_ms": summary(health), "post_2mb_ms": summary(upload)}


def run(args):
    server = None
    if args.url:
        parsed = urllib.parse.urlparse(args.url)
        host, port = parsed.hostname, parsed.port or 80
    else:
        server = Server(args.binary, args.model, args.serve_arg)
        host, port = "127.0.0.1", server.port
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    one_token = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "temperature": 0}
    results = {}
    try:
        for name, method, path, body in (("health", "GET", "/health", None),
                                         ("chat_1_token", "POST", "/v1/chat/completions", one_token)):
            skip = server.log_lines() if server else 0
            kept_alive_latency(host, port, headers, method, path, body, 5)  # warm-up
            results[name] = {"client_ms": summary(kept_alive_latency(host, port, headers, method, path, body,
                                                                      args.requests))}
            if server:
                results[name]["server_ms"] = summary(server.handling_ms(method, path, skip)[-args.requests:])

        stream_body = {"messages": [{"role": "user", "content": "Tell me a story"}], "stream": True,
                       "max_tokens": args.stream_tokens, "temperature": 0, "ignore_eos": True}
        itl = "gemma4_inter_token_latency_seconds"
        before = metric_values(host, port, headers, itl)
        gaps = []
        for _ in range(args.streams):
            times = stream_chunk_times(host, port, headers, stream_body)
            gaps += [(b - a) * 1000 for a, b in zip(times, times[1:])]
        after = metric_values(host, port, headers, itl)
        engine_count = after["_count"] - before["_count"]
        engine_mean = (after["_sum"] - before["_sum"]) / engine_count * 1000 if engine_count else float("nan")
        results["stream"] = {"client_gap_ms": summary(gaps), "engine_gap_ms": {"n": int(engine_count), "mean": engine_mean}}
        if args.idle or args.slow:
            results["crowded"] = crowded(host, port, headers, args.idle, args.slow)
    finally:
        if server:
            server.stop()
    return results


def report(results):
    for name in ("health", "chat_1_token"):
        r = results[name]
        c = r["client_ms"]
        line = f"{name:14s} client p50 {c['p50']:7.3f} ms  p99 {c['p99']:7.3f} ms  (n={c['n']})"
        if "server_ms" in r:
            line += f"   server p50 {r['server_ms']['p50']:6.2f} ms  p99 {r['server_ms']['p99']:6.2f} ms"
        print(line)
    s = results["stream"]
    c, e = s["client_gap_ms"], s["engine_gap_ms"]
    print(f"{'stream gaps':14s} client p50 {c['p50']:7.3f} ms  p99 {c['p99']:7.3f} ms  mean {c['mean']:.3f} ms "
          f"(n={c['n']})   engine mean {e['mean']:.3f} ms (n={e['n']})")
    if "crowded" in results:
        r = results["crowded"]
        h, u = r["health_ms"], r["post_2mb_ms"]
        print(f"crowded ({r['idle']} idle, {r['slow']} slow): /health p50 {h['p50']:8.1f} ms  max {h['p99']:8.1f} ms"
              f"   2 MB POST p50 {u['p50']:8.1f} ms  (connect included)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="build/gemma4", help="gemma4 executable to start")
    parser.add_argument("--model", default="tests/data/tiny-a", help="model folder for the started server")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra argument for gemma4 serve")
    parser.add_argument("--url", help="benchmark this running server instead of starting one")
    parser.add_argument("--api-key", default="", help="bearer key for a server started with --api-key")
    parser.add_argument("--requests", type=int, default=200, help="kept-alive requests per kind")
    parser.add_argument("--streams", type=int, default=10, help="streamed completions")
    parser.add_argument("--stream-tokens", type=int, default=64, help="max_tokens of each stream")
    parser.add_argument("--idle", type=int, default=0, help="idle kept-alive connections for the crowded phase")
    parser.add_argument("--slow", type=int, default=0, help="slow-body clients for the crowded phase")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = run(args)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
