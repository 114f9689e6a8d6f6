//! Server-sent-event streams (Anthropic Messages, OpenAI Chat Completions and Responses)
//! assembled back into the response body they stream.

use serde_json::{Map, Value, json};

use super::provider::{Builder, response_messages};
use super::{Api, Event, Flow, Location, Problem};

/// The `(event, data)` pairs of an SSE text.
fn events(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut event, mut data) = (String::new(), Vec::<&str>::new());
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty() || !event.is_empty() {
                out.push((std::mem::take(&mut event), data.join("\n")));
                data.clear();
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    out
}

/// Rebuilds the response body a stream carried, and the API it belongs to.
pub fn assemble(text: &str) -> Result<(Value, Api), String> {
    let evs = events(text);
    let parsed: Vec<(String, Value)> = evs
        .iter()
        .filter(|(_, d)| !d.trim().is_empty() && d.trim() != "[DONE]")
        .filter_map(|(e, d)| serde_json::from_str::<Value>(d).ok().map(|v| (e.clone(), v)))
        .collect();
    if parsed.is_empty() {
        return Err("no JSON events in the stream".into());
    }
    let ty = |v: &Value| v.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    if parsed.iter().any(|(e, v)| e == "message_start" || ty(v) == "message_start") {
        return Ok((anthropic(&parsed), Api::AnthropicMessages));
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
        return Ok((openai_chat(&parsed), Api::OpenAiChat));
    }
    Err("unknown stream (no message_start, response.* or choices events)".into())
}

fn anthropic(parsed: &[(String, Value)]) -> Value {
    let mut message = Map::new();
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial_json: Vec<String> = Vec::new();
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
                let i = v.get("index").and_then(Value::as_u64).unwrap_or(blocks.len() as u64) as usize;
                while blocks.len() <= i {
                    blocks.push(Value::Null);
                    partial_json.push(String::new());
                }
                blocks[i] = v.get("content_block").cloned().unwrap_or(Value::Null);
            }
            "content_block_delta" => {
                let i = v.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                let Some(d) = v.get("delta") else { continue };
                if i >= blocks.len() {
                    continue;
                }
                let append = |b: &mut Value, key: &str, s: &str| {
                    let cur = b.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                    b[key] = Value::String(cur + s);
                };
                match d.get("type").and_then(Value::as_str).unwrap_or_default() {
                    "text_delta" => {
                        append(&mut blocks[i], "text", d.get("text").and_then(Value::as_str).unwrap_or_default())
                    }
                    "thinking_delta" => append(
                        &mut blocks[i],
                        "thinking",
                        d.get("thinking").and_then(Value::as_str).unwrap_or_default(),
                    ),
                    "input_json_delta" => {
                        partial_json[i].push_str(d.get("partial_json").and_then(Value::as_str).unwrap_or_default())
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
    for (b, pj) in blocks.iter_mut().zip(&partial_json) {
        if !pj.is_empty() {
            b["input"] = serde_json::from_str(pj).unwrap_or(Value::String(pj.clone()));
        }
    }
    message.insert("content".into(), Value::Array(blocks.into_iter().filter(|b| !b.is_null()).collect()));
    message.insert("usage".into(), Value::Object(usage));
    Value::Object(message)
}

fn openai_chat(parsed: &[(String, Value)]) -> Value {
    let mut content = String::new();
    let mut calls: Vec<(String, String, String)> = Vec::new();
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
            let i = tc.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
            while calls.len() <= i {
                calls.push(Default::default());
            }
            if let Some(id) = tc.get("id").and_then(Value::as_str) {
                calls[i].0 = id.to_string();
            }
            let f = tc.get("function");
            if let Some(n) = f.and_then(|f| f.get("name")).and_then(Value::as_str) {
                calls[i].1.push_str(n);
            }
            if let Some(a) = f.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                calls[i].2.push_str(a);
            }
        }
    }
    let tool_calls: Vec<Value> = calls
        .into_iter()
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
        Ok((body, api)) => {
            let mut b = Builder { file: name, line: 1, redacted: 0 };
            let mut flow = Flow::new(0, api, loc);
            flow.model = body.get("model").and_then(Value::as_str).map(str::to_string);
            let (resp, usage) = response_messages(&mut b, &body);
            flow.response = resp;
            flow.usage = usage;
            if b.redacted > 0 {
                sink(Event::Redacted(b.redacted));
            }
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
        let (body, api) = assemble(s).unwrap();
        assert_eq!(api, Api::AnthropicMessages);
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
        let (body, api) = assemble(s).unwrap();
        assert_eq!(api, Api::OpenAiChat);
        assert_eq!(body["choices"][0]["message"]["content"], "Hi ");
        assert_eq!(body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
    }
}
