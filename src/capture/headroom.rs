//! Headroom's proxy request log (`--log-file` with `--log-messages`): one JSON line per request,
//! with what the client sent (`request_messages`) and what Headroom sent upstream
//! (`compressed_messages`), so "what Headroom actually dropped" needs no recompression.

use serde_json::Value;

use super::provider::{Builder, messages_array};
use super::{Api, Event, Flow, Location, Problem, json_lines};

pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let mut index = 0;
    json_lines(name, text, sink, &mut |line, v, sink| {
        let loc = Location { file: name.to_string(), line, path: String::new() };
        if !v.is_object() {
            sink(Event::Problem(Problem { location: loc, reason: "not a request record (an object)".into() }));
            return;
        }
        let api = match v.get("provider").and_then(Value::as_str) {
            Some(p) if p.contains("openai") => Api::OpenAiChat,
            _ => Api::AnthropicMessages,
        };
        let mut b = Builder::new(name, line);
        let mut flow = Flow::new(index, api, loc);
        flow.model = v.get("model").and_then(Value::as_str).map(str::to_string);
        flow.timestamp = v.get("timestamp").and_then(Value::as_str).map(str::to_string);
        flow.messages =
            messages_array(&mut b, api, v.get("request_messages").unwrap_or(&Value::Null), "request_messages");
        if let Some(c) = v.get("compressed_messages").filter(|c| c.is_array()) {
            let recorded = messages_array(&mut b, api, c, "compressed_messages");
            // a recording that does not line up message for message cannot be set beside the
            // request block by block: said once, here, for the CLI and the workbench alike
            if recorded.len() == flow.messages.len() {
                flow.recorded = Some(recorded);
            } else {
                sink(Event::Problem(Problem {
                    location: flow.location.clone(),
                    reason: format!(
                        "compressed_messages has {} messages and request_messages {}: the recorded \
                         compression cannot be lined up with the request, so it is left out",
                        recorded.len(),
                        flow.messages.len()
                    ),
                }));
            }
        }
        flow.transforms = v
            .get("transforms_applied")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        if let (Some(a), Some(b)) = (n("input_tokens_original"), n("input_tokens_optimized")) {
            flow.headroom_tokens = Some([a, b]);
        }
        if flow.messages.is_empty() {
            sink(Event::Problem(Problem {
                location: flow.location.clone(),
                reason: "no request_messages (the proxy ran without --log-messages); counts only".into(),
            }));
        }
        index += 1;
        b.report(sink);
        sink(Event::Flow(Box::new(flow)));
    });
}
