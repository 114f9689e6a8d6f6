//! Claude Code transcripts (`~/.claude/projects/<project>/<session>.jsonl`).
//!
//! Lines form a tree by `uuid` / `parentUuid` (rewinds make branches); the conversation is the
//! chain that ends at the last message, followed back through `/compact` boundaries (a new root
//! whose `logicalParentUuid` names the message before it). Side chains (sub-agents) and abandoned
//! branches are left out and counted in a problem; a sub-agent's own file, side chain throughout,
//! shows its chain. One API response is
//! written as several lines sharing `message.id` (one per content block): they are merged. Each
//! flow is one model call: the user and tool-result messages since the previous answer, and the
//! answer. A transcript holds what the client sent, before any proxy compressed it.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::provider::{Builder, messages_array};
use super::{Api, Event, Flow, Location, Message, Problem, Role, Usage, json_lines};

struct Line {
    line: usize,
    value: Value,
}

pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let mut lines: Vec<Line> = Vec::new();
    json_lines(name, text, sink, &mut |line, value, _| lines.push(Line { line, value }));
    let kind = |v: &Value| v.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let is_msg = |v: &Value| matches!(kind(v).as_str(), "user" | "assistant") && v.get("message").is_some();
    // The main chain: from the last non-sidechain message back to the root.
    let by_uuid: HashMap<&str, usize> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.value.get("uuid").and_then(Value::as_str).map(|u| (u, i)))
        .collect();
    let mut chain: HashSet<usize> = HashSet::new();
    let sidechain = |v: &Value| v.get("isSidechain").and_then(Value::as_bool) == Some(true);
    // a sub-agent's own file is side chain throughout: its chain is then the one to show
    let last = lines
        .iter()
        .rposition(|l| is_msg(&l.value) && !sidechain(&l.value))
        .or_else(|| lines.iter().rposition(|l| is_msg(&l.value)));
    let has_tree = lines.iter().any(|l| l.value.get("uuid").is_some());
    if let Some(mut i) = last.filter(|_| has_tree) {
        loop {
            chain.insert(i);
            // `/compact` starts a new root whose `logicalParentUuid` is the last message before it:
            // the history before the compaction is followed through it
            let v = &lines[i].value;
            let parent = match v.get("parentUuid").and_then(Value::as_str) {
                Some(p) => p,
                None => match v.get("logicalParentUuid").and_then(Value::as_str) {
                    Some(p) => p,
                    None => break,
                },
            };
            match by_uuid.get(parent) {
                Some(&p) if !chain.contains(&p) => i = p,
                _ => break,
            }
        }
    }
    let on_chain = |i: usize| !has_tree || chain.contains(&i);
    // what the conversation's chain leaves out is counted, never dropped silently
    let (mut side, mut branch) = (0, 0);
    for (i, l) in lines.iter().enumerate() {
        if is_msg(&l.value) && !on_chain(i) {
            if sidechain(&l.value) { side += 1 } else { branch += 1 }
        }
    }
    if side + branch > 0 {
        let mut parts = Vec::new();
        if side > 0 {
            parts.push(format!("{side} sub-agent (side chain) messages"));
        }
        if branch > 0 {
            parts.push(format!("{branch} messages on branches the conversation left (rewinds, edits)"));
        }
        sink(Event::Problem(Problem {
            location: Location { file: name.to_string(), line: 1, path: String::new() },
            reason: format!(
                "not shown: {}; the flows follow the chain that ends at the last message",
                parts.join(" and ")
            ),
        }));
    }

    let mut flows: Vec<Flow> = Vec::new();
    // message.id of each flow's answer, to merge the lines of one split response
    let mut answer_ids: Vec<String> = Vec::new();
    let mut pending: Vec<Message> = Vec::new();
    let mut pending_loc: Option<Location> = None;
    let mut seen_blocks: HashSet<(String, String)> = HashSet::new();
    for (i, l) in lines.iter().enumerate() {
        let v = &l.value;
        if !is_msg(v) || !on_chain(i) {
            continue;
        }
        let msg = &v["message"];
        let mut b = Builder { file: name, line: l.line };
        let loc = Location { file: name.to_string(), line: l.line, path: String::new() };
        let wrapped = Value::Array(vec![msg.clone()]);
        let mut parsed = messages_array(&mut b, Api::AnthropicMessages, &wrapped, "message");
        let Some(mut m) = parsed.pop() else { continue };
        if kind(v) == "user" {
            if m.blocks.is_empty() {
                continue;
            }
            pending_loc.get_or_insert(loc);
            pending.push(m);
            continue;
        }
        // Assistant: a line of the same response as the previous flow's merges into it.
        m.role = Role::Assistant;
        let id = msg.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let same = !id.is_empty() && answer_ids.last() == Some(&id) && pending.is_empty();
        if !id.is_empty() {
            m.blocks.retain(|bl| {
                seen_blocks.insert((id.clone(), bl.text.clone() + bl.tool_id.as_deref().unwrap_or_default()))
            });
        }
        if same {
            if let Some(f) = flows.last_mut() {
                match f.response.first_mut() {
                    Some(r) => r.blocks.extend(m.blocks),
                    None => f.response.push(m),
                }
                if let Some(u) = usage(msg) {
                    f.usage = Some(u);
                }
            }
            continue;
        }
        let mut flow = Flow::new(flows.len(), Api::Transcript, pending_loc.take().unwrap_or(loc));
        flow.model = msg.get("model").and_then(Value::as_str).filter(|m| *m != "<synthetic>").map(str::to_string);
        flow.timestamp = v.get("timestamp").and_then(Value::as_str).map(str::to_string);
        answer_ids.push(id);
        flow.messages = std::mem::take(&mut pending);
        flow.response = vec![m];
        flow.usage = usage(msg);
        flows.push(flow);
    }
    if !pending.is_empty() {
        let mut flow = Flow::new(
            flows.len(),
            Api::Transcript,
            pending_loc.take().unwrap_or(Location { file: name.to_string(), line: 1, path: String::new() }),
        );
        flow.messages = pending;
        flows.push(flow);
    }
    if flows.is_empty() && !lines.is_empty() {
        sink(Event::Problem(Problem {
            location: Location { file: name.to_string(), line: 1, path: String::new() },
            reason: "no user or assistant messages in the transcript".into(),
        }));
    }
    for f in flows {
        sink(Event::Flow(Box::new(f)));
    }
}

fn usage(msg: &Value) -> Option<Usage> {
    let u = msg.get("usage")?;
    let n = |k: &str| u.get(k).and_then(Value::as_u64);
    Some(Usage {
        input_tokens: n("input_tokens"),
        output_tokens: n("output_tokens"),
        cache_read_tokens: n("cache_read_input_tokens"),
        cache_write_tokens: n("cache_creation_input_tokens"),
    })
}
