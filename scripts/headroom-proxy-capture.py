#!/usr/bin/env python3
"""Capture a real Headroom proxy session as fixtures: fixtures/headroom-proxy/.

A coding-agent conversation (six POST /v1/messages requests: the user's question, then five more,
each repeating the whole history plus one new Bash tool call whose result is a real tool output
from fixtures/: a build log, grep output, npm JSON, a pip log, a diff) goes through the real
`headroom proxy` (headroom-ai from PyPI, the version pinned in scripts/headroom_venv.py, run from
target/headroom-venv) to a fake Anthropic upstream on loopback, so no key and no internet are
needed. The proxy runs with an isolated, temporary HOME and workspace, the request log on with
messages, and its default SQLite CCR store. Afterwards the script copies into
fixtures/headroom-proxy/:

  requests.jsonl  the proxy's own request log (--log-file, --log-messages), as written
  session.har     HAR 1.2 of the client<->proxy exchanges, written by this script (the client)
  ccr_store.db    the proxy's CCR store (WAL checkpointed into a self-contained file)
  upstream.jsonl  every request the fake upstream received: what Headroom really sent on
  README.md       what these are and how they were made

and checks them: messages logged, CCR rows present, markers in compressed_messages resolving
to rows. Usage: scripts/headroom-proxy-capture.py [--keep-temp] [--debug] (--keep-temp keeps the
temporary HOME/workspace and the proxy's output; --debug also turns on Headroom's debug log, which
records every router decision, and implies --keep-temp). Python 3 stdlib only; the proxy's own
dependencies live in the venv."""
import datetime
import gzip
import hashlib
import http.client
import http.server
import json
import math
import os
import pathlib
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import headroom_venv  # noqa: E402

ROOT = headroom_venv.ROOT
FIXTURES = ROOT / "fixtures"
OUT = FIXTURES / "headroom-proxy"
SCRIPT = "scripts/headroom-proxy-capture.py"

MODEL = "claude-sonnet-4-5"
ANTHROPIC_VERSION = "2023-06-01"
# Obviously fake: the fake upstream never checks it, nothing real ever sees it.
FAKE_API_KEY = "sk-ant-api03-FAKE-ctxlens-fixture-key-not-real-0000000000000000000000000000000000"
USER_AGENT = "ctxlens-headroom-proxy-capture/1 (python http.client)"
MAX_TOTAL_BYTES = 1_500_000
READY_TIMEOUT_S = 180
REQUEST_TIMEOUT_S = 300

# The proxy's settings. Everything not listed is Headroom's default.
PROXY_FLAGS_DOC = [
    ("--host 127.0.0.1 --port PORT", "a free loopback port"),
    ("--anthropic-api-url http://127.0.0.1:UPSTREAM", "the fake Anthropic upstream"),
    ("--log-file WORKSPACE/requests.jsonl", "request log as JSONL"),
    ("--log-messages", "request_messages and compressed_messages in the log"),
]
PROXY_ENV_DOC = [
    ("HOME=TMP/home", "nothing touches the real ~/.headroom"),
    ("HEADROOM_WORKSPACE_DIR=TMP/home/.headroom", "workspace (CCR store, logs) in the temp dir"),
    ("HEADROOM_CONFIG_DIR=TMP/home/.headroom/config", "config root in the temp dir"),
    ("HEADROOM_OFFLINE=1", "Headroom makes no egress of its own (telemetry, update check, "
     "model downloads, subscription poller); forwarding to the configured upstream is allowed"),
    ("HF_HUB_OFFLINE=1", "no model hub look-ups"),
    ("TIKTOKEN_CACHE_DIR=TMP/tiktoken", "tiktoken's BPE tables (cl100k_base, o200k_base), put "
     "there from the tiktoken-rs crate (see below)"),
]
TIKTOKEN_ENCODINGS = ["cl100k_base", "o200k_base"]

# The conversation. Every tool call is Claude Code's `Bash` tool: Headroom's default exclude list
# protects `Read`, `Grep`, `Glob` and friends from lossy compression, but not `Bash`.
SYSTEM_TEXT = (
    "You are a coding agent working in the user's repository. Use the Bash tool to run "
    "commands; read the output carefully before you answer. Be concise."
)
TOOLS = [
    {
        "name": "Bash",
        "description": "Run a shell command in the repository and return its output "
                       "(stdout and stderr together).",
        "input_schema": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command to run"},
                "description": {"type": "string",
                                "description": "What the command does, in 5-10 words"},
            },
            "required": ["command"],
        },
    }
]
FIRST_USER_TEXT = (
    "CI is red after this week's dependency bumps. The Rust sidecar no longer builds, the "
    "backend moved from requests 2.31 to 2.32 and the frontend to express 5. Find out what "
    "breaks and what changed before you suggest a fix."
)
# One step per tool call: (assistant text, command, description, fixture holding the command's
# real output, whether the request carrying the result streams, cache_control on the result).
# What Headroom 0.42 does with each at its defaults (see the README): the build log and the pip
# log go to its log compressor (two marker forms), the npm JSON to SmartCrusher (a <<ccr:>>
# marker), the grep output to the byte-lossless fold it applies to searches run through Bash,
# and the diff is left as it is (the router calls it mixed content).
STEPS = [
    ("I'll start with the sidecar build to see the errors.",
     "cargo build -v", "Build the Rust sidecar verbosely",
     "log/cargo-build-verbose-errors.log", False, False),
    ("Two errors: a mismatched type (E0308) and `Regex::find_all`, which does not exist "
     "(E0599). The sidecar also wraps tokio types; let me check which constructors the "
     "vendored tokio declares.",
     "grep -rn --include='*.rs' \"fn new(\" tokio-1.54.1/src", "Find tokio constructors",
     "search/grep-tokio-fn-new.txt", True, False),
    ("Nothing in tokio changed shape. Now the frontend: what does express resolve to?",
     "npm view express --json", "Show registry metadata for express",
     "json/npm-view-express.json", False, True),
    ("express 5.3.0 is the latest release. The backend image builds MarkupSafe from source; "
     "let me reproduce that install.",
     "pip install -v --no-binary :all: markupsafe==2.1.5", "Build MarkupSafe from source",
     "log/pip-install-verbose.log", True, False),
    ("MarkupSafe builds and installs fine. Last, the requests upgrade: what changed between "
     "2.31.0 and 2.32.3?",
     "diff -ru requests-2.31.0 requests-2.32.3", "Diff the two requests releases",
     "diff/requests-2.31.0-2.32.3.ru.diff", False, False),
]
FINAL_TEXT = (
    "Summary: the sidecar breaks on our own code, not on tokio: fix the mismatched type and "
    "replace `find_all` with `find_iter`. express 5.3.0 and the MarkupSafe source build need no "
    "action. requests 2.32 changes how adapters reuse SSL contexts, which our client does not "
    "customise. Fix the two Rust errors first, then re-run `cargo build`."
)


def die(message):
    print(f"headroom-proxy-capture: {message}", file=sys.stderr)
    sys.exit(1)


def est_tokens(obj):
    """The fake upstream's token estimate: a quarter of the compact JSON's length."""
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"), sort_keys=True)
    return max(1, math.ceil(len(text) / 4))


def tool_use_id(step):
    return f"toolu_01CtxlensFixture{step:04d}"


def message_id(step):
    return f"msg_01CtxlensFixture{step:04d}"


# ---------------------------------------------------------------------------------------------
# Fake Anthropic upstream
# ---------------------------------------------------------------------------------------------

class FakeAnthropic:
    """A thread-served stdlib HTTP server that answers POST /v1/messages like the Messages API.

    The reply to a request is chosen by how many tool results the request already holds, so the
    conversation follows STEPS whatever Headroom does to the content. Usage figures are estimates
    (a quarter of the JSON length), and prompt caching is simulated: a cache_control breakpoint
    whose whole prefix (tools, system, messages up to it) was seen before is a cache read, the
    rest up to the last breakpoint a cache write."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        self.seen_prefixes = {}
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                fake.handle(self)

            def do_GET(self):
                fake.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join()
        self.server.server_close()

    def read_body(self, h):
        if h.headers.get("transfer-encoding", "").lower() == "chunked":
            raw = b""
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                raw += h.rfile.read(size)
                h.rfile.readline()
        else:
            raw = h.rfile.read(int(h.headers.get("content-length") or 0))
        encoding = h.headers.get("content-encoding", "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in ("", "identity"):
            raise ValueError(f"unsupported request content-encoding {encoding!r}")
        return raw

    def usage(self, body):
        """Token figures for a request body, with prompt caching simulated.

        The prompt is a sequence of blocks in Anthropic's prefix order (each tool, each system
        block, each message content block). A `cache_control` block writes the prefix ending
        there to the cache; a request reads the longest already-written prefix that ends at or
        up to 20 blocks before one of its breakpoints (Anthropic's look-back), and writes the
        rest up to its last breakpoint. Prefixes are compared without `cache_control` itself."""
        def bare(obj):
            if isinstance(obj, dict):
                return {k: bare(v) for k, v in obj.items() if k != "cache_control"}
            if isinstance(obj, list):
                return [bare(v) for v in obj]
            return obj

        blocks = []  # (canonical text, is breakpoint)
        for tool in body.get("tools") or []:
            blocks.append((json.dumps(["tool", bare(tool)], sort_keys=True),
                           isinstance(tool, dict) and bool(tool.get("cache_control"))))
        system = body.get("system") or []
        for block in ([{"type": "text", "text": system}] if isinstance(system, str) else system):
            blocks.append((json.dumps(["system", bare(block)], sort_keys=True),
                           isinstance(block, dict) and bool(block.get("cache_control"))))
        for mi, message in enumerate(body.get("messages") or []):
            content = message.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            for block in content or []:
                blocks.append((json.dumps(["message", mi, message.get("role"), bare(block)],
                                          sort_keys=True),
                               isinstance(block, dict) and bool(block.get("cache_control"))))
        keys, sizes = [], []
        digest = hashlib.sha256(str(body.get("model")).encode())
        size = 0
        for text, _bp in blocks:
            digest.update(hashlib.sha256(text.encode()).digest())
            keys.append(digest.copy().hexdigest())
            size += est_tokens(text)
            sizes.append(size)
        total = sizes[-1] if sizes else 1
        breakpoints = [i for i, (_t, bp) in enumerate(blocks) if bp]
        read = write = 0
        with self.lock:
            hits = [j for bp in breakpoints for j in range(max(0, bp - 20), bp + 1)
                    if keys[j] in self.seen_prefixes]
            if hits:
                read = sizes[max(hits)]
            if breakpoints:
                write = max(0, sizes[breakpoints[-1]] - read)
                for bp in breakpoints:
                    self.seen_prefixes[keys[bp]] = True
        return {
            "input_tokens": max(1, total - read - write),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
        }

    def reply_content(self, body):
        done = sum(
            1
            for m in body.get("messages") or []
            if isinstance(m.get("content"), list)
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"
        )
        if done < len(STEPS):
            text, command, description, _fixture, _stream, _cache = STEPS[done]
            return done, [
                {"type": "text", "text": text},
                {"type": "tool_use", "id": tool_use_id(done), "name": "Bash",
                 "input": {"command": command, "description": description}},
            ], "tool_use"
        return done, [{"type": "text", "text": FINAL_TEXT}], "end_turn"

    def handle(self, h):
        try:
            raw = self.read_body(h) if h.command == "POST" else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = {"_raw_text": raw.decode("utf-8", "replace")}
            record = {
                "seq": None,
                "received_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "method": h.command,
                "path": h.path,
                "headers": [[k, v] for k, v in h.headers.items()],
                "body": body,
            }
            path = h.path.split("?", 1)[0]
            if h.command == "POST" and path == "/v1/messages/count_tokens":
                usage = self.usage(body or {})
                answer = {"input_tokens": sum(usage.values())}
                record["answered"] = answer
                self.store(record)
                return self.send_json(h, 200, answer)
            if h.command != "POST" or path != "/v1/messages" or not isinstance(body, dict):
                record["answered"] = {"status": 404}
                self.store(record)
                return self.send_json(h, 404, {"type": "error", "error": {
                    "type": "not_found_error", "message": f"fake upstream: no {h.command} {path}"}})
            step, content, stop_reason = self.reply_content(body)
            usage = self.usage(body)
            output_tokens = est_tokens(content)
            message = {
                "id": message_id(step), "type": "message", "role": "assistant",
                "model": body.get("model", MODEL), "content": content,
                "stop_reason": stop_reason, "stop_sequence": None,
                "usage": dict(usage, output_tokens=output_tokens),
            }
            record["answered"] = {"stream": bool(body.get("stream")), "message": message}
            self.store(record)
            if body.get("stream"):
                self.send_sse(h, message)
            else:
                self.send_json(h, 200, message)
        except Exception as e:  # a broken fake must not hang the proxy
            try:
                self.send_json(h, 500, {"type": "error", "error": {
                    "type": "api_error", "message": f"fake upstream: {type(e).__name__}: {e}"}})
            finally:
                print(f"fake upstream error: {type(e).__name__}: {e}", file=sys.stderr)

    def store(self, record):
        with self.lock:
            record["seq"] = len(self.received) + 1
            self.received.append(record)

    def common_headers(self, h, content_type, length=None):
        h.send_header("content-type", content_type)
        h.send_header("request-id", f"req_01CtxlensFakeUpstream{len(self.received):04d}")
        h.send_header("anthropic-organization-id", "00000000-0000-4000-8000-000000000000")
        if length is not None:
            h.send_header("content-length", str(length))

    def send_json(self, h, status, obj):
        data = json.dumps(obj).encode()
        h.send_response(status)
        self.common_headers(h, "application/json", len(data))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def send_sse(self, h, message):
        """The Messages API's streaming events for `message`, as one close-delimited stream."""
        events = []
        start = dict(message, content=[], stop_reason=None, stop_sequence=None,
                     usage=dict(message["usage"], output_tokens=1))
        events.append(("message_start", {"type": "message_start", "message": start}))
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                       "content_block": {"type": "text", "text": ""}}))
                if index == 0:
                    events.append(("ping", {"type": "ping"}))
                words = re.findall(r"\S+\s*", block["text"])
                for i in range(0, len(words), 6):
                    events.append(("content_block_delta", {
                        "type": "content_block_delta", "index": index,
                        "delta": {"type": "text_delta", "text": "".join(words[i:i + 6])}}))
            else:
                events.append(("content_block_start", {
                    "type": "content_block_start", "index": index,
                    "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"],
                                      "input": {}}}))
                args = json.dumps(block["input"])
                for i in range(0, len(args), 24):
                    events.append(("content_block_delta", {
                        "type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": args[i:i + 24]}}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": message["usage"]["output_tokens"]}}))
        events.append(("message_stop", {"type": "message_stop"}))
        h.send_response(200)
        self.common_headers(h, "text/event-stream; charset=utf-8")
        h.send_header("cache-control", "no-cache")
        h.send_header("connection", "close")
        h.end_headers()
        h.close_connection = True
        for name, data in events:
            h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            h.wfile.flush()


# ---------------------------------------------------------------------------------------------
# The client side: requests through the proxy, recorded as HAR
# ---------------------------------------------------------------------------------------------

def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def http_exchange(port, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT_S):
    """One request on a fresh connection. Returns (HAR entry, status, response headers, text)."""
    headers = headers or {}
    started = iso_now()
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.connect()
    t_connect = time.perf_counter()
    data = body.encode() if isinstance(body, str) else body
    conn.putrequest(method, path, skip_accept_encoding=True)
    sent_headers = [("Host", f"127.0.0.1:{port}")]
    for k, v in headers.items():
        sent_headers.append((k, v))
    if data is not None:
        sent_headers.append(("content-length", str(len(data))))
    for k, v in sent_headers[1:]:
        conn.putheader(k, v)
    conn.endheaders(data)
    t_sent = time.perf_counter()
    resp = conn.getresponse()
    t_headers = time.perf_counter()
    raw = resp.read()
    t_done = time.perf_counter()
    conn.close()
    text = raw.decode("utf-8", "replace")
    resp_headers = resp.getheaders()
    content_type = resp.getheader("content-type", "")
    ms = lambda a, b: round((b - a) * 1000, 3)  # noqa: E731
    entry = {
        "startedDateTime": started,
        "time": ms(t0, t_done),
        "request": {
            "method": method,
            "url": f"http://127.0.0.1:{port}{path}",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in sent_headers],
            "queryString": [],
            "headersSize": -1,
            "bodySize": len(data) if data is not None else 0,
        },
        "response": {
            "status": resp.status,
            "statusText": resp.reason,
            "httpVersion": "HTTP/1.1" if resp.version == 11 else "HTTP/1.0",
            "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in resp_headers],
            "content": {"size": len(raw), "mimeType": content_type or "application/octet-stream",
                        "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(raw),
        },
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "ssl": -1, "connect": ms(t0, t_connect),
                    "send": ms(t_connect, t_sent), "wait": ms(t_sent, t_headers),
                    "receive": ms(t_headers, t_done)},
        "serverIPAddress": "127.0.0.1",
    }
    if data is not None:
        entry["request"]["postData"] = {"mimeType": headers.get("content-type", ""),
                                        "text": data.decode("utf-8")}
    return entry, resp.status, resp_headers, text


def message_from_sse(text):
    """Rebuild the assistant message from a Messages API event stream."""
    message, blocks, partial = None, {}, {}
    for chunk in re.split(r"\r?\n\r?\n", text):
        data = "".join(line[5:].lstrip() for line in chunk.splitlines() if line.startswith("data:"))
        if not data:
            continue
        event = json.loads(data)
        kind = event.get("type")
        if kind == "message_start":
            message = event["message"]
        elif kind == "content_block_start":
            blocks[event["index"]] = dict(event["content_block"])
            partial[event["index"]] = ""
        elif kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                blocks[event["index"]]["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                partial[event["index"]] += delta["partial_json"]
        elif kind == "content_block_stop":
            block = blocks[event["index"]]
            if block["type"] == "tool_use" and partial[event["index"]]:
                block["input"] = json.loads(partial[event["index"]])
        elif kind == "message_delta":
            message.update(event.get("delta", {}))
            message.setdefault("usage", {}).update(event.get("usage", {}))
        elif kind == "error":
            raise RuntimeError(f"error event in stream: {data}")
    if message is None:
        raise RuntimeError(f"no message_start in the stream: {text[:300]!r}")
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def run_conversation(proxy_port):
    fixtures = []
    for step in STEPS:
        path = FIXTURES / step[3]
        if not path.is_file():
            die(f"fixture {path} is missing (scripts/make-fixtures.sh makes the fixtures)")
        fixtures.append(path.read_text(encoding="utf-8"))
    system = [{"type": "text", "text": SYSTEM_TEXT, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": [{"type": "text", "text": FIRST_USER_TEXT}]}]
    har_entries, turns = [], []
    # The first call asks the model what to do; its answer is the first tool call. That call's
    # request has no tool result yet, so it is sent too (it is what an agent sends first).
    for n in range(len(STEPS) + 1):
        stream = STEPS[n - 1][4] if n > 0 else False
        request = {"model": MODEL, "max_tokens": 4096, "system": system, "tools": TOOLS,
                   "messages": messages}
        if stream:
            request["stream"] = True
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
            "x-api-key": FAKE_API_KEY,
            "anthropic-version": ANTHROPIC_VERSION,
            "user-agent": USER_AGENT,
        }
        body = json.dumps(request, ensure_ascii=False)
        entry, status, _headers, text = http_exchange(proxy_port, "POST", "/v1/messages", body,
                                                       headers)
        har_entries.append(entry)
        if status != 200:
            die(f"request {n + 1}: the proxy answered {status}: {text[:500]}")
        reply = message_from_sse(text) if stream else json.loads(text)
        turns.append({"request": n + 1, "stream": stream, "bytes": len(body),
                      "usage": reply.get("usage", {}), "stop_reason": reply.get("stop_reason")})
        if n == len(STEPS):
            if reply.get("stop_reason") != "end_turn":
                die(f"the last reply should end the turn, got {reply.get('stop_reason')}")
            break
        uses = [b for b in reply["content"] if b.get("type") == "tool_use"]
        if len(uses) != 1 or uses[0]["id"] != tool_use_id(n):
            die(f"request {n + 1}: expected tool call {tool_use_id(n)}, got {reply['content']!r}")
        messages = messages + [{"role": "assistant", "content": reply["content"]}]
        result = {"type": "tool_result", "tool_use_id": uses[0]["id"], "content": fixtures[n]}
        if STEPS[n][5]:
            result["cache_control"] = {"type": "ephemeral"}
        messages = messages + [{"role": "user", "content": [result]}]
    return har_entries, turns


# ---------------------------------------------------------------------------------------------
# The proxy process
# ---------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc, port, log_path):
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die(f"the proxy exited with {proc.returncode} before it was ready; its output "
                f"ends:\n{tail(log_path)}")
        for path in ("/livez", "/health"):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return path
            except OSError:
                pass
        time.sleep(0.5)
    die(f"the proxy was not ready after {READY_TIMEOUT_S} s; its output ends:\n{tail(log_path)}")


def tail(path, lines=40):
    try:
        return "\n".join(pathlib.Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def stop_process(proc):
    """SIGTERM (uvicorn's graceful shutdown) then, if it lingers, SIGKILL its process group."""
    if proc is None or proc.poll() is not None:
        return None
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return proc.poll()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# Checks and output
# ---------------------------------------------------------------------------------------------

MARKER_PATTERNS = [
    ("ccr", re.compile(r"<<ccr:([0-9a-f]{8,64})[^>]*>>")),
    ("bracket", re.compile(r"\[[^\[\]]*?Retrieve[^\[\]]*?hash=([0-9a-f]{8,64})[^\[\]]*\]")),
]


def strings_in(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings_in(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings_in(v)


def find_markers(messages):
    found = []
    for s in strings_in(messages):
        for kind, pattern in MARKER_PATTERNS:
            for m in pattern.finditer(s):
                found.append((kind, m.group(1), m.group(0)))
    return found


def copy_ccr_db(src, dest):
    """A self-contained copy of the proxy's store: WAL folded in, rollback journal mode."""
    if not src.exists():
        die(f"the proxy wrote no CCR store at {src}")
    conn = sqlite3.connect(src)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if dest.exists():
        dest.unlink()
    out = sqlite3.connect(dest)
    conn.backup(out)
    conn.close()
    out.execute("PRAGMA journal_mode=DELETE")
    out.execute("VACUUM")
    out.commit()
    out.close()
    for suffix in ("-wal", "-shm", "-journal"):
        pathlib.Path(str(dest) + suffix).unlink(missing_ok=True)


def summarize(log_lines, db_path, upstream, turns):
    """Check the capture and describe it: (printable lines, per-request rows, problems)."""
    problems, lines, rows = [], [], []
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    entries = {h: json.loads(e) for h, e in con.execute("SELECT hash, entry_json FROM ccr_entries")}
    con.close()
    sent_up = [r for r in upstream if r["method"] == "POST" and r["path"] == "/v1/messages"]
    others = [f"{r['method']} {r['path']}" for r in upstream if r not in sent_up]
    lines.append(f"requests: {len(turns)} sent by the client, {len(log_lines)} in the proxy's "
                 f"request log, {len(sent_up)} received upstream"
                 + (f" (plus {', '.join(others)})" if others else ""))
    if not len(turns) == len(log_lines) == len(sent_up):
        problems.append("the client, the request log and the upstream disagree on the count")
    all_markers = []
    same_as_upstream = 0
    for i, entry in enumerate(log_lines):
        for field in ("request_messages", "compressed_messages"):
            if not entry.get(field):
                problems.append(f"request {i + 1}: {field} is empty")
        markers = find_markers(entry.get("compressed_messages") or [])
        all_markers.extend(markers)
        up = sent_up[i]["body"] if i < len(sent_up) else {}
        if entry.get("compressed_messages") == up.get("messages"):
            same_as_upstream += 1
        turn = turns[i] if i < len(turns) else {}
        row = {
            "request": i + 1,
            "step": STEPS[i - 1] if i > 0 else None,
            "before": entry.get("input_tokens_original"),
            "after": entry.get("input_tokens_optimized"),
            "transforms": entry.get("transforms_applied") or [],
            "markers": sorted({h for _k, h, _t in markers}),
            "client_stream": bool(turn.get("stream")),
            "upstream_stream": bool(up.get("stream")),
            "cache": (entry.get("cache_read_tokens"), entry.get("cache_write_tokens")),
        }
        rows.append(row)
        lines.append(
            f"  request {i + 1}: tokens {row['before']} -> {row['after']} "
            f"(saved {entry.get('tokens_saved')}), cache read/write {row['cache'][0]}/"
            f"{row['cache'][1]}, stream client/upstream {row['client_stream']}/"
            f"{row['upstream_stream']}, markers {len(markers)}, "
            f"transforms {', '.join(row['transforms']) or '-'}")
    lines.append(f"compressed_messages identical to the messages received upstream: "
                 f"{same_as_upstream}/{len(log_lines)}")
    unique = {}
    for _kind, h, text in all_markers:
        unique.setdefault(h, text)
    resolved = [h for h in unique if h in entries]
    lines.append(f"CCR entries in ccr_store.db: {len(entries)}")
    lines.append(f"markers in compressed_messages: {len(all_markers)} ({len(unique)} distinct "
                 f"hashes), resolving to a ccr_entries row: {len(resolved)}/{len(unique)}")
    shapes = {}  # marker shape (hash -> HASH, numbers -> N) -> one example
    for h, text in unique.items():
        shapes.setdefault(re.sub(r"\d+", "N", text.replace(h, "HASH")), text)
    for shape, text in shapes.items():
        lines.append(f"  marker form {shape!r}, e.g. {text!r}")
    if not entries:
        problems.append("ccr_store.db has no ccr_entries rows")
    if not unique:
        problems.append("no CCR markers in any compressed_messages")
    elif len(resolved) < len(unique):
        problems.append(f"{len(unique) - len(resolved)} marker hashes have no ccr_entries row")
    for t in turns:
        u = t["usage"]
        lines.append(
            f"  client request {t['request']}: {t['bytes']:,} bytes, reply usage "
            f"input/cache_read/cache_creation/output = {u.get('input_tokens')}/"
            f"{u.get('cache_read_input_tokens')}/{u.get('cache_creation_input_tokens')}/"
            f"{u.get('output_tokens')}, stop_reason {t['stop_reason']}")
    return lines, rows, problems


def tiktoken_cache(python, cache_dir):
    """Fill a TIKTOKEN_CACHE_DIR with the BPE tables Headroom loads, without a download.

    Headroom counts tokens with tiktoken (cl100k_base in its Anthropic provider, o200k_base in
    its token-counter registry). tiktoken downloads those tables from OpenAI's blob storage on
    first use, which this machine cannot reach, and Headroom 0.42 only falls back to estimation
    when the download times out: a refused connection raises, and the proxy then forwards every
    request unoptimized ("Optimization failed: ConnectionError ... tiktoken_counter.py").
    The same files ship in the tiktoken-rs crate (a dev-dependency of ctxlens, so cargo has it
    in its registry cache); tiktoken accepts them because their SHA-256 is the one it expects.
    The blob URLs and hashes come from the venv's tiktoken, so nothing here is hard-coded."""
    code = ("import json, tiktoken_ext.openai_public as p\n"
            "seen = {}\n"
            "def grab(path, expected_hash=None, **kw):\n"
            "    seen['blob'] = path; seen['sha256'] = expected_hash; return {}\n"
            "p.load_tiktoken_bpe = grab\n"
            "out = {}\n"
            f"for name in {TIKTOKEN_ENCODINGS!r}:\n"
            "    getattr(p, name)(); out[name] = dict(seen)\n"
            "print(json.dumps(out))\n")
    wanted = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    cargo_home = pathlib.Path(os.environ.get("CARGO_HOME") or pathlib.Path.home() / ".cargo")
    crates = sorted((cargo_home / "registry" / "src").glob("*/tiktoken-rs-*/assets"), reverse=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, want in wanted.items():
        for assets in crates:
            candidate = assets / f"{name}.tiktoken"
            if candidate.is_file():
                data = candidate.read_bytes()
                if hashlib.sha256(data).hexdigest() == want["sha256"]:
                    key = hashlib.sha1(want["blob"].encode()).hexdigest()
                    (cache_dir / key).write_bytes(data)
                    break
        else:
            die(f"no {name}.tiktoken with SHA-256 {want['sha256']} under "
                f"{cargo_home}/registry/src/*/tiktoken-rs-*/assets: run `cargo fetch` in the "
                "repository (tiktoken-rs is a dev-dependency) so Headroom can count tokens offline")
    return [crates[0].parent.name] if crates else []


def versions(python):
    code = ("import importlib.metadata as m, json\n"
            "out = {}\n"
            "for n in ['headroom-ai', 'fastapi', 'uvicorn', 'httpx', 'onnxruntime', 'magika']:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: out[n] = None\n"
            "print(json.dumps(out))\n")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


def write_readme(path, info):
    v = info["versions"]
    flags = "\n".join(f"| `{f}` | {why} |" for f, why in PROXY_FLAGS_DOC)
    env = "\n".join(f"| `{e}` | {why} |" for e, why in PROXY_ENV_DOC)
    table = []
    for row in info["rows"]:
        step = row["step"]
        what = (f"`{step[1]}` → `fixtures/{step[3]}` ({(FIXTURES / step[3]).stat().st_size:,} B)"
                + (", `cache_control`" if step[5] else "")) if step else "the user's question"
        table.append(
            f"| {row['request']} | {what} | {'yes' if row['client_stream'] else 'no'} / "
            f"{'yes' if row['upstream_stream'] else 'no'} | {row['before']:,} → {row['after']:,} | "
            f"{', '.join(f'`{t}`' for t in row['transforms']) or '-'} | "
            f"{', '.join(f'`{h}`' for h in row['markers']) or '-'} |")
    table = "\n".join(table)
    files = "\n".join(f"{name:16s} {size:>9,} bytes" for name, size in info["sizes"].items())
    summary = "\n".join(info["summary"])
    text = f"""# Headroom proxy capture

A real session through the real Headroom proxy (`headroom proxy`, headroom-ai
{v['headroom-ai']} from PyPI), made by `{SCRIPT}` on {info['date']}. Rerunning the script
regenerates every file here. The conversation is fixed, so the bodies come out the same;
request ids, timestamps, latencies, `created_at` and the HAR timings differ from run to run.

## Files

| file | what it is |
|---|---|
| `requests.jsonl` | The proxy's own request log, exactly as it wrote it (`--log-file` with `--log-messages`). One JSON object per `/v1/messages` request: `dataclasses.asdict` of Headroom's `RequestLog`. Fields include `request_id`, `timestamp` (ISO 8601 with microseconds and `+00:00`), `input_tokens_original`/`input_tokens_optimized` (Headroom's count, tiktoken o200k_base), `tokens_saved`, `transforms_applied`, `cache_read_tokens`/`cache_write_tokens` (from the upstream's usage), `tags`, `turn_id`, `request_messages` (the `messages` array the client sent) and `compressed_messages` (the `messages` array after compression, as sent upstream, including the `cache_control` Headroom placed). `system` and `tools` are not logged. `response_content` stays `null` even with `--log-messages`. |
| `session.har` | HAR 1.2 of the client <-> proxy exchanges. The script is the client and writes this file itself: request headers (including the fake `x-api-key`), `postData.text` (the exact body sent), response status, headers (Headroom adds `x-headroom-tokens-before/after/saved`, `x-headroom-transforms`) and `content.text` (the whole body; for the streaming requests, the raw Server-Sent-Events text). Timings are measured around Python's `http.client`, on a new connection per request. |
| `ccr_store.db` | The proxy's CCR (compress-cache-retrieve) store: its default SQLite backend (`ccr_store.db` in the workspace), copied after the proxy stopped. The WAL was checkpointed and the copy switched to rollback-journal mode, so this one file holds everything (no `-wal`/`-shm`). Table `ccr_entries(hash TEXT PRIMARY KEY, entry_json TEXT, created_at REAL, ttl INTEGER)`. `entry_json` is Headroom's `CompressionEntry`: `hash`, `original_content`, `compressed_content`, `original_tokens`, `compressed_tokens`, `original_item_count`, `compressed_item_count`, `tool_name`, `tool_call_id`, `query_context`, `created_at`, `ttl`, `tool_signature_hash`, `compression_strategy`, `retrieval_count`, `search_queries`, `last_accessed`. The rows, `created_at` (Unix seconds) and `ttl` (1800 s) are as Headroom recorded them. They expired long ago, and Headroom deletes expired rows when it opens the file, so open it read-only. |
| `upstream.jsonl` | Every request the fake Anthropic upstream received, one per line: `seq`, `received_at`, `method`, `path`, `headers` (as Headroom forwarded them), `body` (the parsed JSON body, which is what Headroom really sent upstream) and `answered` (what the fake sent back). |

The API key is fake (`{FAKE_API_KEY[:30]}…`). The upstream is a stdlib HTTP server inside the
script, on 127.0.0.1, and it checks nothing. No request left the machine.

## The session

A coding agent in {len(info['rows'])} `POST /v1/messages` requests: model `{MODEL}`,
`anthropic-version: {ANTHROPIC_VERSION}`, and a system block with `cache_control`. The agent has
one tool, Claude Code's `Bash`. Headroom never lossily compresses `Read`, `Grep`, `Glob` and
similar results by default, but it does compress `Bash` results. Request 1 is the user's
question. Each later request repeats the whole history and adds the assistant's tool call (the
fake upstream's answer to the previous request) and a `tool_result` holding a real tool output
from `fixtures/`. The last answer ends the turn.

| request | tool call → result | stream client / upstream | Headroom tokens before → after | transforms | CCR hashes in compressed_messages |
|---|---|---|---|---|---|
{table}

What Headroom {v['headroom-ai']} did, read from its source and its debug log (`--debug`):

- **The cargo and pip logs** went to its log compressor and got bracket markers, two forms:
  `[N dense machine-generated lines elided. Retrieve original: hash=…]` and
  `[N lines compressed to M. Retrieve more: hash=…]`.
- **The npm JSON** went to SmartCrusher. The pretty-printed document comes back on one line,
  and the 262-item `versions` array is cut to 17 items plus a last string element
  `"… 245 more items <<ccr:HASH 245_items_offloaded>>"`. In the store, that entry's
  `compressed_content` is just `<<ccr:HASH>>` and its `original_content` is the whole array as
  compact JSON. Its token counts are 0 and `tool_name`/`tool_call_id` are null in every entry.
- **The grep output** (a search run through `Bash`) got the byte-lossless search fold
  (`router:bash:lossless_search`), so it has no marker and no store entry.
- **The diff** was left alone, byte for byte. Headroom's router classes both diff fixtures as
  mixed content, not as a diff. The mixed path sends the text sections to Kompress, whose model
  cannot be downloaded here, so nothing shrinks and the router keeps the original
  (`ratio_too_high` in its log).
- **Mode `cache`** (the default) freezes the part of the conversation the provider has already
  cached. A tool result is compressed once, in the first request that carries it, and the same
  compressed bytes are replayed in later requests (see `tokens_saved`).
- **Streaming.** When a request has `"stream": true` and Headroom has injected its
  `headroom_retrieve` tool, Headroom sends it upstream with `"stream": false` (so it can answer
  retrieval calls itself) and streams the buffered answer back to the client as SSE. The SSE in
  `session.har` is therefore Headroom's own rendering, not the upstream's events: its
  `message_start` already carries the final `stop_reason` and the whole `usage`, and each
  content block arrives as a single delta.
- **Injected tool.** Headroom adds `headroom_retrieve` to `tools` in every upstream request:
  eagerly in the first, then kept ("sticky") so the tool list stays stable for the cache.
- **Cache breakpoints.** When the client's messages carry no `cache_control`, Headroom puts one
  on the last message (requests 1-3). When they carry one (request 4 on), Headroom leaves them
  alone. `compressed_messages` includes these, and it equals the `messages` that reached the
  upstream.
- **No workspace.** The system prompt has no `cwd:` line and the client sends no
  `x-headroom-cwd`/`x-headroom-project-id` header. Headroom therefore logs "CCR: workspace
  unresolved; skipping track_compression" and does no proactive expansion. Compression and the
  CCR store do not depend on a workspace.

The fake upstream answers like the Messages API: JSON, or an SSE event stream for
`"stream": true`. Its `usage` is an estimate (a quarter of the JSON length). Prompt caching is
simulated: a `cache_control` block writes its prefix (tools, system, messages up to it), and a
request reads the longest written prefix within 20 blocks before one of its breakpoints. So the
cache figures are plausible, not Anthropic's.

## How it was made

`python3 {SCRIPT}` (Python stdlib only). The script:

1. Creates or reuses `target/headroom-venv` through `scripts/headroom_venv.py`:
   `headroom-ai[code,proxy]=={v['headroom-ai']}` from PyPI. This run had fastapi {v['fastapi']},
   uvicorn {v['uvicorn']}, httpx {v['httpx']}, onnxruntime {v['onnxruntime']} and magika
   {v['magika']}.
2. Starts the fake upstream.
3. Starts `target/headroom-venv/bin/headroom proxy` in a temporary directory. Everything not
   listed below is Headroom's default (mode `cache`, CCR on, SQLite CCR backend, TTL 1800 s,
   Kompress on but its model unavailable):

   | flag | why |
   |---|---|
{chr(10).join('   ' + line for line in flags.splitlines())}

   The environment is this, with every other `HEADROOM_*`, `ANTHROPIC_*`, `OPENAI_*`,
   `GEMINI_*` and `HF_*` variable removed:

   | variable | why |
   |---|---|
{chr(10).join('   ' + line for line in env.splitlines())}

4. Waits for `/livez`, sends the requests one at a time, stops the proxy with SIGTERM, and
   copies the files.

**Why `TIKTOKEN_CACHE_DIR`.** Headroom counts tokens with tiktoken (cl100k_base in its
Anthropic provider, o200k_base for Claude in its tokenizer registry). tiktoken downloads those
tables on first use. Headroom 0.42 falls back to estimating only when that download *times
out*; a refused connection raises instead. With no route to the download host, every request
then logged `Optimization failed: ConnectionError … tiktoken_counter.py` and was forwarded
unchanged: 0 tokens saved, no CCR entries, no markers. `HEADROOM_OFFLINE=1` does not prevent
this. The script therefore fills a temporary `TIKTOKEN_CACHE_DIR` with the same two files from
the tiktoken-rs crate in cargo's registry cache ({', '.join(info['tiktoken_source']) or 'tiktoken-rs'},
a dev-dependency of ctxlens). tiktoken checks each file's SHA-256 against the hash it expects.
Nothing else was tuned: with the tables in place, Headroom's defaults compress
{info['n_compressed']} of the {len(STEPS)} tool results and write {info['n_ccr']} CCR entries.

## What the run printed

```
{summary}
```

```
{files}
```
"""
    path.write_text(text, encoding="utf-8")


def main():
    args = sys.argv[1:]
    unknown = [a for a in args if a not in ("--keep-temp", "--debug")]
    if unknown:
        die(f"unknown arguments {unknown}; usage: {SCRIPT} [--keep-temp] [--debug]")
    debug = "--debug" in args
    keep_temp = "--keep-temp" in args or debug
    python = headroom_venv.ensure(("code", "proxy"))
    headroom = python.parent / "headroom"
    if not headroom.exists():
        die(f"{headroom} is missing: the venv has no headroom CLI")
    info = {"versions": versions(python),
            "date": datetime.date.today().isoformat()}
    if not info["versions"].get("fastapi") or not info["versions"].get("uvicorn"):
        die("the venv lacks the proxy extra (fastapi/uvicorn); see scripts/headroom_venv.py")

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ctxlens-headroom-proxy."))
    home = tmp / "home"
    workspace = home / ".headroom"
    workspace.mkdir(parents=True)
    log_file = workspace / "requests.jsonl"
    proxy_out = tmp / "proxy-output.log"
    upstream = FakeAnthropic()
    proc = None
    try:
        info["tiktoken_source"] = tiktoken_cache(python, tmp / "tiktoken")
        upstream.start()
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HEADROOM_", "ANTHROPIC_", "OPENAI_", "GEMINI_", "HF_"))}
        env.update({
            "HOME": str(home),
            "HEADROOM_WORKSPACE_DIR": str(workspace),
            "HEADROOM_CONFIG_DIR": str(workspace / "config"),
            "HEADROOM_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "TIKTOKEN_CACHE_DIR": str(tmp / "tiktoken"),
            "PYTHONUNBUFFERED": "1",
        })
        if debug:  # Headroom's debug log (router decisions): TMP/home/.headroom/logs/proxy-*.log
            env["HEADROOM_LOG_LEVEL"] = "debug"
        cmd = [str(headroom), "proxy", "--host", "127.0.0.1", "--port", str(port),
               "--anthropic-api-url", f"http://127.0.0.1:{upstream.port}",
               "--log-file", str(log_file), "--log-messages"]
        print(f"headroom-proxy-capture: starting {' '.join(cmd[1:])}", file=sys.stderr)
        with open(proxy_out, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        ready = wait_ready(proc, port, proxy_out)
        print(f"headroom-proxy-capture: proxy ready on {port} ({ready}); upstream on "
              f"{upstream.port}", file=sys.stderr)
        har_entries, turns = run_conversation(port)
        # The request log line is written once the response is done; give the last one a moment.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if log_file.exists() and len(log_file.read_text().splitlines()) >= len(har_entries):
                break
            time.sleep(0.2)
        code = stop_process(proc)
        proc = None
        print(f"headroom-proxy-capture: proxy stopped (exit status {code})", file=sys.stderr)
        upstream.stop()

        if not log_file.exists():
            die(f"the proxy wrote no request log at {log_file}; its output ends:\n{tail(proxy_out)}")
        log_lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]

        OUT.mkdir(parents=True, exist_ok=True)
        for stale in ("requests.jsonl", "session.har", "ccr_store.db", "ccr_store.db-wal",
                      "ccr_store.db-shm", "ccr_store.db-journal", "upstream.jsonl", "README.md"):
            (OUT / stale).unlink(missing_ok=True)
        shutil.copyfile(log_file, OUT / "requests.jsonl")
        copy_ccr_db(workspace / "ccr_store.db", OUT / "ccr_store.db")
        with open(OUT / "upstream.jsonl", "w", encoding="utf-8") as f:
            for record in upstream.received:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        har = {"log": {
            "version": "1.2",
            "creator": {"name": "ctxlens " + SCRIPT, "version": "1"},
            "comment": f"Client <-> headroom proxy (headroom-ai {info['versions']['headroom-ai']}) "
                       "on loopback; the x-api-key is fake.",
            "entries": har_entries,
        }}
        (OUT / "session.har").write_text(json.dumps(har, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")

        summary, rows, problems = summarize(log_lines, OUT / "ccr_store.db", upstream.received,
                                            turns)
        con = sqlite3.connect(f"file:{OUT / 'ccr_store.db'}?mode=ro", uri=True)
        n_ccr = con.execute("SELECT count(*) FROM ccr_entries").fetchone()[0]
        con.close()
        # A tool result is compressed in the first request that carries it (later ones replay it).
        n_compressed = sum(1 for r in rows if any(t != "router:noop" for t in r["transforms"]))
        info.update(summary=summary, rows=rows, n_ccr=n_ccr, n_compressed=n_compressed,
                    sizes={p.name: p.stat().st_size for p in sorted(OUT.iterdir())})
        write_readme(OUT / "README.md", info)
        sizes = {p.name: p.stat().st_size for p in sorted(OUT.iterdir())}
        total = sum(sizes.values())
        print("\n".join(summary))
        print("files: " + ", ".join(f"{n} {s:,}" for n, s in sizes.items())
              + f" (total {total:,} bytes)")
        if total > MAX_TOTAL_BYTES:
            problems.append(f"the files total {total:,} bytes, over {MAX_TOTAL_BYTES:,}")
        if problems:
            die("checks failed:\n  " + "\n  ".join(problems))
    finally:
        stop_process(proc)
        upstream.stop()
        if keep_temp:
            print(f"headroom-proxy-capture: kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
