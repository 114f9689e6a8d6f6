//! Captures: what was sent to a model, loaded from whatever the user has on disk, as one model:
//! capture → flows (one API request, with its response when present) → messages → blocks.
//!
//! Formats are detected by content, not only by extension: Headroom's request log, HAR 1.2, raw
//! Anthropic / OpenAI request bodies and their SSE streams, Claude Code transcripts, Codex rollouts,
//! plain files and folders. Loading streams: flows are handed to a sink as they are parsed, so a
//! viewer can show the first screen of a 100 MB capture long before the end is read. A bad line or
//! entry is counted and listed with its place, never fatal. API keys, Authorization and cookie
//! values are redacted as they are loaded.

pub mod claude;
pub mod codex;
pub mod har;
pub mod headroom;
pub mod plain;
pub mod provider;
pub mod redact;
pub mod sse;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    /// A plain file loaded as its own block.
    File,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::File => "file",
        }
    }

    pub fn parse(s: &str) -> Role {
        match s {
            "system" => Role::System,
            "developer" => Role::Developer,
            "assistant" | "model" => Role::Assistant,
            "tool" | "function" => Role::Tool,
            _ => Role::User,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Text,
    /// The system prompt (or OpenAI `instructions`).
    SystemPrompt,
    /// A tool call's input, as JSON.
    ToolUse,
    /// What a tool returned: the content compression is mostly about.
    ToolResult,
    /// Model reasoning (Anthropic `thinking`).
    Thinking,
    /// An image, replaced by a placeholder line.
    Image,
    /// A whole file (plain captures).
    File,
}

impl BlockKind {
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Text => "text",
            BlockKind::SystemPrompt => "system_prompt",
            BlockKind::ToolUse => "tool_use",
            BlockKind::ToolResult => "tool_result",
            BlockKind::Thinking => "thinking",
            BlockKind::Image => "image",
            BlockKind::File => "file",
        }
    }
}

/// Where something came from: file and 1-based line (or entry number for HAR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    /// What within the line: e.g. `request_messages[3].content[1]`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        Ok(())
    }
}

/// One unit of content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    pub kind: BlockKind,
    pub role: Role,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    pub location: Location,
}

/// A message: a role and its blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: Role,
    pub blocks: Vec<Block>,
}

/// The API a flow was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    AnthropicMessages,
    OpenAiChat,
    OpenAiResponses,
    /// Claude Code or Codex transcripts (the client's view of the conversation).
    Transcript,
    Files,
    Unknown,
}

/// Token usage as the provider reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
}

/// One API request (with its response when the capture has it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub index: usize,
    pub api: Api,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub messages: Vec<Message>,
    /// What a compressor actually sent upstream (Headroom's `compressed_messages`), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Vec<Message>>,
    /// The model's answer, when captured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Headroom's `transforms_applied`, when recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<String>,
    /// Headroom's own token counts (original, optimized), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headroom_tokens: Option<[u64; 2]>,
    /// Request headers, secret values redacted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub location: Location,
}

impl Flow {
    pub fn new(index: usize, api: Api, location: Location) -> Flow {
        Flow {
            index,
            api,
            model: None,
            timestamp: None,
            url: None,
            messages: Vec::new(),
            recorded: None,
            response: Vec::new(),
            usage: None,
            transforms: Vec::new(),
            headroom_tokens: None,
            headers: Vec::new(),
            location,
        }
    }

    /// The flow without its messages (request, recorded, response): what describes it, cheap to
    /// copy however many blocks it holds.
    pub fn summary(&self) -> Flow {
        Flow {
            index: self.index,
            api: self.api,
            model: self.model.clone(),
            timestamp: self.timestamp.clone(),
            url: self.url.clone(),
            messages: Vec::new(),
            recorded: None,
            response: Vec::new(),
            usage: self.usage.clone(),
            transforms: self.transforms.clone(),
            headroom_tokens: self.headroom_tokens,
            headers: self.headers.clone(),
            location: self.location.clone(),
        }
    }

    /// Every block of the request, in order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.messages.iter().flat_map(|m| m.blocks.iter())
    }
}

/// A line or entry that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub location: Location,
    pub reason: String,
}

/// The detected format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    HeadroomLog,
    Har,
    AnthropicRequest,
    OpenAiChatRequest,
    OpenAiResponsesRequest,
    Sse,
    ClaudeCode,
    Codex,
    Plain,
    Folder,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::HeadroomLog => "headroom request log",
            Format::Har => "HAR",
            Format::AnthropicRequest => "Anthropic request body",
            Format::OpenAiChatRequest => "OpenAI chat request body",
            Format::OpenAiResponsesRequest => "OpenAI responses request body",
            Format::Sse => "SSE stream",
            Format::ClaudeCode => "Claude Code transcript",
            Format::Codex => "Codex rollout",
            Format::Plain => "plain file",
            Format::Folder => "folder",
        }
    }
}

/// What a loader hands its sink.
#[derive(Debug, Clone)]
pub enum Event {
    Format(Format),
    Flow(Box<Flow>),
    Problem(Problem),
    /// Secrets replaced while loading.
    Redacted(usize),
}

/// A fully loaded capture.
#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    pub source: String,
    pub format: Format,
    pub flows: Vec<Flow>,
    pub problems: Vec<Problem>,
    pub redacted: usize,
}

#[derive(Debug, Error)]
pub enum CaptureError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// Loads a whole capture (for the CLI and tests; the TUI streams with [`stream`]).
pub fn load(path: &Path) -> Result<Capture, CaptureError> {
    let mut cap = Capture {
        source: path.display().to_string(),
        format: Format::Plain,
        flows: Vec::new(),
        problems: Vec::new(),
        redacted: 0,
    };
    stream(path, &mut |e| match e {
        Event::Format(f) => cap.format = f,
        Event::Flow(f) => cap.flows.push(*f),
        Event::Problem(p) => cap.problems.push(p),
        Event::Redacted(n) => cap.redacted += n,
    })?;
    Ok(cap)
}

/// Reads a capture file or folder and hands every flow to `sink` as soon as it is parsed.
pub fn stream(path: &Path, sink: &mut dyn FnMut(Event)) -> Result<(), CaptureError> {
    let read_err = |source| CaptureError::Read { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.is_dir() {
        sink(Event::Format(Format::Folder));
        return plain::load_folder(path, &mut redacting(sink)).map_err(read_err);
    }
    let bytes = crate::input::read_file(path).map_err(read_err)?;
    let name = path.display().to_string();
    load_bytes(&name, &bytes, sink);
    Ok(())
}

/// Detects the format of `bytes` and loads them, every flow and problem redacted.
pub fn load_bytes(name: &str, bytes: &[u8], sink: &mut dyn FnMut(Event)) {
    load_unredacted(name, bytes, &mut redacting(sink));
}

/// The one redaction pass: every flow and problem a loader emits goes through it on its way to
/// the sink, followed by the count of what it replaced. Loaders never redact (or count) themselves.
fn redacting(sink: &mut dyn FnMut(Event)) -> impl FnMut(Event) + '_ {
    let mut redactor = redact::Redactor::default();
    move |e| {
        let (e, n) = match e {
            Event::Flow(mut f) => {
                let n = redactor.flow(&mut f);
                (Event::Flow(f), n)
            }
            Event::Problem(mut p) => {
                let n = redact::problem(&mut p);
                (Event::Problem(p), n)
            }
            other => (other, 0),
        };
        if n > 0 {
            sink(Event::Redacted(n));
        }
        sink(e);
    }
}

/// [`load_bytes`] without the redaction pass (for callers already inside it).
pub(crate) fn load_unredacted(name: &str, bytes: &[u8], sink: &mut dyn FnMut(Event)) {
    // UTF-16 (Windows tools write HAR and logs so) is read as what it says it is
    if let Some((text, bad)) = crate::input::utf16_text(bytes) {
        let reason = match bad {
            0 => "read as UTF-16 (it starts with a UTF-16 byte-order mark) and shown as UTF-8".to_string(),
            n => format!("read as UTF-16 and shown as UTF-8; {n} code units that were not UTF-16 show as U+FFFD"),
        };
        sink(Event::Problem(Problem {
            location: Location { file: name.to_string(), line: 1, path: String::new() },
            reason,
        }));
        return load_unredacted(name, text.as_bytes(), sink);
    }
    let lossy;
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            // A capture with a few bad bytes still loads: every line that has them is named, and
            // they show as U+FFFD. Text that is no capture at all stays a plain-file placeholder.
            lossy = String::from_utf8_lossy(bytes);
            if detect(lossy.strip_prefix('\u{feff}').unwrap_or(&lossy)) == Format::Plain {
                sink(Event::Format(Format::Plain));
                plain::load_file(name, bytes, sink);
                return;
            }
            invalid_utf8_lines(name, bytes, sink);
            &lossy
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = detect(text);
    sink(Event::Format(format));
    if format == Format::Plain || format == Format::Folder {
        plain::load_file(name, bytes, sink);
        return;
    }
    // a text that looked like a capture but held none of its records (a JSON Lines log with a
    // `type` and a `payload`, a file that starts with `data:`) is shown whole as a plain file:
    // detection never hides content. `flows` counts the blocks the loaded flows hold.
    let mut flows = 0;
    let mut problems = 0;
    let mut first_problem = None;
    let mut counting = |e: Event| {
        match &e {
            Event::Flow(f) => {
                let blocks = |ms: &[Message]| ms.iter().map(|m| m.blocks.len()).sum::<usize>();
                flows += blocks(&f.messages) + blocks(&f.response) + f.recorded.as_deref().map_or(0, blocks);
            }
            Event::Problem(p) => {
                problems += 1;
                first_problem.get_or_insert_with(|| format!("{}: {}", p.location, p.reason));
            }
            _ => {}
        }
        sink(e)
    };
    load_format(format, name, text, &mut counting);
    if flows == 0 && !text.trim().is_empty() {
        let why = first_problem.map_or(String::new(), |p| format!(" ({problems} problem(s), first: {p})"));
        sink(Event::Problem(Problem {
            location: Location { file: name.to_string(), line: 1, path: String::new() },
            reason: format!("looked like a {} but held no message{why}; shown whole as a plain file", format.name()),
        }));
        plain::load_file(name, text.as_bytes(), sink);
    }
}

/// Runs the loader of a detected capture format.
fn load_format(format: Format, name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    match format {
        Format::HeadroomLog => headroom::load(name, text, sink),
        Format::Har => har::load(name, text, sink),
        Format::AnthropicRequest | Format::OpenAiChatRequest | Format::OpenAiResponsesRequest => {
            provider::load_body(name, text, sink)
        }
        Format::Sse => sse::load(name, text, sink),
        Format::ClaudeCode => claude::load(name, text, sink),
        Format::Codex => codex::load(name, text, sink),
        Format::Plain | Format::Folder => plain::load_file(name, text.as_bytes(), sink),
    }
}

/// Names each line of `bytes` that is not valid UTF-8 (the first 100, then a count).
fn invalid_utf8_lines(name: &str, bytes: &[u8], sink: &mut dyn FnMut(Event)) {
    const LISTED: usize = 100;
    let mut bad = 0;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if let Err(e) = std::str::from_utf8(line) {
            bad += 1;
            if bad <= LISTED {
                sink(Event::Problem(Problem {
                    location: Location { file: name.to_string(), line: i + 1, path: String::new() },
                    reason: format!(
                        "not valid UTF-8 at byte {} of the line; the bad bytes show as U+FFFD",
                        e.valid_up_to()
                    ),
                }));
            }
        }
    }
    if bad > LISTED {
        sink(Event::Problem(Problem {
            location: Location { file: name.to_string(), line: 1, path: String::new() },
            reason: format!("{} more lines are not valid UTF-8", bad - LISTED),
        }));
    }
}

/// Parses one JSON record (a line, a HAR entry, a request body) and finds a key written twice in
/// one of its objects: serde keeps the last, so the first value would be lost unseen. The check
/// is a count of the members the text writes (its `:` outside strings) against those the value
/// holds; only when they differ is the record scanned for the key. Returns the value, and the
/// reason to report when a key was written twice.
pub(crate) fn parse_record(text: &str) -> serde_json::Result<(serde_json::Value, Option<String>)> {
    let (value, surrogates) = match serde_json::from_str(text) {
        Ok(v) => (v, None),
        // a lone UTF-16 surrogate escape (a cut emoji, as Node writes it) fails the whole
        // record: it is read as U+FFFD instead, and said so
        Err(e) => match lone_surrogates(text) {
            Some((fixed, n, at)) => (
                serde_json::from_str(&fixed).map_err(|_| e)?,
                Some(format!(
                    "{n} lone UTF-16 surrogate escape(s) (the first at byte {at}) read as U+FFFD, the replacement character"
                )),
            ),
            None => return Err(e),
        },
    };
    let twice = (members_written(text.as_bytes()) != crate::engine::json::members(&value)).then(|| {
        let trimmed = text.trim_start();
        let offset = text.len() - trimmed.len();
        let found: Vec<(String, usize)> = crate::engine::jsonspan::scan(trimmed, false)
            .map(|t| t.duplicate_keys(trimmed).collect())
            .unwrap_or_default();
        match &found[..] {
            [] => "a key is written twice in one object; only the last value is read".to_string(),
            [(key, at)] => format!(
                "the key {key:?} is written twice in one object (byte {} of the record); only the last value is read",
                at + offset
            ),
            [(key, at), more @ ..] => {
                // every value lost is named, not only the first
                const NAMED: usize = 20;
                let mut others: Vec<String> =
                    more.iter().take(NAMED).map(|(k, at)| format!("{k:?} (byte {})", at + offset)).collect();
                if more.len() > NAMED {
                    others.push(format!("{} more", more.len() - NAMED));
                }
                format!(
                    "the key {key:?} is written twice in one object (byte {} of the record), and so are {}; \
                     only the last value of each is read",
                    at + offset,
                    others.join(", ")
                )
            }
        }
    });
    let reasons: Vec<String> = surrogates.into_iter().chain(twice).collect();
    Ok((value, (!reasons.is_empty()).then(|| reasons.join("; "))))
}

/// `text` with each lone surrogate escape (`\ud83d` with no low half after it, or a low half
/// alone) written as `\ufffd`, how many there were and where the first was; None when there is
/// none.
fn lone_surrogates(text: &str) -> Option<(String, usize, usize)> {
    let b = text.as_bytes();
    let unit = |at: usize| {
        (b.get(at) == Some(&b'\\') && b.get(at + 1) == Some(&b'u'))
            .then(|| text.get(at + 2..at + 6).and_then(|h| u16::from_str_radix(h, 16).ok()))
            .flatten()
    };
    let (mut out, mut copied, mut n, mut first) = (String::new(), 0, 0, 0);
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        let at = i + k;
        match unit(at) {
            Some(0xD800..=0xDBFF) if unit(at + 6).is_some_and(|lo| (0xDC00..=0xDFFF).contains(&lo)) => i = at + 12,
            Some(0xD800..=0xDFFF) => {
                if n == 0 {
                    first = at;
                }
                n += 1;
                out.push_str(&text[copied..at]);
                out.push_str("\\ufffd");
                copied = at + 6;
                i = at + 6;
            }
            // any other escape, `\\` included, is two bytes (and `\uXXXX` six, read as two then four)
            _ => i = at + 2,
        }
        if i >= b.len() {
            break;
        }
    }
    (n > 0).then(|| {
        out.push_str(&text[copied..]);
        (out, n, first)
    })
}

/// How many object members JSON text writes: its `:` outside strings.
fn members_written(b: &[u8]) -> usize {
    let (mut n, mut i) = (0, 0);
    while let Some(at) = b.get(i..).and_then(|rest| memchr::memchr2(b'"', b':', rest)) {
        i += at + 1;
        if b[i - 1] == b':' {
            n += 1;
            continue;
        }
        // a string: past its closing quote, skipping what a backslash escapes
        while let Some(at) = b.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
            i += at + 1;
            if b[i - 1] == b'"' {
                break;
            }
            i += 1;
        }
    }
    n
}

/// What [`json_lines`] calls for each line: line number, value, and the sink.
pub type LineFn<'a> = dyn FnMut(usize, serde_json::Value, &mut dyn FnMut(Event)) + 'a;

/// Calls `f` with each non-empty line of a JSON Lines text (1-based line number and parsed value);
/// lines that are not JSON become problems.
pub fn json_lines(name: &str, text: &str, sink: &mut dyn FnMut(Event), f: &mut LineFn) {
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        match parse_record(t) {
            Ok((v, twice)) => {
                if let Some(reason) = twice {
                    let location = Location { file: name.to_string(), line: line_no, path: String::new() };
                    sink(Event::Problem(Problem { location, reason }));
                }
                f(line_no, v, sink)
            }
            Err(e) => sink(Event::Problem(Problem {
                location: Location { file: name.to_string(), line: line_no, path: String::new() },
                reason: format!("not a JSON line: {e}"),
            })),
        }
    }
}

/// The top-level members of one JSON object: (key, value text). It reads the structure without
/// recursing, so a line nested past serde's limit still shows its keys. None when `text` is not
/// one whole object.
fn top_members(text: &str) -> Option<Vec<(String, &str)>> {
    use crate::engine::jsonspan::{self, NodeKind};
    let trimmed = text.trim();
    let tree = jsonspan::scan(trimmed, false).ok()?;
    let root = tree.root();
    if tree.node(root).kind != NodeKind::Object {
        return None;
    }
    tree.children(root)
        .map(|c| {
            let n = tree.node(c);
            let at = n.key_start()?;
            let key_len = jsonspan::value_end(&trimmed[at..])?;
            let key: String = serde_json::from_str(&trimmed[at..at + key_len]).ok()?;
            Some((key, &trimmed[n.span()]))
        })
        .collect()
}

/// The top-level keys of the one JSON object `text` is, read with no value built.
fn top_keys(text: &str) -> serde_json::Result<Vec<String>> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(k) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(k);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    serde_json::from_str::<Keys>(text).map(|k| k.0)
}

/// The capture format a JSON Lines record (its top-level members) says its file is, if any.
fn json_lines_format(members: &[(String, &str)]) -> Option<Format> {
    let has = |k: &str| members.iter().any(|(m, _)| m == k);
    let string =
        |k: &str| members.iter().find(|(m, _)| m == k).and_then(|(_, v)| serde_json::from_str::<String>(v).ok());
    if has("request_id") && (has("input_tokens_original") || has("request_messages")) {
        return Some(Format::HeadroomLog);
    }
    let ty = string("type");
    if (has("payload")
        && ty
            .as_deref()
            .is_some_and(|t| ["session_meta", "response_item", "event_msg", "turn_context", "compacted"].contains(&t)))
        || (has("timestamp") && has("type") && has("payload"))
    {
        return Some(Format::Codex);
    }
    if has("sessionId") || (has("uuid") && has("type")) || ty.as_deref() == Some("summary") {
        return Some(Format::ClaudeCode);
    }
    None
}

/// The format of a capture's text, from its first lines.
pub fn detect(text: &str) -> Format {
    let head = text.trim_start();
    if head.starts_with("event:") || head.starts_with("data:") {
        return Format::Sse;
    }
    // JSON Lines: the first line is a whole object; or it is a cut or broken one (it starts or
    // ends as an object does: a log's tail, a bad first record) and one of the next few is whole
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let whole = if first.starts_with('{') { top_members(first) } else { None };
    if let Some(f) = whole.as_deref().and_then(json_lines_format) {
        return f;
    }
    if whole.is_none()
        && (first.starts_with('{') || first.trim_end().ends_with('}'))
        && let Some(f) = lines.take(4).filter(|l| l.starts_with('{')).find_map(|l| json_lines_format(&top_members(l)?))
    {
        return f;
    }
    if head.starts_with('{') {
        if head.starts_with("{\"log\"")
            || head[..head.floor_char_boundary(200)].contains("\"log\"") && head.contains("\"entries\"")
        {
            return Format::Har;
        }
        // the top-level keys first, with nothing built: only an object with a HAR's or a request
        // body's keys is parsed whole (a 20 MB JSON file was parsed whole to be found plain, at
        // 35 times its size)
        let parsed = match top_keys(head) {
            Ok(keys) if !keys.iter().any(|k| ["log", "messages", "input"].contains(&k.as_str())) => {
                return Format::Plain;
            }
            Ok(_) => serde_json::from_str::<serde_json::Value>(head),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(v) => {
                if v.get("log").and_then(|l| l.get("entries")).is_some() {
                    return Format::Har;
                }
                if let Some(f) = provider::body_format(&v) {
                    return f;
                }
            }
            // a request body that is cut short, or nested past serde's limit, is still a request
            // body: its loader reports exactly where it breaks instead of it becoming a plain file
            Err(_) => {
                if let Some(f) = provider::guess_format(head) {
                    return f;
                }
            }
        }
    }
    Format::Plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_surrogate_is_read_as_the_replacement_character_and_said() {
        // a lone high half, a lone low half; a pair and an escaped backslash before `ud83d` stay
        let text = r#"{"a":"x\ud83d y","b":"\udc00","c":"\ud83d\ude00","d":"\\ud83d"}"#;
        let (v, said) = parse_record(text).unwrap();
        assert_eq!((v["a"].as_str(), v["b"].as_str()), (Some("x\u{fffd} y"), Some("\u{fffd}")));
        assert_eq!((v["c"].as_str(), v["d"].as_str()), (Some("\u{1f600}"), Some("\\ud83d")));
        let said = said.unwrap();
        assert!(said.starts_with("2 lone UTF-16 surrogate escape(s) (the first at byte 7)"), "{said}");
        assert!(&text[7..].starts_with(r"\ud83d"));
        // with a key written twice too, both are said
        let (_, said) = parse_record(r#"{"a":"\ud800","a":1}"#).unwrap();
        let said = said.unwrap();
        assert!(said.contains("surrogate") && said.contains("written twice"), "{said}");
        assert!(parse_record(r#"{"a":"\ud800"#).is_err(), "a record cut short is still an error");
    }

    #[test]
    fn detects_formats_by_content() {
        assert_eq!(detect("{\"request_id\":\"r1\",\"request_messages\":[]}\n"), Format::HeadroomLog);
        assert_eq!(detect("{\"log\":{\"version\":\"1.2\",\"entries\":[]}}"), Format::Har);
        assert_eq!(detect("{\"model\":\"claude-x\",\"max_tokens\":10,\"messages\":[]}"), Format::AnthropicRequest);
        assert_eq!(
            detect("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}"),
            Format::OpenAiChatRequest
        );
        assert_eq!(
            detect("{\"model\":\"gpt-5\",\"input\":\"hi\",\"instructions\":\"x\"}"),
            Format::OpenAiResponsesRequest
        );
        assert_eq!(detect("event: message_start\ndata: {}\n"), Format::Sse);
        assert_eq!(
            detect("{\"type\":\"user\",\"uuid\":\"u\",\"sessionId\":\"s\",\"message\":{}}\n"),
            Format::ClaudeCode
        );
        assert_eq!(detect("{\"timestamp\":\"t\",\"type\":\"session_meta\",\"payload\":{}}\n"), Format::Codex);
        assert_eq!(detect("just text\n"), Format::Plain);
        // an object is parsed whole only when its top-level keys are a HAR's or a request's: keys
        // deeper down do not count, and a cut or too-deep body is still guessed from its text
        assert_eq!(detect("{\"kind\":\"List\",\"items\":[{\"messages\":[],\"model\":\"m\"}]}"), Format::Plain);
        assert_eq!(detect("{\n  \"kind\": \"List\",\n  \"log\": 1\n}"), Format::Plain);
        assert_eq!(
            detect("{\"model\":\"claude-x\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","),
            Format::AnthropicRequest
        );
        let deep =
            format!("{{\"model\":\"claude-x\",\"max_tokens\":1,\"messages\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(detect(&deep), Format::AnthropicRequest);
        assert_eq!(top_keys(r#"{"b":{"x":[1,{"y":2}]},"a":"s","b":3}"#).unwrap(), ["b", "a", "b"]);
        assert!(top_keys(r#"{"b":{"x":[1"#).is_err() && top_keys("[1]").is_err() && top_keys("{} x").is_err());
    }
}
