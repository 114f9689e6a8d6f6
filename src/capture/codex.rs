//! Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`): one `{timestamp, type,
//! payload}` per line. Each model call is a flow: the user messages and tool outputs sent after the
//! previous answer, then the answer (assistant messages and tool calls); `token_count` events give
//! usage.

use serde_json::Value;

use super::provider::{Builder, responses_item};
use super::{Api, Block, BlockKind, Event, Flow, Location, Message, Role, Usage, json_lines};

pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let mut flows: Vec<Flow> = Vec::new();
    let mut model: Option<String> = None;
    let mut instructions: Option<(String, Location)> = None;
    json_lines(name, text, sink, &mut |line, v, _| {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let p = v.get("payload").unwrap_or(&Value::Null);
        let loc = Location { file: name.to_string(), line, path: String::new() };
        match ty {
            "session_meta" => {
                if let Some(ins) = p.get("instructions").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    instructions = Some((ins.to_string(), loc));
                }
            }
            "turn_context" => model = p.get("model").and_then(Value::as_str).map(str::to_string),
            "event_msg" => {
                if p.get("type").and_then(Value::as_str) == Some("token_count")
                    && let (Some(f), Some(u)) =
                        (flows.last_mut(), p.get("info").and_then(|i| i.get("last_token_usage")))
                {
                    let n = |k: &str| u.get(k).and_then(Value::as_u64);
                    f.usage = Some(Usage {
                        input_tokens: n("input_tokens"),
                        output_tokens: n("output_tokens"),
                        cache_read_tokens: n("cached_input_tokens"),
                        cache_write_tokens: None,
                    });
                }
            }
            "response_item" => {
                let mut b = Builder { file: name, line };
                let Some(m) = responses_item(&mut b, p, "payload") else { return };
                // A model call starts with what was sent after the previous answer.
                let request_side = m.role != Role::Assistant;
                let starts_call =
                    flows.is_empty() || (request_side && flows.last().is_some_and(|f| !f.response.is_empty()));
                if starts_call {
                    let mut f = Flow::new(flows.len(), Api::Transcript, loc);
                    f.model = model.clone();
                    f.timestamp = v.get("timestamp").and_then(Value::as_str).map(str::to_string);
                    if flows.is_empty()
                        && let Some((ins, iloc)) = instructions.take()
                    {
                        let block = Block {
                            kind: BlockKind::SystemPrompt,
                            role: Role::System,
                            text: ins,
                            tool_name: None,
                            tool_id: None,
                            is_error: false,
                            location: iloc,
                        };
                        f.messages.push(Message { role: Role::System, blocks: vec![block] });
                    }
                    flows.push(f);
                }
                let f = flows.last_mut().expect("a flow");
                if m.role == Role::Assistant { f.response.push(m) } else { f.messages.push(m) }
            }
            _ => {}
        }
    });
    for f in flows {
        sink(Event::Flow(Box::new(f)));
    }
}
