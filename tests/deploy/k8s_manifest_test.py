#!/usr/bin/env python3
"""Checks deploy/k8s/gemma4.yaml without a cluster: it parses, has the Deployment, Service, Ingress
and ConfigMap, its probes ask /health on the container's port, the grace period covers the
preStop sleep plus --drain-seconds, the Service targets the container port, and the Ingress body
limit matches --max-body. Usage: k8s_manifest_test.py REPO_ROOT"""
import os
import sys

import yaml

root = sys.argv[1]
docs = list(yaml.safe_load_all(open(os.path.join(root, "deploy", "k8s", "gemma4.yaml"))))


def fail(msg):
    print(f"k8s_manifest_test: FAIL: {msg}", file=sys.stderr)
    raise SystemExit(1)


by_kind = {d["kind"]: d for d in docs if d}
for kind in ("Deployment", "Service", "Ingress", "ConfigMap"):
    if kind not in by_kind:
        fail(f"no {kind}")
dep, svc, ing = by_kind["Deployment"], by_kind["Service"], by_kind["Ingress"]
pod = dep["spec"]["template"]
if dep["spec"]["selector"]["matchLabels"] != {k: pod["metadata"]["labels"][k] for k in dep["spec"]["selector"]["matchLabels"]}:
    fail("the Deployment's selector does not match its pods")
if svc["spec"]["selector"] != dep["spec"]["selector"]["matchLabels"]:
    fail("the Service does not select the Deployment's pods")
c = pod["spec"]["containers"][0]
args = c["args"]
flag = lambda name: args[args.index(name) + 1]
if args[0] != "serve" or flag("--host") != "0.0.0.0":
    fail("the container must run `serve --host 0.0.0.0`")
port = int(flag("--port"))
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
if ports.get("http") != port:
    fail(f"containerPort {ports} is not --port {port}")
for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
    get = c[probe]["httpGet"]
    if get["path"] != "/health" or get["port"] not in ("http", port):
        fail(f"{probe} does not ask /health on the serving port")
sleep = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
if pod["spec"]["terminationGracePeriodSeconds"] <= sleep + float(flag("--drain-seconds")):
    fail("terminationGracePeriodSeconds does not cover preStop + --drain-seconds")
if svc["spec"]["ports"][0]["targetPort"] not in ("http", port):
    fail("the Service does not target the serving port")
notes = ing["metadata"]["annotations"]
if notes["nginx.ingress.kubernetes.io/proxy-body-size"] != f"{int(flag('--max-body')) // 2**20}m":
    fail("the Ingress body limit differs from --max-body")
if notes["nginx.ingress.kubernetes.io/proxy-buffering"] != "off":
    fail("the Ingress buffers responses (SSE needs proxy-buffering off)")
key = notes["nginx.ingress.kubernetes.io/upstream-hash-by"]
if key not in by_kind["ConfigMap"]["data"]["http-snippet"]:
    fail(f"the hash key {key} is not defined by the controller ConfigMap")
backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
if backend["name"] != svc["metadata"]["name"]:
    fail("the Ingress does not route to the Service")
print("k8s_manifest_test: ok")
