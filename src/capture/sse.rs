//! Server-sent-event streams (Anthropic Messages, OpenAI Chat Completions and Responses)
//! assembled back into the response body they stream.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::provider::{Builder, response_messages};
use super::{Api, Event, Flow, Location, Problem};

/// The `(line, event, data)` of each event of an SSE text (the line its first field is on).
fn events(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let (mut event, mut data) = (String::new(), Vec::<&str>::new());
    let mut first = 0;
    for (i, line) in text.lines().chain(std::iter::once("")).enumerate() {
        if line.is_empty() {
            if !data.is_empty() || !event.is_empty() {
                out.push((first, std::mem::take(&mut event), data.join("\n")));
                data.clear();
            }
            continue;
        }
        if data.is_empty() && event.is_empty() {
            first = i + 1;
        }
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    out
}

/// A stream put back together.
pub struct Assembled {
    /// The response body the stream carried.
    pub body: Value,
    pub api: Api,
    /// Why the stream looks cut short (no closing event that reads as JSON), if it does.
    pub truncated: Option<&'static str>,
    /// Events whose data is not JSON, so what they carried is not in the body: (line, why).
    pub unreadable: Vec<(usize, String)>,
}

/// Rebuilds the response body a stream carried, the API it belongs to, whether it ended, and
/// which events could not be read.
pub fn assemble(text: &str) -> Result<Assembled, String> {
    let mut parsed = Vec::new();
    let mut unreadable = Vec::new();
    let mut done = false;
    for (line, event, data) in events(text) {
        done |= data.trim() == "[DONE]";
        if data.trim().is_empty() || data.trim() == "[DONE]" {
            continue;
        }
        match serde_json::from_str::<Value>(&data) {
            Ok(v) => parsed.push((event, v)),
            Err(e) => unreadable.push((line, format!("a stream event is not JSON ({e}); what it carried is missing"))),
        }
    }
    let (body, api) = assemble_body(&parsed)?;
    // a closing event counts only when it reads: a cut last line is a cut stream
    let has = |what: &str| parsed.iter().any(|(e, v)| e == what || v.get("type").and_then(Value::as_str) == Some(what));
    let truncated = match api {
        Api::AnthropicMessages if !has("message_stop") => Some("the stream ends before message_stop"),
        Api::OpenAiResponses
            if !has("response.completed") && !has("response.incomplete") && !has("response.failed") =>
        {
            Some("the stream ends before response.completed")
        }
        Api::OpenAiChat
            if !done
                && !parsed.iter().any(|(_, v)| {
                    v.get("choices")
                        .and_then(|c| c.get(0))
                        .and_then(|c| c.get("finish_reason"))
                        .is_some_and(Value::is_string)
                }) =>
        {
            Some("the stream ends before [DONE] or a finish_reason")
        }
        _ => None,
    };
    Ok(Assembled { body, api, truncated, unreadable })
}

fn assemble_body(parsed: &[(String, Value)]) -> Result<(Value, Api), String> {
    if parsed.is_empty() {
        return Err("no JSON events in the stream".into());
    }
    let ty = |v: &Value| v.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    if parsed.iter().any(|(e, v)| e == "message_start" || ty(v) == "message_start") {
        return Ok((anthropic(parsed), Api::AnthropicMessages));
    }
    if parsed.iter().any(|(_, v)| ty(v).starts_with("response.")) {
        if let Some(done) = parsed
            .iter()
            .rev()
            .find_map(|(_, v)| (ty(v) == "response.completed").then(|| v.get("response").cloned()).flatten())
        {
            return Ok((done, Api::OpenAiResponses));
        }
        let text: String = parsed
            .iter()
            .filter(|(_, v)| ty(v) == "response.output_text.delta")
            .filter_map(|(_, v)| v.get("delta").and_then(Value::as_str))
            .collect();
        return Ok((
            json!({"output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]}),
            Api::OpenAiResponses,
        ));
    }
    if parsed.iter().any(|(_, v)| v.get("choices").is_some()) {
        return Ok((openai_chat(parsed), Api::OpenAiChat));
    }
    Err("unknown stream (no message_start, response.* or choices events)".into())
}

fn anthropic(parsed: &[(String, Value)]) -> Value {
    let mut message = Map::new();
    // keyed by the stream's own `index`, so an index of 1e12 costs one entry, not a vector that long
    let mut blocks: BTreeMap<u64, (Value, String)> = BTreeMap::new();
    let mut usage = Map::new();
    for (_, v) in parsed {
        match v.get("type").and_then(Value::as_str).unwrap_or_default() {
            "message_start" => {
                if let Some(m) = v.get("message").and_then(Value::as_object) {
                    message = m.clone();
                    if let Some(u) = m.get("usage").and_then(Value::as_object) {
                        usage.extend(u.clone());
                    }
                }
            }
            "content_block_start" => {
                let next = blocks.keys().next_back().map_or(0, |k| k.saturating_add(1));
                let i = v.get("index").and_then(Value::as_u64).unwrap_or(next);
                blocks.insert(i, (v.get("content_block").cloned().unwrap_or(Value::Null), String::new()));
            }
            "content_block_delta" => {
                let i = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let Some(d) = v.get("delta") else { continue };
                let Some((block, partial_json)) = blocks.get_mut(&i) else { continue };
                let append = |b: &mut Value, key: &str, s: &str| {
                    let cur = b.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                    b[key] = Value::String(cur + s);
                };
                match d.get("type").and_then(Value::as_str).unwrap_or_default() {
                    "text_delta" => append(block, "text", d.get("text").and_then(Value::as_str).unwrap_or_default()),
                    "thinking_delta" => {
                        append(block, "thinking", d.get("thinking").and_then(Value::as_str).unwrap_or_default())
                    }
                    "input_json_delta" => {
                        partial_json.push_str(d.get("partial_json").and_then(Value::as_str).unwrap_or_default())
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(u) = v.get("usage").and_then(Value::as_object) {
                    usage.extend(u.clone());
                }
            }
            _ => {}
        }
    }
    let content = blocks
        .into_values()
        .filter(|(b, _)| b.is_object())
        .map(|(mut b, pj)| {
            if !pj.is_empty() {
                b["input"] = serde_json::from_str(&pj).unwrap_or(Value::String(pj));
            }
            b
        })
        .collect();
    message.insert("content".into(), Value::Array(content));
    message.insert("usage".into(), Value::Object(usage));
    Value::Object(message)
}

fn openai_chat(parsed: &[(String, Value)]) -> Value {
    let mut content = String::new();
    let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
    let mut usage = Value::Null;
    let mut model = Value::Null;
    for (_, v) in parsed {
        if let Some(m) = v.get("model") {
            model = m.clone();
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            usage = u.clone();
        }
        let Some(d) = v.get("choices").and_then(|c| c.get(0)).and_then(|c| c.get("delta")) else { continue };
        if let Some(s) = d.get("content").and_then(Value::as_str) {
            content.push_str(s);
        }
        for tc in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let i = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
            let call = calls.entry(i).or_default();
            if let Some(id) = tc.get("id").and_then(Value::as_str) {
                call.0 = id.to_string();
            }
            let f = tc.get("function");
            if let Some(n) = f.and_then(|f| f.get("name")).and_then(Value::as_str) {
                call.1.push_str(n);
            }
            if let Some(a) = f.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                call.2.push_str(a);
            }
        }
    }
    let tool_calls: Vec<Value> = calls
        .into_values()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
        .collect();
    let mut message = json!({"role": "assistant", "content": content});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({"model": model, "choices": [{"message": message}], "usage": usage})
}

/// A stream file on its own: one flow with the assembled response.
pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let loc = Location { file: name.to_string(), line: 1, path: String::new() };
    match assemble(text) {
        Ok(Assembled { body, api, truncated, unreadable }) => {
            for (line, reason) in unreadable {
                sink(Event::Problem(Problem { location: Location { line, ..loc.clone() }, reason }));
            }
            if let Some(why) = truncated {
                sink(Event::Problem(Problem { location: loc.clone(), reason: format!("truncated: {why}") }));
            }
            let mut b = Builder { file: name, line: 1 };
            let mut flow = Flow::new(0, api, loc);
            flow.model = body.get("model").and_then(Value::as_str).map(str::to_string);
            let (resp, usage) = response_messages(&mut b, &body);
            flow.response = resp;
            flow.usage = usage;
            sink(Event::Flow(Box::new(flow)));
        }
        Err(reason) => sink(Event::Problem(Problem { location: loc, reason })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_anthropic_stream() {
        let s = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":12}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"Read\",\"input\":{}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\":\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"a.rs\\\"}\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":7}}\n\n";
        let Assembled { body, api, truncated, .. } = assemble(s).unwrap();
        assert_eq!(api, Api::AnthropicMessages);
        assert_eq!(truncated, Some("the stream ends before message_stop"));
        assert_eq!(body["content"][0]["text"], "Hello");
        assert_eq!(body["content"][1]["input"]["path"], "a.rs");
        assert_eq!(body["usage"]["output_tokens"], 7);
        assert_eq!(body["usage"]["input_tokens"], 12);
    }

    #[test]
    fn assembles_openai_chat_stream() {
        let s = "data: {\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"Hi \"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"grep\",\"arguments\":\"{\\\"q\\\"\"}}]}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}],\"usage\":{\"prompt_tokens\":3}}\n\ndata: [DONE]\n\n";
        let Assembled { body, api, truncated, .. } = assemble(s).unwrap();
        assert_eq!(api, Api::OpenAiChat);
        assert_eq!(truncated, None);
        assert_eq!(body["choices"][0]["message"]["content"], "Hi ");
        assert_eq!(body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
    }

    #[test]
    fn a_huge_index_costs_one_entry_not_a_vector_that_long() {
        for index in ["1e12", "1000000000000", "18446744073709551615"] {
            let s = format!(
                "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{}}}}\n\n\
data: {{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{{\"type\":\"text\",\"text\":\"a\"}}}}\n\n\
data: {{\"type\":\"content_block_start\",\"content_block\":{{\"type\":\"text\",\"text\":\"b\"}}}}\n\n\
data: {{\"choices\":[{{\"delta\":{{\"tool_calls\":[{{\"index\":{index}}}]}}}}]}}\n\n"
            );
            let a = assemble(&s).unwrap();
            assert!(a.body["content"].as_array().unwrap().len() <= 2, "{index}: {}", a.body);
        }
    }
}
