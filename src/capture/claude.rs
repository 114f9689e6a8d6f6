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
use std::hash::BuildHasher;

use serde_json::Value;

use super::provider::{Builder, messages_array};
use super::{Api, Event, Flow, Location, Message, Problem, Role, Usage, json_lines};

/// What the loader keeps of a line: its place in the tree, and a message line's message as its
/// JSON text, parsed again when its flow is built. (Every line kept parsed took about 20 times a
/// long transcript's size.)
struct Line {
    line: usize,
    /// A `user` or `assistant` line's `message`, as compact JSON; None on any other line.
    message: Option<String>,
    user: bool,
    uuid: Option<String>,
    /// `parentUuid`, else `logicalParentUuid` (a `/compact` boundary's link to the history).
    parent: Option<String>,
    sidechain: bool,
    timestamp: Option<String>,
}

pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let mut lines: Vec<Line> = Vec::new();
    let mut has_tree = false;
    json_lines(name, text, sink, &mut |line, mut v, _| {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        has_tree |= v.get("uuid").is_some();
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let user = kind == "user";
        let (uuid, parent, timestamp) = (s("uuid"), s("parentUuid").or_else(|| s("logicalParentUuid")), s("timestamp"));
        let sidechain = v.get("isSidechain").and_then(Value::as_bool) == Some(true);
        let message = matches!(kind, "user" | "assistant")
            .then(|| v.get_mut("message").map(Value::take))
            .flatten()
            .map(|m| m.to_string());
        lines.push(Line { line, message, user, uuid, parent, sidechain, timestamp });
    });
    let is_msg = |l: &Line| l.message.is_some();
    // The main chain: from the last non-sidechain message back to the root.
    let by_uuid: HashMap<&str, usize> =
        lines.iter().enumerate().filter_map(|(i, l)| l.uuid.as_deref().map(|u| (u, i))).collect();
    let mut chain: HashSet<usize> = HashSet::new();
    // a sub-agent's own file is side chain throughout: its chain is then the one to show
    let last = lines.iter().rposition(|l| is_msg(l) && !l.sidechain).or_else(|| lines.iter().rposition(is_msg));
    if let Some(mut i) = last.filter(|_| has_tree) {
        loop {
            chain.insert(i);
            // `/compact` starts a new root whose `logicalParentUuid` is the last message before it:
            // the history before the compaction is followed through it
            let Some(parent) = lines[i].parent.as_deref() else { break };
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
        if is_msg(l) && !on_chain(i) {
            if l.sidechain { side += 1 } else { branch += 1 }
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
    // each answer's blocks seen so far, by message.id and a hash of the block's text and tool id
    // (not a second copy of every answer's text)
    let mut seen_blocks: HashSet<(String, u64)> = HashSet::new();
    let hasher = std::hash::RandomState::new();
    let total = lines.len();
    for (i, l) in lines.iter_mut().enumerate() {
        if !on_chain(i) {
            continue;
        }
        // each message is parsed again in its turn, and its text let go
        let Some(message) = l.message.take() else { continue };
        let wrapped = Value::Array(vec![serde_json::from_str(&message).unwrap_or_default()]);
        drop(message);
        let msg = &wrapped[0];
        let mut b = Builder::new(name, l.line);
        let loc = Location { file: name.to_string(), line: l.line, path: String::new() };
        let mut parsed = messages_array(&mut b, Api::AnthropicMessages, &wrapped, "message");
        b.report(sink);
        let Some(mut m) = parsed.pop() else { continue };
        if l.user {
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
            m.blocks.retain(|bl| seen_blocks.insert((id.clone(), hasher.hash_one((&bl.text, &bl.tool_id)))));
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
        flow.timestamp = l.timestamp.take();
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
    if flows.is_empty() && total > 0 {
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
