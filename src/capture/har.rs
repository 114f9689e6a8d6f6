//! HAR 1.2 (browser or mitmproxy exports): entries to Anthropic `/v1/messages`, OpenAI
//! `/v1/chat/completions` and `/v1/responses` become flows; their JSON or SSE responses are
//! assembled. Entries are located without parsing the whole document into memory, then parsed one
//! by one, so the first flows arrive early.

use base64::Engine as _;
use serde_json::Value;

use super::provider::{Builder, api_of, request_messages_owned, response_messages};
use super::{Api, Event, Flow, Location, Problem};
use crate::engine::jsonspan;

/// A cursor over HAR text that reads just enough JSON structure to find `log.entries`.
struct Walk<'a> {
    text: &'a str,
    i: usize,
}

impl Walk<'_> {
    fn ws(&mut self) {
        let b = self.text.as_bytes();
        while self.i < b.len() && b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let ok = self.text.as_bytes().get(self.i) == Some(&c);
        if ok {
            self.i += 1;
        }
        ok
    }

    /// Skips one whole value; None when it is cut short or not JSON.
    fn value(&mut self) -> Option<std::ops::Range<usize>> {
        self.ws();
        let len = jsonspan::value_end(&self.text[self.i..])?;
        let r = self.i..self.i + len;
        self.i += len;
        Some(r)
    }

    /// Moves into the value of `key` in the object starting here (other members are skipped
    /// whole, so an `"entries"` nested elsewhere is never mistaken for the real one).
    fn member(&mut self, key: &str) -> Result<(), String> {
        if !self.eat(b'{') {
            return Err(format!("byte {}: expected an object", self.i));
        }
        self.next_member(key)?.ok_or_else(|| format!("no \"{key}\" member"))
    }

    /// Moves into the value of the next `key` in the object being read, from just after a member's
    /// value (or its `{`); `None` when the object closes first.
    fn next_member(&mut self, key: &str) -> Result<Option<()>, String> {
        loop {
            if self.eat(b'}') {
                return Ok(None);
            }
            self.eat(b',');
            self.ws();
            let name = self.value().ok_or_else(|| format!("byte {}: the document is cut short or not JSON", self.i))?;
            let name: String =
                serde_json::from_str(&self.text[name]).map_err(|_| format!("byte {}: expected a key", self.i))?;
            if !self.eat(b':') {
                return Err(format!("byte {}: expected `:`", self.i));
            }
            if name == key {
                self.ws();
                return Ok(Some(()));
            }
            self.value().ok_or_else(|| format!("byte {}: \"{name}\" is cut short or not JSON", self.i))?;
        }
    }

    /// After a `log.entries` array: moves into the next one, a second `entries` in the same `log` or
    /// the `entries` of a second `log` (a key written twice: JSON parsers disagree on which one
    /// counts, so both are read). `None` when the document has no other.
    fn next_entries(&mut self) -> Option<()> {
        if self.next_member("entries").ok()?.is_some() {
            return Some(());
        }
        self.next_log_entries()
    }

    /// Moves into the `entries` of the next `log` that has them, from just after a top-level
    /// member's value.
    fn next_log_entries(&mut self) -> Option<()> {
        while self.next_member("log").ok()?.is_some() {
            let at = self.i;
            match self.member("entries") {
                Ok(()) => return Some(()),
                // a `log` without entries: skipped whole, and the next one looked for
                Err(_) => {
                    self.i = at;
                    self.value()?;
                }
            }
        }
        None
    }
}

/// Byte ranges of the complete elements of `log.entries`, and where and why a stretch of the
/// list could not be read: the file is cut (the entries before are loaded) or an entry is broken.
/// After a broken entry, a HAR written one entry per indented block (as browsers and mitmproxy
/// write it) is read on from the next line that opens an entry as the last one read did. A `log`
/// or `entries` key written twice has the entries of both read.
fn entry_spans(text: &str) -> (Vec<std::ops::Range<usize>>, Vec<(usize, String)>) {
    let mut w = Walk { text, i: 0 };
    let mut out = Vec::new();
    if let Err(e) = w.member("log") {
        return (out, vec![(w.i, format!("no log.entries: {e}"))]);
    }
    let log = w.i;
    if let Err(e) = w.member("entries") {
        let at = w.i;
        // a `log` without entries may be followed by one with them
        w.i = log;
        if w.value().and_then(|_| w.next_log_entries()).is_none() {
            return (out, vec![(at, format!("no log.entries: {e}"))]);
        }
    }
    let mut list = Entries { broken: Vec::new(), budget: 2 * text.len(), opener: None, skipped: 0 };
    loop {
        if !w.eat(b'[') {
            list.broken.push((w.i, "log.entries is not an array".into()));
            if w.value().is_none() {
                return (out, list.broken);
            }
        } else if !list.read(&mut w, &mut out) {
            return (out, list.broken);
        }
        if w.next_entries().is_none() {
            return (out, list.broken);
        }
        let reason = format!(
            "log.entries is written more than once: the entries at byte {} are loaded too (JSON readers disagree \
             on which one counts)",
            w.i
        );
        list.broken.push((w.i, reason));
    }
}

/// What reading the `log.entries` arrays of one HAR keeps from one array to the next.
struct Entries {
    /// Where and why a stretch could not be read.
    broken: Vec<(usize, String)>,
    /// What resyncs may read in all (see [`resync`]).
    budget: usize,
    /// How an entry's line opens (a newline, its indentation, `{`), once one has been read.
    opener: Option<String>,
    /// Entries that could not be read, so far.
    skipped: usize,
}

impl Entries {
    /// Reads the array whose `[` was just read, to its `]` (true) or to where it breaks off for good.
    fn read(&mut self, w: &mut Walk, out: &mut Vec<std::ops::Range<usize>>) -> bool {
        let text = w.text;
        let (broken, budget, opener) = (&mut self.broken, &mut self.budget, &mut self.opener);
        // whether the next element needs a `,` before it
        let mut after_entry = false;
        loop {
            if w.eat(b']') {
                return true;
            }
            if after_entry && !w.eat(b',') {
                w.ws();
                let at = w.i;
                if at >= text.len() {
                    let reason =
                        format!("log.entries stops after entry {} at byte {at}: the file ends (truncated?)", out.len());
                    broken.push((at, reason));
                    return false;
                }
                let reason = format!("log.entries: expected `,` or `]` after entry {} at byte {at}", out.len());
                match resync(text, at, opener.as_deref(), budget) {
                    Some(next) => {
                        broken.push((at, format!("{reason}; read on from byte {next}")));
                        w.i = next;
                    }
                    None => {
                        broken.push((at, reason));
                        return false;
                    }
                }
            }
            w.ws();
            let at = w.i;
            match w.value() {
                Some(r) => {
                    // the last entry alone on its line (after only indentation) says how one opens
                    let line = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    if text[line..at].bytes().all(|b| b == b' ' || b == b'\t') {
                        *opener = Some(format!("\n{}{{", &text[line..at]));
                    }
                    out.push(r);
                    after_entry = true;
                }
                None => {
                    self.skipped += 1;
                    let n = out.len() + self.skipped;
                    let reason = format!("entry {n} (byte {at}) is cut short or not JSON");
                    match resync(text, at, opener.as_deref(), budget) {
                        Some(next) => {
                            broken.push((at, format!("{reason}; read on from the next entry, at byte {next}")));
                            w.i = next;
                            after_entry = false;
                        }
                        None => {
                            let before = out.len();
                            broken.push((at, format!("{reason}; the {before} entries before it are loaded")));
                            return false;
                        }
                    }
                }
            }
        }
    }
}

/// Where the next entry opens after byte `from`: a line of `opener` (a newline, the indentation
/// the last entry read had, and `{`) whose value is a whole JSON object; in a HAR with no entry on
/// a line of its own (written on one line), an object after a `,` that has a `request` member.
/// None when none is left, or the candidates that failed have read `budget` bytes (what one file's
/// resyncs share, twice its length: a file of broken entries costs linear time).
fn resync(text: &str, from: usize, opener: Option<&str>, budget: &mut usize) -> Option<usize> {
    let Some(opener) = opener else { return resync_one_line(text, from, budget) };
    let mut at = from;
    while let Some(i) = text.get(at..).and_then(|rest| rest.find(opener)) {
        let start = at + i + opener.len() - 1;
        match jsonspan::value_scan(&text[start..]) {
            Ok(_) => return Some(start),
            Err(read) => *budget = budget.checked_sub(read.max(1))?,
        }
        at = start + 1;
    }
    None
}

/// [`resync`] in a HAR written on one line: the next `{` after a `,` whose object is whole and has
/// a `request` member (an entry, not an object inside the broken one).
fn resync_one_line(text: &str, from: usize, budget: &mut usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = text.get(at..).and_then(|rest| memchr::memchr(b'{', rest.as_bytes())) {
        let start = at + i;
        at = start + 1;
        if !text[..start].trim_end().ends_with(',') {
            continue;
        }
        let read = match jsonspan::value_scan(&text[start..]) {
            Ok(len) => {
                let members = serde_json::from_str::<std::collections::HashMap<String, serde::de::IgnoredAny>>;
                if members(&text[start..start + len]).is_ok_and(|m| m.contains_key("request")) {
                    return Some(start);
                }
                len
            }
            Err(read) => read,
        };
        *budget = budget.checked_sub(read.max(1))?;
    }
    None
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
    let (spans, broken) = entry_spans(text);
    // problems are reported in the order of the file: each broken stretch before the entries after it
    let mut broken = broken.into_iter().peekable();
    let mut index = 0;
    // line numbers counted incrementally: a 100 MB HAR must not rescan from the top per entry
    let (mut line, mut counted_to) = (1, 0);
    let report = |at: usize, reason: String, sink: &mut dyn FnMut(Event)| {
        let at = at.min(text.len());
        let line = 1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count();
        sink(Event::Problem(Problem {
            location: Location { file: name.to_string(), line, path: String::new() },
            reason,
        }));
    };
    for (n, span) in spans.into_iter().enumerate() {
        while let Some((at, reason)) = broken.next_if(|(at, _)| *at < span.start) {
            report(at, reason, sink);
        }
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted_to..span.start]).count();
        counted_to = span.start;
        let loc = Location { file: name.to_string(), line, path: format!("entries[{n}]") };
        let problem = |reason: String| Event::Problem(Problem { location: loc.clone(), reason });
        let entry: Value = match super::parse_record(&text[span]) {
            Ok((v, twice)) => {
                if let Some(reason) = twice {
                    sink(problem(reason));
                }
                v
            }
            Err(e) => {
                sink(problem(format!("not valid JSON: {e}")));
                continue;
            }
        };
        let Some(req) = entry.get("request").filter(|r| r.is_object()) else {
            let what = if entry.is_object() { "has no request object" } else { "is not an object" };
            sink(problem(format!("entry {} {what}; skipped", n + 1)));
            continue;
        };
        let url = req.get("url").and_then(Value::as_str).unwrap_or_default();
        let Some(body_text) = req.get("postData").and_then(|p| p.get("text")).and_then(Value::as_str) else { continue };
        let Ok((body, twice)) = super::parse_record(body_text) else {
            if api_from_url(url).is_some() {
                sink(problem("request body is not JSON".into()));
            }
            continue;
        };
        if let Some(reason) = twice {
            sink(problem(format!("request body: {reason}")));
        }
        let api = api_from_url(url).unwrap_or_else(|| api_of(&body));
        if api == Api::Unknown {
            continue;
        }
        let mut b = Builder::new(name, line);
        let mut flow = Flow::new(index, api, loc.clone());
        flow.url = Some(url.to_string());
        flow.timestamp = entry.get("startedDateTime").and_then(Value::as_str).map(str::to_string);
        flow.model = body.get("model").and_then(Value::as_str).map(str::to_string);
        flow.messages = request_messages_owned(&mut b, api, body);
        flow.headers = req
            .get("headers")
            .and_then(Value::as_array)
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        let k = h.get("name")?.as_str()?.to_string();
                        let v = h.get("value")?.as_str()?.to_string();
                        Some((k, v))
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
            let body = serde_json::from_str::<Value>(&decoded).ok().or_else(|| {
                let a = super::sse::assemble(&decoded).ok()?;
                for (line, why) in &a.problems {
                    sink(problem(format!("response stream, line {line}: {why}")));
                }
                if let Some(why) = a.truncated {
                    sink(problem(format!("response stream truncated: {why}")));
                }
                Some(a.body)
            });
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
        index += 1;
        b.report(sink);
        sink(Event::Flow(Box::new(flow)));
    }
    for (at, reason) in broken {
        report(at, reason, sink);
    }
}
