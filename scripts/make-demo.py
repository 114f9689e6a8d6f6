#!/usr/bin/env python3
"""Builds fixtures/demo/: one realistic agent session whose tool results are the real tool outputs in
fixtures/ (pytest, a service log, grep, a source file, a diff, pip inspect, release notes, and a
real `env | grep` whose key is a fake demo key), written out in every capture format ctxlens loads:

  anthropic-request.json      the last Anthropic Messages request of the session
  openai-chat-request.json    the same conversation as an OpenAI Chat Completions request
  openai-responses-request.json  ... and as an OpenAI Responses request (what Codex sends)
  anthropic-response.sse      the streamed final answer
  capture.har                 every request of the session with its response (JSON, last one SSE),
                              with x-api-key / authorization headers to be redacted on load
  claude-code-session.jsonl   the session as a Claude Code transcript (split responses, a rewound
                              branch, a side-chain line)
  codex-rollout.jsonl         the session as a Codex rollout
  headroom-requests.jsonl     Headroom's request log for every request: what the client sent and
                              what real Headroom 0.28.0 (`headroom.compress`, PyPI headroom-ai)
                              sent upstream, as `--log-file --log-messages` writes it

  scripts/make-demo.py [HEADROOM_PYTHON]

HEADROOM_PYTHON is a python with headroom-ai==0.28.0 installed; without it the script makes a venv
under target/ and installs it from PyPI. Timestamps and ids are fixed so the output is stable.
"""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
OUT = FIX / "demo"
MODEL = "claude-sonnet-4-5-20250929"
FAKE_KEY = "sk-ant-api03-DEMOKEY0000000000000000000000000000000000-NOTREAL"


def read(rel):
    return (FIX / rel).read_text()


def env_output():
    # A real run of env | grep, with a fake key in the environment.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ANTHROPIC_API_KEY": FAKE_KEY, "ORDERS_DB_URL": "postgres://orders@localhost/orders"}
    return subprocess.run("env | grep -E 'API_KEY|_URL' | sort", shell=True, env=env, capture_output=True, text=True).stdout


STEPS = [
    ("I'll run the test suite first.", "Bash", {"command": "pytest -v tests", "description": "Run the tests"}, read("log/pytest-failures.log")),
    ("Three failures in remove and one in ratio. Let me look at the service log around the errors.", "Bash",
     {"command": "tail -n 900 /var/log/orders/service.log"}, read("log/python-service.log")),
    ("Which exceptions can the stdlib modules we use raise?", "Grep", {"pattern": "raise ", "path": "lib/python3.11", "glob": "*.py"},
     read("search/grep-python-stdlib-raise.txt")),
    ("Let me read the session module that changed.", "Read", {"file_path": "src/requests/sessions.py"}, read("code/requests-sessions.py")),
    ("And the diff between the two releases.", "Bash", {"command": "diff -ru requests-2.31.0 requests-2.32.3"}, read("diff/requests-2.31.0-2.32.3.ru.diff")),
    ("Which packages are installed?", "Bash", {"command": "pip inspect"}, read("json/pip-inspect.json")),
    ("Is the API key configured for the service?", "Bash", {"command": "env | grep -E 'API_KEY|_URL'"}, env_output()),
    ("The release notes should say what changed in 2.32.", "WebFetch", {"url": "https://github.com/psf/requests/blob/main/HISTORY.md"},
     read("prose/requests-HISTORY.md")),
]
SYSTEM = ("You are a coding agent working in the repository of an orders service. Use the tools to inspect the code, "
          "run commands and read files. Keep answers short and cite file names and line numbers.")
QUESTION = "pytest fails since we upgraded requests to 2.32 and the orders service logs errors. Find out why and tell me what to fix."
ANSWER = ("The failures are in the inventory code, not in requests: `remove` lets stock go negative (test_remove[11], [23], [35]) "
          "and raises KeyError for unknown SKUs, `ratio` divides by zero, and `add` rejects negative quantities as designed. "
          "The service log shows the same KeyError for order 1137 (missing unit_price) and a TypeError for order 1311 (qty None). "
          "Fix: validate quantities in remove(), guard ratio() against zero, and check order fields before pricing.")


def anthropic_session():
    """The session as Anthropic messages, one request per model call: [(messages, answer_content)]."""
    msgs = [{"role": "user", "content": QUESTION}]
    calls = []
    for i, (say, tool, args, output) in enumerate(STEPS):
        answer = [{"type": "text", "text": say}, {"type": "tool_use", "id": f"toolu_{i:02d}", "name": tool, "input": args}]
        calls.append((copy.deepcopy(msgs), answer))
        msgs.append({"role": "assistant", "content": answer})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i:02d}", "content": output}]})
    calls.append((copy.deepcopy(msgs), [{"type": "text", "text": ANSWER}]))
    return calls


def usage(i):
    return {"input_tokens": 1200 + 900 * i, "output_tokens": 60 + i, "cache_read_input_tokens": 800 * i, "cache_creation_input_tokens": 300}


def to_openai_chat(msgs):
    out = [{"role": "system", "content": SYSTEM}]
    for m in msgs:
        if isinstance(m["content"], str):
            out.append({"role": m["role"], "content": m["content"]})
            continue
        if m["role"] == "assistant":
            text = " ".join(b["text"] for b in m["content"] if b["type"] == "text")
            calls = [{"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(b["input"])}}
                     for b in m["content"] if b["type"] == "tool_use"]
            out.append({"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})})
        else:
            for b in m["content"]:
                out.append({"role": "tool", "tool_call_id": b["tool_use_id"], "content": b["content"]})
    return out


def to_responses_items(msgs):
    items = []
    for m in msgs:
        if isinstance(m["content"], str):
            items.append({"type": "message", "role": m["role"], "content": [{"type": "input_text", "text": m["content"]}]})
            continue
        for b in m["content"]:
            if b["type"] == "text":
                items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": b["text"]}]})
            elif b["type"] == "tool_use":
                items.append({"type": "function_call", "call_id": b["id"], "name": b["name"], "arguments": json.dumps(b["input"])})
            elif b["type"] == "tool_result":
                items.append({"type": "function_call_output", "call_id": b["tool_use_id"],
                              "output": json.dumps({"output": b["content"], "metadata": {"exit_code": 0}})})
    return items


def sse(answer_text, i):
    events = [("message_start", {"type": "message_start", "message": {"id": f"msg_demo_{i:02d}", "type": "message", "role": "assistant",
                                                                        "model": MODEL, "content": [], "usage": {"input_tokens": usage(i)["input_tokens"], "output_tokens": 1}}}),
              ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
    words = answer_text.split(" ")
    for k in range(0, len(words), 6):
        chunk = " ".join(words[k:k + 6]) + (" " if k + 6 < len(words) else "")
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}}))
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": usage(i)["output_tokens"]}}),
               ("message_stop", {"type": "message_stop"})]
    return "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events)


def ts(i, s=0):
    return f"2026-11-26T06:{10 + i:02d}:{s:02d}.000Z"


def har(calls):
    entries = []
    for i, (msgs, answer) in enumerate(calls):
        body = {"model": MODEL, "max_tokens": 8192, "system": SYSTEM, "messages": msgs, "stream": i == len(calls) - 1}
        if i == len(calls) - 1:
            content = {"size": 0, "mimeType": "text/event-stream", "text": sse(answer[0]["text"], i)}
        else:
            resp = {"id": f"msg_demo_{i:02d}", "type": "message", "role": "assistant", "model": MODEL, "content": answer,
                    "stop_reason": "tool_use", "usage": usage(i)}
            content = {"size": 0, "mimeType": "application/json", "text": json.dumps(resp)}
        entries.append({
            "startedDateTime": ts(i), "time": 2100 + 10 * i,
            "request": {"method": "POST", "url": "https://api.anthropic.com/v1/messages", "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "content-type", "value": "application/json"}, {"name": "x-api-key", "value": FAKE_KEY},
                                    {"name": "authorization", "value": "Bearer " + FAKE_KEY}, {"name": "anthropic-version", "value": "2023-06-01"},
                                    {"name": "cookie", "value": "session=demo-cookie-value"}],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1,
                        "postData": {"mimeType": "application/json", "text": json.dumps(body)}},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                         "content": content, "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 1, "wait": 2000 + 10 * i, "receive": 20},
        })
    return {"log": {"version": "1.2", "creator": {"name": "ctxlens make-demo", "version": "1"}, "entries": entries}}


def claude_transcript(calls):
    lines, parent = [], None
    base = {"sessionId": "5f0c7a52-demo-4e5b-9d00-000000000001", "cwd": "/srv/orders", "version": "2.1.72", "gitBranch": "main",
            "userType": "external", "isSidechain": False}

    def add(kind, message, i, s, extra=None):
        nonlocal parent
        uuid = f"00000000-0000-4000-8000-{len(lines):012d}"
        line = {**base, "type": kind, "uuid": uuid, "parentUuid": parent, "timestamp": ts(i, s), "message": message, **(extra or {})}
        lines.append(line)
        parent = uuid
        return uuid

    add("user", {"role": "user", "content": QUESTION}, 0, 0)
    for i, (msgs, answer) in enumerate(calls):
        mid = f"msg_demo_{i:02d}"
        # one response, written as one line per content block
        for k, block in enumerate(answer):
            add("assistant", {"id": mid, "type": "message", "role": "assistant", "model": MODEL, "content": [block],
                              "stop_reason": None if k < len(answer) - 1 else "tool_use", "usage": usage(i)}, i, 5 + k, {"requestId": f"req_{i:02d}"})
        if i + 1 < len(calls):
            result = calls[i + 1][0][-1]
            if i == 2:
                # a rewound attempt: a branch from here that the user abandoned
                keep = parent
                add("user", {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i:02d}", "content": "interrupted"}]}, i, 30)
                parent = keep
            add("user", result, i, 40)
    lines.insert(3, {**base, "type": "assistant", "isSidechain": True, "uuid": "sidechain-0001", "parentUuid": None, "timestamp": ts(0, 20),
                     "agentId": "a1", "message": {"id": "msg_side", "role": "assistant", "model": MODEL, "content": [{"type": "text", "text": "sub-agent note"}]}})
    lines.insert(0, {"type": "summary", "summary": "Orders service test failures", "leafUuid": parent})
    return lines


def codex_rollout(calls):
    out = [{"timestamp": ts(0), "type": "session_meta", "payload": {"id": "0199-demo", "timestamp": ts(0), "cwd": "/srv/orders",
                                                                       "originator": "codex_cli_rs", "cli_version": "0.46.0", "instructions": SYSTEM}},
           {"timestamp": ts(0), "type": "turn_context", "payload": {"cwd": "/srv/orders", "model": "gpt-5-codex", "approval_policy": "on-request"}}]
    items = to_responses_items(calls[-1][0] + [{"role": "assistant", "content": calls[-1][1]}])
    for k, item in enumerate(items):
        out.append({"timestamp": ts(k // 3, k % 60), "type": "response_item", "payload": item})
        if item["type"] == "function_call":
            out.append({"timestamp": ts(k // 3, k % 60), "type": "event_msg", "payload": {"type": "token_count", "info": {
                "last_token_usage": {"input_tokens": 1000 + 700 * k, "cached_input_tokens": 600 * k, "output_tokens": 40, "total_tokens": 1040 + 700 * k},
                "total_token_usage": {"input_tokens": 1000 * (k + 1), "output_tokens": 40 * (k + 1)}}}})
    return out


def headroom_log(calls, python):
    """Runs real Headroom on every request in a subprocess and returns RequestLog lines."""
    program = r'''
import json, sys
from headroom import compress
calls = json.load(sys.stdin)
out = []
for i, msgs in enumerate(calls):
    r = compress(msgs, model=sys.argv[1])
    saved = r.tokens_before - r.tokens_after
    out.append({"request_id": f"hr-demo-{i:02d}", "timestamp": f"2026-11-26T06:{10 + i:02d}:01", "provider": "anthropic", "model": sys.argv[1],
        "input_tokens_original": r.tokens_before, "input_tokens_optimized": r.tokens_after, "output_tokens": 60 + i, "tokens_saved": saved,
        "savings_percent": round(100.0 * saved / max(r.tokens_before, 1), 2), "optimization_latency_ms": 0.0, "total_latency_ms": 0.0,
        "tags": {"client": "claude-code"}, "cache_hit": False, "transforms_applied": r.transforms_applied, "waste_signals": {},
        "request_messages": msgs, "compressed_messages": r.messages, "response_content": None, "error": None, "turn_id": f"turn-{i:02d}"})
print(json.dumps(out))
'''
    res = subprocess.run([python, "-c", program, MODEL], input=json.dumps([m for m, _ in calls]), capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else None
    if python is None:
        venv = ROOT / "target" / "headroom-venv"
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "headroom-ai==0.28.0"], check=True)
        python = str(venv / "bin" / "python")
    OUT.mkdir(parents=True, exist_ok=True)
    calls = anthropic_session()
    last_msgs = calls[-1][0]
    write = lambda name, obj: (OUT / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")  # noqa: E731
    write("anthropic-request.json", {"model": MODEL, "max_tokens": 8192, "system": SYSTEM, "messages": last_msgs})
    write("openai-chat-request.json", {"model": "gpt-4o", "messages": to_openai_chat(last_msgs)})
    write("openai-responses-request.json", {"model": "gpt-5-codex", "instructions": SYSTEM, "input": to_responses_items(last_msgs)})
    (OUT / "anthropic-response.sse").write_text(sse(ANSWER, len(calls) - 1))
    write("capture.har", har(calls))
    jsonl = lambda name, rows: (OUT / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))  # noqa: E731
    jsonl("claude-code-session.jsonl", claude_transcript(calls))
    jsonl("codex-rollout.jsonl", codex_rollout(calls))
    jsonl("headroom-requests.jsonl", headroom_log(calls, python))
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")


if __name__ == "__main__":
    main()
