//! Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`): one `{timestamp, type,
//! payload}` per line. Each model call is a flow: the user messages and tool outputs sent after the
//! previous answer, then the answer (assistant messages and tool calls); `token_count` events give
//! usage.

use serde_json::Value;

use super::provider::{Builder, responses_item};
use super::{Api, Block, BlockKind, Event, Flow, Location, Message, Problem, Role, Usage, json_lines};

pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let mut flows: Vec<Flow> = Vec::new();
    let mut model: Option<String> = None;
    let mut instructions: Option<(String, Location)> = None;
    json_lines(name, text, sink, &mut |line, v, sink| {
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
            "response_item" | "compacted" => {
                let mut b = Builder::new(name, line);
                let m = if ty == "compacted" {
                    // the summary that stands for the history before it from here on
                    let text = p.get("message").and_then(Value::as_str).map_or_else(|| p.to_string(), str::to_string);
                    let block = b.block(BlockKind::Text, Role::User, text, "payload.message".into());
                    Some(Message { role: Role::User, blocks: vec![block] })
                } else {
                    responses_item(&mut b, p, "payload")
                };
                b.report(sink);
                let Some(m) = m else { return };
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
            // what the model was sent is in the lines above; a type this reader does not know
            // may hold more, and is said to be left out
            other => sink(Event::Problem(Problem {
                location: loc,
                reason: format!("a line of type {other:?} is not read: what it holds is not shown"),
            })),
        }
    });
    for f in flows {
        sink(Event::Flow(Box::new(f)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_and_the_compacted_summary_are_shown_and_an_unknown_line_is_said() {
        let lines = [
            r#"{"timestamp":"t0","type":"session_meta","payload":{"id":"s"}}"#,
            r#"{"timestamp":"t1","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"look it up"}]}}"#,
            r#"{"timestamp":"t2","type":"response_item","payload":{"type":"web_search_call","status":"completed","action":{"type":"search","query":"tokio select"}}}"#,
            r#"{"timestamp":"t3","type":"compacted","payload":{"message":"summary of the earlier turns"}}"#,
            r#"{"timestamp":"t4","type":"ghost","payload":{"what":"new"}}"#,
        ];
        let (mut flows, mut problems) = (Vec::new(), Vec::new());
        load("r.jsonl", &lines.join("\n"), &mut |e| match e {
            Event::Flow(f) => flows.push(*f),
            Event::Problem(p) => problems.push((p.location.line, p.reason)),
            _ => {}
        });
        let texts: Vec<&str> = flows
            .iter()
            .flat_map(|f| f.messages.iter().chain(&f.response))
            .flat_map(|m| &m.blocks)
            .map(|b| b.text.as_str())
            .collect();
        assert!(texts.iter().any(|t| t.contains("\"query\": \"tokio select\"")), "{texts:?}");
        assert!(texts.contains(&"summary of the earlier turns"), "{texts:?}");
        assert_eq!(problems, [(5, "a line of type \"ghost\" is not read: what it holds is not shown".to_string())]);
    }
}
