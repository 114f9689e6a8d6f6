//! Server-sent-event streams (Anthropic Messages, OpenAI Chat Completions and Responses)
//! assembled back into the response body they stream.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::{Map, Value, json};

use super::provider::{Builder, response_messages};
use super::{Api, Event, Flow, Location, Problem};

/// The lines of an SSE text, each with the offset it starts at: a line ends at CRLF, LF or a
/// lone CR, as the format allows.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= b.len() {
            return None;
        }
        let start = pos;
        let end = memchr::memchr2(b'\n', b'\r', &b[pos..]).map_or(b.len(), |k| pos + k);
        pos = end + if b.get(end) == Some(&b'\r') && b.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
        Some((start, &text[start..end]))
    })
}

/// One event of an SSE text.
struct Ev {
    /// The line its first field is on.
    line: usize,
    event: String,
    /// Its data lines' values, joined by newlines.
    data: String,
    /// Where each data line's value lies in the text.
    spans: Vec<Range<usize>>,
}

/// The events of an SSE text.
fn events(text: &str) -> Vec<Ev> {
    let mut out = Vec::new();
    let (mut event, mut spans) = (String::new(), Vec::<Range<usize>>::new());
    let mut first = 0;
    let end = std::iter::once((text.len(), ""));
    for (i, (at, line)) in lines(text).chain(end).enumerate() {
        if line.is_empty() {
            if !spans.is_empty() || !event.is_empty() {
                let data = spans.iter().map(|r| &text[r.clone()]).collect::<Vec<_>>().join("\n");
                out.push(Ev {
                    line: first,
                    event: std::mem::take(&mut event),
                    data,
                    spans: std::mem::take(&mut spans),
                });
            }
            continue;
        }
        if spans.is_empty() && event.is_empty() {
            first = i + 1;
        }
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            let v = v.strip_prefix(' ').unwrap_or(v);
            spans.push(at + line.len() - v.len()..at + line.len());
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
    /// What is wrong with events, by line: data that is not JSON (what it carried is not in the
    /// body), a key written twice, a lone surrogate read as U+FFFD.
    pub problems: Vec<(usize, String)>,
}

/// Rebuilds the response body a stream carried, the API it belongs to, whether it ended, and
/// which events could not be read.
pub fn assemble(text: &str) -> Result<Assembled, String> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    let mut done = false;
    for Ev { line, event, data, .. } in events(text) {
        done |= data.trim() == "[DONE]";
        if data.trim().is_empty() || data.trim() == "[DONE]" {
            continue;
        }
        match super::parse_record(&data) {
            Ok((v, said)) => {
                // a key written twice, a lone surrogate: read, and said
                problems.extend(said.map(|why| (line, why)));
                parsed.push((event, v));
            }
            Err(e) => problems.push((line, format!("a stream event is not JSON ({e}); what it carried is missing"))),
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
    Ok(Assembled { body, api, truncated, problems })
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
        // the closing event's response, when the stream got that far; its output, when empty,
        // and a stream cut short are built from the items and deltas streamed
        let closing = ["response.completed", "response.incomplete", "response.failed"];
        let last = parsed
            .iter()
            .rev()
            .find_map(|(_, v)| closing.contains(&ty(v).as_str()).then(|| v.get("response")).flatten());
        let mut body =
            last.or_else(|| parsed.iter().find_map(|(_, v)| v.get("response"))).cloned().unwrap_or(json!({}));
        let empty = body.get("output").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if last.is_none() || empty {
            body["output"] = responses_output(parsed);
        }
        return Ok((body, Api::OpenAiResponses));
    }
    if parsed.iter().any(|(_, v)| v.get("choices").is_some()) {
        return Ok((openai_chat(parsed), Api::OpenAiChat));
    }
    Err("unknown stream (no message_start, response.* or choices events)".into())
}

/// Appends `s` to the string at `key` of object `v` in place (a stream of many deltas is not
/// copied once per delta). Null becomes an object; any other value that is no object (a hostile
/// `"content_block": "x"`) is left as it is.
fn append(v: &mut Value, key: &str, s: &str) {
    if v.is_null() {
        *v = json!({});
    }
    let Some(o) = v.as_object_mut() else { return };
    match o.get_mut(key) {
        Some(Value::String(cur)) => cur.push_str(s),
        _ => {
            o.insert(key.to_string(), Value::String(s.to_string()));
        }
    }
}

/// The output items a Responses stream carried, by `output_index`: each item as its last
/// `output_item` event gave it, and an item not yet done filled in from its deltas (text,
/// refusal, a call's arguments, a reasoning summary).
fn responses_output(parsed: &[(String, Value)]) -> Value {
    let mut items: BTreeMap<u64, Value> = BTreeMap::new();
    let mut done = std::collections::HashSet::new();
    // where a part the deltas made was put: (output index, list, the stream's index) → position
    let mut placed: std::collections::HashMap<(u64, &str, usize), usize> = std::collections::HashMap::new();
    for (_, v) in parsed {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let at = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
        let delta = v.get("delta").and_then(Value::as_str).unwrap_or_default();
        match ty {
            "response.output_item.added" | "response.output_item.done" => {
                if let Some(item) = v.get("item") {
                    items.insert(at, item.clone());
                }
                if ty.ends_with("done") {
                    done.insert(at);
                }
                continue;
            }
            _ if done.contains(&at) => continue,
            _ => {}
        }
        // a part of a list in the item (content, summary) at the stream's index `k`: a part given
        // by the item is at its index; one the deltas make is put at the end, where the index is
        // kept for the deltas after (so an index sizes nothing)
        let mut part = |item: &mut Value, list: &'static str, k: usize, kind: &str| -> Option<()> {
            let parts = item.as_object_mut()?.entry(list).or_insert_with(|| json!([])).as_array_mut()?;
            let made = placed.entry((at, list, k)).or_insert_with(|| {
                if k >= parts.len() {
                    parts.push(json!({"type": kind}));
                    parts.len() - 1
                } else {
                    k
                }
            });
            let i = (*made).min(parts.len().checked_sub(1)?);
            append(&mut parts[i], if kind == "refusal" { "refusal" } else { "text" }, delta);
            Some(())
        };
        let message = || json!({"type": "message", "role": "assistant", "content": []});
        match ty {
            "response.output_text.delta" => {
                part(items.entry(at).or_insert_with(message), "content", n("content_index"), "output_text");
            }
            "response.refusal.delta" => {
                part(items.entry(at).or_insert_with(message), "content", n("content_index"), "refusal");
            }
            "response.reasoning_summary_text.delta" => {
                let item = items.entry(at).or_insert_with(|| json!({"type": "reasoning", "summary": []}));
                part(item, "summary", n("summary_index"), "summary_text");
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                let key = if ty.contains("custom") { "input" } else { "arguments" };
                append(items.entry(at).or_insert_with(|| json!({"type": "function_call"})), key, delta);
            }
            _ => {}
        }
    }
    Value::Array(items.into_values().collect())
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
    /// One choice's message as its deltas build it.
    #[derive(Default)]
    struct Choice {
        content: String,
        refusal: String,
        /// The legacy single call: name and arguments.
        function: Option<(String, String)>,
        calls: BTreeMap<u64, (String, String, String)>,
    }
    let mut choices: BTreeMap<u64, Choice> = BTreeMap::new();
    let mut usage = Value::Null;
    let mut model = Value::Null;
    for (_, v) in parsed {
        if let Some(m) = v.get("model") {
            model = m.clone();
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            usage = u.clone();
        }
        for (ci, c) in v.get("choices").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let Some(d) = c.get("delta") else { continue };
            // keyed by the stream's own `index` (n > 1 streams several choices at once)
            let choice = choices.entry(c.get("index").and_then(Value::as_u64).unwrap_or(ci as u64)).or_default();
            let text = |k: &str| d.get(k).and_then(Value::as_str);
            choice.content.push_str(text("content").unwrap_or_default());
            choice.refusal.push_str(text("refusal").unwrap_or_default());
            if let Some(f) = d.get("function_call") {
                let (name, args) = choice.function.get_or_insert_default();
                name.push_str(f.get("name").and_then(Value::as_str).unwrap_or_default());
                args.push_str(f.get("arguments").and_then(Value::as_str).unwrap_or_default());
            }
            for tc in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                let i = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
                let call = choice.calls.entry(i).or_default();
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
    }
    let choices: Vec<Value> = choices
        .into_iter()
        .map(|(index, c)| {
            // no content beside a call or a refusal is none, not an empty block
            let other = !c.refusal.is_empty() || c.function.is_some() || !c.calls.is_empty();
            let content = if c.content.is_empty() && other { Value::Null } else { Value::String(c.content) };
            let mut message = json!({"role": "assistant", "content": content});
            if !c.refusal.is_empty() {
                message["refusal"] = Value::String(c.refusal);
            }
            if let Some((name, arguments)) = c.function {
                message["function_call"] = json!({"name": name, "arguments": arguments});
            }
            if !c.calls.is_empty() {
                let calls = c.calls.into_values().map(|(id, name, args)| {
                    json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
                });
                message["tool_calls"] = Value::Array(calls.collect());
            }
            json!({"index": index, "message": message})
        })
        .collect();
    json!({"model": model, "choices": choices, "usage": usage})
}

/// The streamed strings an event's data carries, each with the stream it continues (its pieces
/// joined make one text: a content block's text, a tool call's arguments) and its JSON pointer.
fn deltas(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let is_str = |p: &str| v.pointer(p).is_some_and(Value::is_string);
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if ty == "content_block_delta" {
        let index = v.get("index").map(Value::to_string).unwrap_or_default();
        for field in ["text", "thinking", "partial_json"] {
            let p = format!("/delta/{field}");
            if is_str(&p) {
                out.push((format!("block {index}"), p));
            }
        }
    } else if ty.ends_with(".delta") && is_str("/delta") {
        let at = ["item_id", "output_index", "content_index", "summary_index"]
            .map(|k| v.get(k).map(Value::to_string).unwrap_or_default())
            .join(" ");
        out.push((format!("{ty} {at}"), "/delta".to_string()));
    }
    for (ci, c) in v.get("choices").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let choice = c.get("index").map_or_else(|| ci.to_string(), Value::to_string);
        for field in ["content", "reasoning_content", "refusal"] {
            let p = format!("/choices/{ci}/delta/{field}");
            if is_str(&p) {
                out.push((format!("choice {choice} {field}"), p));
            }
        }
        for (ti, tc) in c.pointer("/delta/tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let call = tc.get("index").map_or_else(|| ti.to_string(), Value::to_string);
            let p = format!("/choices/{ci}/delta/tool_calls/{ti}/function/arguments");
            if is_str(&p) {
                out.push((format!("choice {choice} call {call}"), p));
            }
        }
    }
    out
}

/// Redacts secrets that a stream splits across its events (`sk-ant-…` in one `text_delta`, the
/// rest in the next), which no event shows whole. Each stream's pieces are joined and redacted
/// as one text, and the result is shared back out: a piece keeps what survives of its own text,
/// and a replacement goes to the piece where the secret began. Events whose data spans several
/// lines are left to the ordinary pass. Returns how many secrets were replaced.
pub fn redact_split_secrets(text: &mut String) -> usize {
    let starts = |t: &str| t.starts_with("event:") || t.starts_with("data:");
    if !starts(text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])) {
        return 0;
    }
    let mut carried: Vec<Carrier> = Vec::new();
    // each stream's pieces in order: (event, delta within it)
    let mut streams: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for ev in events(text) {
        let [span] = &ev.spans[..] else { continue };
        let Ok((value, _)) = super::parse_record(&ev.data) else { continue };
        let found = deltas(&value);
        if found.is_empty() {
            continue;
        }
        let e = carried.len();
        let mut pieces = Vec::new();
        for (k, (stream, pointer)) in found.into_iter().enumerate() {
            streams.entry(stream).or_default().push((e, k));
            let piece = value.pointer(&pointer).and_then(Value::as_str).unwrap_or_default().to_string();
            pieces.push(Piece { pointer, text: piece, new: None });
        }
        // only the pieces are kept: an event whose piece changes is parsed again to be written
        carried.push(Carrier { span: span.clone(), pieces });
    }
    let mut n = 0;
    for order in streams.values() {
        let texts: Vec<&str> = order.iter().map(|&(e, k)| carried[e].pieces[k].text.as_str()).collect();
        let mut redacted = texts.concat();
        let found = super::redact::redact(&mut redacted);
        if found == 0 {
            continue;
        }
        n += found;
        let shared = share_out(&texts, &redacted);
        let changed: Vec<((usize, usize), String)> = order
            .iter()
            .zip(shared)
            .zip(&texts)
            .filter(|((_, new), old)| new != *old)
            .map(|((p, new), _)| (*p, new))
            .collect();
        for ((e, k), new) in changed {
            carried[e].pieces[k].new = Some(new);
        }
    }
    // write the changed events back, last first so the spans before stay where they are
    for c in carried.into_iter().rev().filter(|c| c.pieces.iter().any(|p| p.new.is_some())) {
        let Ok((mut value, _)) = super::parse_record(&text[c.span.clone()]) else { continue };
        for p in c.pieces {
            if let (Some(new), Some(slot)) = (p.new, value.pointer_mut(&p.pointer)) {
                *slot = Value::String(new);
            }
        }
        if let Ok(data) = serde_json::to_string(&value) {
            text.replace_range(c.span, &data);
        }
    }
    n
}

/// An event that carries deltas: where its data lies in the text, and its pieces.
struct Carrier {
    span: Range<usize>,
    pieces: Vec<Piece>,
}

/// One delta of an event: its JSON pointer, its text, and its text once redacted, if that changed.
struct Piece {
    pointer: String,
    text: String,
    new: Option<String>,
}

/// Shares a redacted text out among the pieces the original was joined from: each piece gets
/// the characters of its own that the redaction kept, and what it wrote in their place goes to
/// the piece where the replaced characters began. The pieces joined are the redacted text.
fn share_out(pieces: &[&str], redacted: &str) -> Vec<String> {
    let joined = pieces.concat();
    // words (runs of letters and digits) and single other characters, each with the character
    // it starts at: a diff of words never matches a letter inside a secret to one of its
    // replacement, so the replacement stays whole
    fn tokens(s: &str) -> Vec<(&str, usize)> {
        let mut out = Vec::new();
        let (mut start, mut chars, mut word) = (0, 0, None::<(usize, usize)>);
        for (i, c) in s.char_indices() {
            if c.is_alphanumeric() {
                word.get_or_insert((i, chars));
            } else {
                if let Some((w, at)) = word.take() {
                    out.push((&s[w..i], at));
                }
                out.push((&s[i..i + c.len_utf8()], chars));
            }
            chars += 1;
            start = i + c.len_utf8();
        }
        if let Some((w, at)) = word {
            out.push((&s[w..start], at));
        }
        out
    }
    let (old, new) = (tokens(&joined), tokens(redacted));
    let (old_words, new_words): (Vec<&str>, Vec<&str>) =
        (old.iter().map(|t| t.0).collect(), new.iter().map(|t| t.0).collect());
    // the piece each old character belongs to
    let owner: Vec<usize> =
        pieces.iter().enumerate().flat_map(|(i, p)| std::iter::repeat_n(i, p.chars().count())).collect();
    let last = pieces.len().saturating_sub(1);
    let mut out = vec![String::new(); pieces.len()];
    let to = |token: usize| old.get(token).and_then(|t| owner.get(t.1)).copied().unwrap_or(last);
    // the piece a run of changes began in, which takes what the run writes
    let mut run = None;
    // a diff past its deadline is coarser, never wrong: the pieces still join to the redaction
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    for op in similar::capture_diff_slices_deadline(similar::Algorithm::Myers, &old_words, &new_words, Some(deadline)) {
        let (tag, o, n) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => {
                run = None;
                for (word, at) in &old[o] {
                    for (j, c) in word.chars().enumerate() {
                        out[owner.get(at + j).copied().unwrap_or(last)].push(c);
                    }
                }
            }
            similar::DiffTag::Delete => {
                run.get_or_insert(to(o.start));
            }
            similar::DiffTag::Insert | similar::DiffTag::Replace => {
                let piece = *run.get_or_insert(to(o.start));
                out[piece].extend(new_words[n].iter().copied());
            }
        }
    }
    out
}

/// A stream file on its own: one flow with the assembled response.
pub fn load(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let loc = Location { file: name.to_string(), line: 1, path: String::new() };
    match assemble(text) {
        Ok(Assembled { body, api, truncated, problems }) => {
            for (line, reason) in problems {
                sink(Event::Problem(Problem { location: Location { line, ..loc.clone() }, reason }));
            }
            if let Some(why) = truncated {
                sink(Event::Problem(Problem { location: loc.clone(), reason: format!("truncated: {why}") }));
            }
            let mut b = Builder::new(name, 1);
            let mut flow = Flow::new(0, api, loc);
            flow.model = body.get("model").and_then(Value::as_str).map(str::to_string);
            let (resp, usage) = response_messages(&mut b, &body);
            flow.response = resp;
            flow.usage = usage;
            b.report(sink);
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

    /// An Anthropic stream whose text deltas are `pieces`, with ordinary events around them.
    fn anthropic_stream(pieces: &[&str], eol: &str) -> String {
        let mut s = format!(
            "event: message_start{eol}data: {{\"type\":\"message_start\",\"message\":{{\"model\":\"m\"}}}}{eol}{eol}\
event: content_block_start{eol}data: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}{eol}{eol}"
        );
        for p in pieces {
            let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}});
            s.push_str(&format!("event: content_block_delta{eol}data: {delta}{eol}{eol}"));
        }
        s.push_str(&format!("event: message_stop{eol}data: {{\"type\":\"message_stop\"}}{eol}{eol}"));
        s
    }

    #[test]
    fn a_key_split_across_deltas_is_redacted_in_the_stream_s_own_text() {
        let key = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd";
        let pieces = ["my key is ", &key[..16], &key[16..40], &key[40..], " and more text", " ok"];
        let mut text = anthropic_stream(&pieces, "\n");
        let original = text.clone();
        assert!(super::super::redact::redact(&mut text) >= 1);
        for fragment in [&key[..16], &key[16..40], &key[40..], &key[8..20]] {
            assert!(!text.contains(fragment), "{fragment} left in {text}");
        }
        // the stream still reads, and says what the joined text redacted says
        let body = assemble(&text).unwrap().body;
        let mut joined = pieces.concat();
        super::super::redact::redact(&mut joined);
        assert_eq!(body["content"][0]["text"], joined);
        assert!(joined.contains("[REDACTED]") && joined.ends_with(" and more text ok"), "{joined}");
        // the replacement is whole in the piece where the key began (a diff of characters would
        // match letters inside the key to letters of `[REDACTED]`)
        assert!(text.contains(r#""text":"[REDACTED]""#), "{text}");
        // the events with nothing of the key in them stay byte for byte
        for line in original.lines().filter(|l| l.contains("more text") || l.contains("message_st")) {
            assert!(text.contains(line), "{line}");
        }
    }

    #[test]
    fn a_token_split_across_chat_deltas_and_tool_arguments_is_redacted() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let chunk = |delta: Value| format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": delta}]}));
        let args = ["{\"token\": \"", &token[..10], &token[10..], "\"}"];
        let mut text = chunk(json!({"content": format!("use {}", &token[..7])}));
        text.push_str(&chunk(json!({"content": format!("{} now", &token[7..])})));
        for a in args {
            text.push_str(&chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": a}}]})));
        }
        text.push_str("data: [DONE]\n\n");
        assert!(super::super::redact::redact(&mut text) >= 2);
        for fragment in [&token[..7], &token[7..], &token[10..], &token[4..12]] {
            assert!(!text.contains(fragment), "{fragment} left in {text}");
        }
        let body = assemble(&text).unwrap().body;
        assert_eq!(body["choices"][0]["message"]["content"], "use [REDACTED] now");
        let args = body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
        assert!(args.contains("[REDACTED]") && serde_json::from_str::<Value>(args).is_ok(), "{args}");
    }

    #[test]
    fn every_choice_a_refusal_and_a_legacy_call_of_a_chat_stream_are_kept() {
        let chunk = |c: Value| format!("data: {}\n\n", json!({"model": "gpt-4o", "choices": c}));
        let mut s =
            chunk(json!([{"index": 0, "delta": {"content": "first"}}, {"index": 1, "delta": {"content": "sec"}}]));
        s += &chunk(json!([{"index": 1, "delta": {"content": "ond"}}]));
        s += &chunk(json!([{"index": 2, "delta": {"refusal": "I can't"}}]));
        s += &chunk(json!([{"index": 3, "delta": {"function_call": {"name": "look", "arguments": "{\"q\""}}}]));
        s += &chunk(json!([{"index": 3, "delta": {"function_call": {"arguments": ":1}"}}}]));
        s += "data: [DONE]\n\n";
        let body = assemble(&s).unwrap().body;
        let m = |i: usize| &body["choices"][i]["message"];
        assert_eq!((m(0)["content"].as_str(), m(1)["content"].as_str()), (Some("first"), Some("second")));
        assert_eq!((m(2)["refusal"].as_str(), m(2)["content"].is_null()), (Some("I can't"), true));
        assert_eq!(m(3)["function_call"], json!({"name": "look", "arguments": "{\"q\":1}"}));
    }

    #[test]
    fn a_responses_stream_cut_short_or_closed_empty_keeps_its_items() {
        let ev = |v: Value| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap());
        let mut s = ev(json!({"type": "response.created", "response": {"model": "gpt-5", "output": []}}));
        s += &ev(
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "role": "assistant", "content": []}}),
        );
        s += &ev(json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hel"}));
        s += &ev(json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "lo"}));
        s += &ev(
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "name": "grep", "call_id": "c1", "arguments": ""}}),
        );
        s += &ev(json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{\"q\":"}));
        s += &ev(json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "1}"}));
        let check = |s: &str, truncated: bool| {
            let a = assemble(s).unwrap();
            assert_eq!((a.truncated.is_some(), a.body["model"].as_str()), (truncated, Some("gpt-5")));
            let out = &a.body["output"];
            assert_eq!(out[0]["content"][0]["text"], "Hello");
            assert_eq!((out[1]["name"].as_str(), out[1]["arguments"].as_str()), (Some("grep"), Some("{\"q\":1}")));
        };
        check(&s, true);
        // an item done is taken as it is given, its deltas not added again
        let done = ev(
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "function_call", "name": "grep", "call_id": "c1", "arguments": "{\"q\":1}"}}),
        );
        check(
            &(s.clone()
                + &done
                + &ev(json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "x"}))),
            true,
        );
        // closed with an empty output: the streamed items stand
        check(&(s + &ev(json!({"type": "response.completed", "response": {"model": "gpt-5", "output": []}}))), false);
    }

    #[test]
    fn a_stream_s_indices_size_nothing_and_its_odd_values_crash_nothing() {
        let data = |v: Value| format!("data: {v}\n\n");
        // a content index of 1e8 once allocated that many parts (24 GB); a block or an item that
        // is a string panicked on its first delta
        let mut s = data(
            json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 100_000_000u64, "delta": "a"}),
        );
        s += &data(
            json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 100_000_000u64, "delta": "b"}),
        );
        s += &data(json!({"type": "response.output_item.added", "output_index": 1, "item": "str"}));
        s += &data(json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "x"}));
        let out = &assemble(&s).unwrap().body["output"];
        assert_eq!(
            (out[0]["content"].as_array().map(Vec::len), out[0]["content"][0]["text"].as_str()),
            (Some(1), Some("ab"))
        );
        assert_eq!(out[1], "str");
        let s = "data: {\"type\":\"message_start\",\"message\":{}}\n\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":\"x\"}\n\n\
data: {\"type\":\"content_block_start\",\"index\":1}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"kept\"}}\n\n";
        assert_eq!(assemble(s).unwrap().body["content"], json!([{"text": "kept"}]));
    }

    #[test]
    fn lines_may_end_in_a_lone_cr_or_crlf() {
        for eol in ["\r", "\r\n", "\n"] {
            let text = anthropic_stream(&["Hel", "lo"], eol);
            let a = assemble(&text).unwrap();
            assert_eq!((a.body["content"][0]["text"].as_str(), a.truncated), (Some("Hello"), None), "{eol:?}");
        }
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
