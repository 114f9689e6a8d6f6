//! HAR 1.2 (browser or mitmproxy exports): entries to Anthropic `/v1/messages`, OpenAI
//! `/v1/chat/completions` and `/v1/responses` become flows; their JSON or SSE responses are
//! assembled. Entries are located without parsing the whole document into memory, then parsed one
//! by one, so the first flows arrive early.

use base64::Engine as _;
use serde_json::Value;

use super::provider::{Builder, api_of, request_messages, response_messages};
use super::redact::{REDACTED, is_secret_header};
use super::{Api, Event, Flow, Location, Problem};
use crate::engine::jsonspan;

/// Byte ranges of the elements of `log.entries`.
fn entry_spans(text: &str) -> Result<Vec<std::ops::Range<usize>>, String> {
    let key = text.find("\"entries\"").ok_or("no log.entries")?;
    let b = text.as_bytes();
    let mut i = key + "\"entries\"".len();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if b.get(i) != Some(&b':') {
        return Err("log.entries has no value".into());
    }
    i += 1;
    skip_ws(&mut i);
    if b.get(i) != Some(&b'[') {
        return Err("log.entries is not an array".into());
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        skip_ws(&mut i);
        match b.get(i) {
            Some(b']') => return Ok(out),
            Some(b',') if !out.is_empty() => {
                i += 1;
                continue;
            }
            Some(_) => {
                let len = jsonspan::value_end(&text[i..])
                    .ok_or_else(|| format!("entry {} is not valid JSON (byte {i})", out.len() + 1))?;
                out.push(i..i + len);
                i += len;
            }
            None => return Err("log.entries is not closed (truncated?)".into()),
        }
    }
}

fn api_from_url(url: &str) -> Option<Api> {
    if url.contains("/v1/messages") && !url.contains("count_tokens") {
        Some(Api::AnthropicMessages)
    } else if url.contains("/chat/completions") {
        Some(Api::OpenAiChat)
    } else if url.contains("/responses") {
        Some(Api::OpenAiResponses)
    } else {
        None
    }
}

pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let spans = match entry_spans(text) {
        Ok(s) => s,
        Err(reason) => {
            sink(Event::Problem(Problem {
                location: Location { file: name.to_string(), line: 1, path: String::new() },
                reason,
            }));
            return;
        }
    };
    let mut index = 0;
    // line numbers counted incrementally: a 100 MB HAR must not rescan from the top per entry
    let (mut line, mut counted_to) = (1, 0);
    for (n, span) in spans.into_iter().enumerate() {
        line += text.as_bytes()[counted_to..span.start].iter().filter(|b| **b == b'\n').count();
        counted_to = span.start;
        let loc = Location { file: name.to_string(), line, path: format!("entries[{n}]") };
        let problem = |reason: String| Event::Problem(Problem { location: loc.clone(), reason });
        let entry: Value = match serde_json::from_str(&text[span]) {
            Ok(v) => v,
            Err(e) => {
                sink(problem(format!("not valid JSON: {e}")));
                continue;
            }
        };
        let req = &entry["request"];
        let url = req.get("url").and_then(Value::as_str).unwrap_or_default();
        let Some(body_text) = req.get("postData").and_then(|p| p.get("text")).and_then(Value::as_str) else { continue };
        let Ok(body) = serde_json::from_str::<Value>(body_text) else {
            if api_from_url(url).is_some() {
                sink(problem("request body is not JSON".into()));
            }
            continue;
        };
        let api = api_from_url(url).unwrap_or_else(|| api_of(&body));
        if api == Api::Unknown {
            continue;
        }
        let mut b = Builder { file: name, line, redacted: 0 };
        let mut flow = Flow::new(index, api, loc.clone());
        flow.url = Some(url.to_string());
        flow.timestamp = entry.get("startedDateTime").and_then(Value::as_str).map(str::to_string);
        flow.model = body.get("model").and_then(Value::as_str).map(str::to_string);
        flow.messages = request_messages(&mut b, api, &body);
        let mut secrets = 0;
        flow.headers = req
            .get("headers")
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        let k = h.get("name")?.as_str()?.to_string();
                        let v = h.get("value")?.as_str()?.to_string();
                        if is_secret_header(&k) {
                            secrets += 1;
                            Some((k, REDACTED.to_string()))
                        } else {
                            Some((k, v))
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(content) = entry.get("response").and_then(|r| r.get("content")) {
            let raw = content.get("text").and_then(Value::as_str).unwrap_or_default();
            let decoded = if content.get("encoding").and_then(Value::as_str) == Some("base64") {
                base64::engine::general_purpose::STANDARD
                    .decode(raw.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default()
            } else {
                raw.to_string()
            };
            let body = serde_json::from_str::<Value>(&decoded)
                .ok()
                .or_else(|| super::sse::assemble(&decoded).ok().map(|(v, _)| v));
            match body {
                Some(body) => {
                    let (resp, usage) = response_messages(&mut b, &body);
                    flow.response = resp;
                    flow.usage = usage;
                }
                None if !decoded.trim().is_empty() => {
                    sink(problem("response body is neither JSON nor an SSE stream".into()))
                }
                None => {}
            }
        }
        if b.redacted + secrets > 0 {
            sink(Event::Redacted(b.redacted + secrets));
        }
        index += 1;
        sink(Event::Flow(Box::new(flow)));
    }
}
