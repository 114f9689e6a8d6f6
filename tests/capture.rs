//! Capture loaders on the shipped demo (every format) and on malformed input.

mod common;

use std::path::Path;

use common::*;
use ctxlens::capture::{self, Api, BlockKind, Format, Role};

const FAKE_KEY: &str = "sk-ant-api03-DEMOKEY0000000000000000000000000000000000-NOTREAL";

fn demo(name: &str) -> capture::Capture {
    capture::load(&fixtures().join("demo").join(name)).unwrap()
}

fn tool_results(f: &capture::Flow) -> Vec<&str> {
    f.blocks().filter(|b| b.kind == BlockKind::ToolResult).map(|b| b.text.as_str()).collect()
}

#[test]
fn every_demo_format_loads_the_same_session() {
    // byte for byte, but for what redaction replaces (the requests changelog in the diff quotes a
    // proxy URL with a password: `https://user:pass@proxy:8080`)
    let expected_results = [
        "log/pytest-failures.log",
        "log/python-service.log",
        "search/grep-python-stdlib-raise.txt",
        "code/requests-sessions.py",
        "diff/requests-2.31.0-2.32.3.ru.diff",
        "json/pip-inspect.json",
    ]
    .map(|f| {
        let mut text = read(f);
        capture::redact::redact(&mut text);
        text
    });
    assert!(expected_results[4].contains("(`https://user:[REDACTED]@proxy:8080`)"));
    for (file, format, api) in [
        ("anthropic-request.json", Format::AnthropicRequest, Api::AnthropicMessages),
        ("openai-chat-request.json", Format::OpenAiChatRequest, Api::OpenAiChat),
        ("openai-responses-request.json", Format::OpenAiResponsesRequest, Api::OpenAiResponses),
    ] {
        let c = demo(file);
        assert_eq!(c.format, format, "{file}");
        assert_eq!(c.flows.len(), 1);
        assert_eq!(c.flows[0].api, api);
        let results = tool_results(&c.flows[0]);
        assert_eq!(results.len(), 8, "{file}");
        for (got, want) in results.iter().zip(&expected_results) {
            assert_eq!(*got, want.as_str(), "{file}: a tool result was not loaded byte for byte");
        }
        assert_eq!(c.flows[0].messages[0].blocks[0].kind, BlockKind::SystemPrompt, "{file}");
        assert!(c.problems.is_empty(), "{file}: {:?}", c.problems);
    }
}

#[test]
fn har_entries_become_flows_with_responses_and_redacted_headers() {
    let c = demo("capture.har");
    assert_eq!(c.format, Format::Har);
    assert_eq!(c.flows.len(), 9);
    for (i, f) in c.flows.iter().enumerate() {
        assert_eq!(tool_results(f).len(), i, "flow {i} carries the history so far");
        assert!(!f.response.is_empty(), "flow {i} has its response");
        for (k, v) in &f.headers {
            if ["x-api-key", "authorization", "cookie"].contains(&k.as_str()) {
                assert_eq!(v, "[REDACTED]");
            }
        }
        assert!(f.location.path.starts_with("entries["));
    }
    // the last response was streamed (SSE) and is assembled
    let last = c.flows.last().unwrap();
    assert!(last.response[0].blocks[0].text.starts_with("The failures are in the inventory code"));
    assert!(c.redacted >= 27);
}

#[test]
fn transcripts_follow_the_main_chain_and_merge_split_responses() {
    let c = demo("claude-code-session.jsonl");
    assert_eq!(c.format, Format::ClaudeCode);
    assert_eq!(c.flows.len(), 9);
    let all: String = c
        .flows
        .iter()
        .flat_map(|f| f.blocks().chain(f.response.iter().flat_map(|m| m.blocks.iter())))
        .map(|b| b.text.clone())
        .collect();
    assert!(!all.contains("sub-agent note"), "side chains are left out");
    assert!(!all.contains("interrupted"), "the rewound branch is left out");
    let left = c.problems.iter().find(|p| p.reason.starts_with("not shown:")).expect("what is left out is counted");
    assert!(left.reason.contains("1 sub-agent") && left.reason.contains("on branches"), "{}", left.reason);
    // each answer was written as two lines (text, tool_use) and is one response of two blocks
    let kinds: Vec<BlockKind> = c.flows[1].response[0].blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, [BlockKind::Text, BlockKind::ToolUse]);
    assert_eq!(c.flows[1].usage.as_ref().unwrap().input_tokens, Some(2100));
    let codex = demo("codex-rollout.jsonl");
    assert_eq!(codex.format, Format::Codex);
    assert_eq!(codex.flows.len(), 9);
    assert_eq!(codex.flows[0].messages[0].role, Role::System);
    assert!(codex.flows.iter().skip(1).all(|f| tool_results(f).len() == 1));
    assert!(codex.flows[1].usage.is_some());
}

#[test]
fn transcripts_follow_compaction_and_a_sub_agent_file_shows_its_own_chain() {
    let line = |uuid: &str, parent: Option<&str>, kind: &str, text: &str, extra: serde_json::Value| {
        let mut v = serde_json::json!({"type": kind, "uuid": uuid, "parentUuid": parent, "isSidechain": false,
            "sessionId": "s", "timestamp": "2026-11-26T06:10:00.000Z",
            "message": {"role": kind, "id": format!("m{uuid}"), "content": [{"type": "text", "text": text}]}});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v.to_string()
    };
    let none = serde_json::json!({});
    let lines = [
        line("a", None, "user", "before compaction: the first question", none.clone()),
        line("b", Some("a"), "assistant", "before compaction: the first answer", none.clone()),
        serde_json::json!({"type": "system", "subtype": "compact_boundary", "uuid": "c", "parentUuid": null,
            "logicalParentUuid": "b", "compactMetadata": {"trigger": "manual", "preTokens": 12000}})
        .to_string(),
        line(
            "d",
            Some("c"),
            "user",
            "This session is being continued (summary)",
            serde_json::json!({"isCompactSummary": true}),
        ),
        line("e", Some("d"), "assistant", "after compaction: an answer", none.clone()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let c = capture::load(&write(dir.path(), "t.jsonl", &lines.join("\n"))).unwrap();
    assert_eq!(c.format, Format::ClaudeCode);
    let all: Vec<String> = c
        .flows
        .iter()
        .flat_map(|f| f.blocks().chain(f.response.iter().flat_map(|m| m.blocks.iter())))
        .map(|b| b.text.clone())
        .collect();
    assert!(all.iter().any(|t| t.contains("the first question")), "history before /compact: {all:?}");
    assert!(all.iter().any(|t| t.contains("after compaction")), "{all:?}");
    assert_eq!(c.flows.len(), 2);
    // a sub-agent's own file: every line is side chain
    let agent: Vec<String> =
        lines[..2].iter().map(|l| l.replace("\"isSidechain\":false", "\"isSidechain\":true")).collect();
    let c = capture::load(&write(dir.path(), "agent-x.jsonl", &agent.join("\n"))).unwrap();
    assert_eq!(c.format, Format::ClaudeCode, "{:?}", c.problems);
    assert_eq!(c.flows.len(), 1, "{:?}", c.problems);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
}

#[test]
fn headroom_log_has_what_headroom_sent() {
    let c = demo("headroom-requests.jsonl");
    assert_eq!(c.format, Format::HeadroomLog);
    assert_eq!(c.flows.len(), 9);
    let f = &c.flows[2];
    let recorded = f.recorded.as_ref().expect("compressed_messages");
    let orig = tool_results(f);
    let sent: Vec<&str> = recorded
        .iter()
        .flat_map(|m| m.blocks.iter())
        .filter(|b| b.kind == BlockKind::ToolResult)
        .map(|b| b.text.as_str())
        .collect();
    assert_eq!(orig.len(), sent.len());
    assert!(sent[1].len() < orig[1].len(), "Headroom compressed the service log");
    let [before, after] = f.headroom_tokens.unwrap();
    assert!(after < before);
    assert!(f.transforms.iter().any(|t| t.starts_with("router:")), "{:?}", f.transforms);
}

#[test]
fn secrets_never_survive_loading() {
    for entry in std::fs::read_dir(fixtures().join("demo")).unwrap() {
        let path = entry.unwrap().path();
        let c = capture::load(&path).unwrap();
        let dump = serde_json::to_string(&c).unwrap();
        assert!(!dump.contains(FAKE_KEY), "{}: the demo key leaked", path.display());
        assert!(!dump.contains("demo-cookie-value"), "{}", path.display());
        if !path.ends_with("anthropic-response.sse") {
            assert!(c.redacted > 0, "{}", path.display());
        }
    }
}

#[test]
fn a_folder_loads_each_file_in_its_own_format() {
    let c = capture::load(&fixtures().join("demo")).unwrap();
    assert_eq!(c.format, Format::Folder);
    let singles: usize = std::fs::read_dir(fixtures().join("demo"))
        .unwrap()
        .map(|e| capture::load(&e.unwrap().path()).unwrap().flows.len())
        .sum();
    assert_eq!(c.flows.len(), singles);
    for (i, f) in c.flows.iter().enumerate() {
        assert_eq!(f.index, i);
    }
    let plain = capture::load(&fixtures().join("log")).unwrap();
    assert!(plain.flows.iter().all(|f| f.api == Api::Files && f.blocks().count() == 1));
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn malformed_lines_are_counted_with_their_place_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixtures().join("demo/headroom-requests.jsonl")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let huge = format!(
        "{{\"request_id\":\"big\",\"request_messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(20 << 20)
    );
    let text = format!("{}\n{}\n[1,2,3]\n{}\n{}\n", lines[0], &lines[1][..lines[1].len() / 2], huge, lines[2]);
    let p = write(dir.path(), "log.jsonl", &text);
    let c = capture::load(&p).unwrap();
    assert_eq!(c.format, Format::HeadroomLog);
    assert_eq!(c.flows.len(), 3, "good lines and the huge one load");
    assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
    assert_eq!(c.problems[0].location.line, 2);
    assert!(c.problems[0].reason.contains("not a JSON line"));
    assert_eq!(c.problems[1].location.line, 3);
    assert!(c.problems[1].location.to_string().starts_with(&format!("{}:3", p.display())));
    // a truncated HAR lists its problem
    let har = std::fs::read_to_string(fixtures().join("demo/capture.har")).unwrap();
    let p = write(dir.path(), "t.har", &har[..har.len() / 2]);
    let c = capture::load(&p).unwrap();
    assert_eq!(c.format, Format::Har);
    assert!(!c.problems.is_empty());
    // a transcript with wrong types in a line
    let p = write(
        dir.path(),
        "s.jsonl",
        "{\"type\":\"user\",\"uuid\":\"a\",\"sessionId\":\"s\",\"message\":{\"role\":\"user\",\"content\":42}}\n{\"type\":\"assistant\",\"uuid\":\"b\",\"parentUuid\":\"a\",\"sessionId\":\"s\",\"message\":\"oops\"}\n",
    );
    let c = capture::load(&p).unwrap();
    assert_eq!(c.format, Format::ClaudeCode);
    assert!(c.flows.len() <= 1);
    // binary and missing files
    let p = dir.path().join("bin.dat");
    std::fs::write(&p, [0u8, 1, 2, 3]).unwrap();
    let c = capture::load(&p).unwrap();
    assert_eq!(c.problems.len(), 1);
    assert!(capture::load(&dir.path().join("missing")).unwrap_err().to_string().contains("missing"));
}

/// A recorded compression that does not line up message for message with its request is left out
/// and said so, for the CLI and the workbench alike (before, the CLI claimed it and the workbench
/// quietly showed none).
#[test]
fn a_recording_that_does_not_line_up_is_a_problem_not_a_silent_gap() {
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/headroom-proxy/requests.jsonl"))
            .unwrap();
    let mut first: serde_json::Value = serde_json::from_str(src.lines().nth(2).unwrap()).unwrap();
    first["compressed_messages"].as_array_mut().unwrap().truncate(2);
    let mut flows = Vec::new();
    let mut problems = Vec::new();
    capture::load_bytes("cut.jsonl", format!("{first}\n").as_bytes(), &mut |e| match e {
        capture::Event::Flow(f) => flows.push(*f),
        capture::Event::Problem(p) => problems.push(p),
        _ => {}
    });
    assert_eq!(flows.len(), 1);
    assert!(flows[0].recorded.is_none());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].reason.contains("compressed_messages has 2 messages"), "{}", problems[0].reason);
    assert_eq!(problems[0].location.line, 1);
}
