//! Provider bodies: Anthropic Messages, OpenAI Chat Completions and OpenAI Responses requests and
//! responses, turned into messages and blocks. Every other capture format wraps these.

use serde_json::Value;

use super::{Api, Block, BlockKind, Event, Flow, Format, Location, Message, Problem, Role, Usage};

/// Which request format a JSON body is, if any.
pub fn body_format(v: &Value) -> Option<Format> {
    let obj = v.as_object()?;
    if let Some(msgs) = obj.get("messages").and_then(Value::as_array) {
        let anthropic = obj.contains_key("max_tokens") && !obj.contains_key("max_completion_tokens")
            || obj.get("system").is_some()
            || obj.get("model").and_then(Value::as_str).is_some_and(|m| m.contains("claude"))
            || msgs.iter().any(|m| {
                m.get("content").and_then(Value::as_array).is_some_and(|c| {
                    c.iter().any(|b| matches!(b.get("type").and_then(Value::as_str), Some("tool_result" | "tool_use")))
                })
            });
        let openai = msgs.iter().any(|m| {
            matches!(m.get("role").and_then(Value::as_str), Some("system" | "tool" | "developer"))
                || m.get("tool_calls").is_some()
        });
        // a message's role says less than its content: Anthropic's blocks (a tool result, a
        // thinking block) with no OpenAI call or tool message are Anthropic's, a stray `system`
        // message or not
        let blocks = msgs.iter().any(|m| {
            m.get("content").and_then(Value::as_array).is_some_and(|c| {
                c.iter().any(|b| {
                    matches!(
                        b.get("type").and_then(Value::as_str),
                        Some("tool_result" | "tool_use" | "thinking" | "redacted_thinking")
                    )
                })
            })
        });
        let calls = msgs.iter().any(|m| {
            m.get("tool_calls").is_some() || matches!(m.get("role").and_then(Value::as_str), Some("tool" | "function"))
        });
        let anthropic = anthropic && !openai || blocks && !calls;
        return Some(if anthropic { Format::AnthropicRequest } else { Format::OpenAiChatRequest });
    }
    // a Responses input is text or a list of items; an embeddings request's is numbers or strings
    let items = match obj.get("input") {
        Some(Value::String(_)) => true,
        Some(Value::Array(a)) => a.iter().all(Value::is_object),
        _ => false,
    };
    if items && (obj.contains_key("model") || obj.contains_key("instructions")) {
        return Some(Format::OpenAiResponsesRequest);
    }
    None
}

/// The request format of a body that does not parse (cut short, or nested too deep), from the
/// keys its first 64 KB shows at the top level; None when it shows no request keys.
pub fn guess_format(text: &str) -> Option<Format> {
    let head = &text[..text.floor_char_boundary(64 * 1024)];
    // keys at depth 1: a quote right after `{` or `,` and whitespace, at nesting depth 1
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    let mut keys: Vec<&str> = Vec::new();
    let bytes = head.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_str = true;
                if depth == 1 {
                    let rest = &head[i + 1..];
                    if let Some(end) = rest.find('"')
                        && rest[end + 1..].trim_start().starts_with(':')
                    {
                        keys.push(&rest[..end]);
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let has = |k: &str| keys.contains(&k);
    if has("messages") {
        let anthropic = has("max_tokens") && !has("max_completion_tokens") || has("system") || head.contains("claude");
        Some(if anthropic { Format::AnthropicRequest } else { Format::OpenAiChatRequest })
    } else if has("input") && (has("model") || has("instructions")) {
        Some(Format::OpenAiResponsesRequest)
    } else {
        None
    }
}

/// The API of a request body.
pub fn api_of(v: &Value) -> Api {
    match body_format(v) {
        Some(Format::AnthropicRequest) => Api::AnthropicMessages,
        Some(Format::OpenAiChatRequest) => Api::OpenAiChat,
        Some(Format::OpenAiResponsesRequest) => Api::OpenAiResponses,
        _ => Api::Unknown,
    }
}

/// Builds blocks with a shared location prefix, and notes what it read only in part (an unknown
/// role) for its loader to report.
pub struct Builder<'a> {
    pub file: &'a str,
    pub line: usize,
    problems: Vec<Problem>,
}

impl<'a> Builder<'a> {
    pub fn new(file: &'a str, line: usize) -> Self {
        Builder { file, line, problems: Vec::new() }
    }

    /// Sends what was noted to the loader's sink.
    pub fn report(&mut self, sink: &mut dyn FnMut(Event)) {
        for p in self.problems.drain(..) {
            sink(Event::Problem(p));
        }
    }

    /// A message's role: one it does not know (`critic`) is read as `user`, and said so.
    fn role(&mut self, m: &Value, at: &str) -> Role {
        let name = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let role = Role::parse(name);
        if role == Role::User && name != "user" {
            let location = Location { path: format!("{at}.role"), ..self.loc() };
            let reason = format!("unknown role {name:?}: shown as user");
            self.problems.push(Problem { location, reason });
        }
        role
    }

    pub fn block(&mut self, kind: BlockKind, role: Role, text: String, path: String) -> Block {
        Block {
            kind,
            role,
            text,
            tool_name: None,
            tool_id: None,
            is_error: false,
            location: Location { file: self.file.to_string(), line: self.line, path },
        }
    }

    fn loc(&self) -> Location {
        Location { file: self.file.to_string(), line: self.line, path: String::new() }
    }
}

/// A JSON value (a tool call's input, a function's arguments) as the block's text. Its secrets
/// are left to the load-wide pass, which reads each string literal decoded before the text
/// around it (so a secret after a newline, behind a literal `\n` once printed, is found) and
/// counts what it replaces.
fn json_text(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The text of an Anthropic / OpenAI content value: a string, or text parts joined.
fn content_text(c: &Value) -> String {
    match c {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("text" | "input_text" | "output_text") => {
                    p.get("text").and_then(Value::as_str).unwrap_or_default().to_string()
                }
                Some("image" | "image_url" | "input_image") => image_placeholder(p),
                _ => p.as_str().map(str::to_string).unwrap_or_else(|| json_text(p)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => json_text(other),
    }
}

fn image_placeholder(b: &Value) -> String {
    placeholder(b, "image")
}

/// What stands for an image or a document the model reads as data: `[image: image/png, about
/// 1234 bytes]`, `[document]`.
fn placeholder(b: &Value, what: &str) -> String {
    let src = b.get("source");
    // a source by URL (or by a Files API id) is named
    if let Some(at) = src.and_then(|s| s.get("url").or_else(|| s.get("file_id"))).and_then(Value::as_str) {
        return format!("[{what}: {at}]");
    }
    let media = src.and_then(|s| s.get("media_type")).and_then(Value::as_str);
    let bytes = src.and_then(|s| s.get("data")).and_then(Value::as_str).map_or(0, |d| d.len() * 3 / 4);
    match (media, bytes) {
        (Some(m), 1..) => format!("[{what}: {m}, about {bytes} bytes]"),
        (None, 1..) => format!("[{what}: about {bytes} bytes]"),
        (Some(m), 0) => format!("[{what}: {m}]"),
        (None, 0) => format!("[{what}]"),
    }
}

/// Anthropic content blocks (or a string) of one message.
fn anthropic_blocks(b: &mut Builder, role: Role, content: &Value, at: &str) -> Vec<Block> {
    let Some(items) = content.as_array() else {
        return vec![b.block(BlockKind::Text, role, content_text(content), at.to_string())];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{at}[{i}]");
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("text");
        let mut block = match kind {
            "text" => {
                let mut text = item.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
                // the passages a text cites are sent with it: each on a line of its own after it
                for cited in item.get("citations").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(c) = cited.get("cited_text").and_then(Value::as_str) {
                        text.push_str(&format!("\n[cited: {c}]"));
                    }
                }
                b.block(BlockKind::Text, role, text, path)
            }
            "tool_use" | "server_tool_use" => {
                let mut bl =
                    b.block(BlockKind::ToolUse, role, json_text(item.get("input").unwrap_or(&Value::Null)), path);
                bl.tool_name = item.get("name").and_then(Value::as_str).map(str::to_string);
                bl
            }
            "tool_result" => {
                let mut bl = b.block(
                    BlockKind::ToolResult,
                    Role::Tool,
                    content_text(item.get("content").unwrap_or(&Value::Null)),
                    path,
                );
                bl.is_error = item.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                bl.tool_id = item.get("tool_use_id").and_then(Value::as_str).map(str::to_string);
                bl
            }
            "thinking" => b.block(
                BlockKind::Thinking,
                role,
                item.get("thinking").and_then(Value::as_str).unwrap_or_default().to_string(),
                path,
            ),
            "redacted_thinking" => b.block(BlockKind::Thinking, role, "[redacted thinking]".into(), path),
            "image" => b.block(BlockKind::Image, role, image_placeholder(item), path),
            // a plain-text document is text the model reads; other sources (PDF, base64) are not.
            // Its title and context are read by the model too, on lines of their own before it
            "document" => {
                let source = item.get("source");
                let mut text: String = ["title", "context"]
                    .iter()
                    .filter_map(|k| item.get(*k).and_then(Value::as_str).map(|v| format!("{k}: {v}\n")))
                    .collect();
                match source.and_then(|s| s.get("type")).and_then(Value::as_str) {
                    Some("text") => {
                        text.push_str(source.and_then(|s| s.get("data")).and_then(Value::as_str).unwrap_or_default())
                    }
                    // content blocks given as the document
                    Some("content") => {
                        text.push_str(&content_text(source.and_then(|s| s.get("content")).unwrap_or(&Value::Null)))
                    }
                    _ => text.push_str(&placeholder(item, "document")),
                }
                b.block(BlockKind::Text, role, text, path)
            }
            _ => b.block(BlockKind::Text, role, json_text(item), path),
        };
        if block.tool_id.is_none() {
            block.tool_id = item.get("id").and_then(Value::as_str).map(str::to_string);
        }
        out.push(block);
    }
    out
}

/// Messages of a request body (`prefix` names where the body sits, e.g. `request_messages`).
pub fn request_messages(b: &mut Builder, api: Api, body: &Value) -> Vec<Message> {
    let mut out = Vec::new();
    match api {
        Api::OpenAiResponses => {
            if let Some(ins) = body.get("instructions").filter(|v| !v.is_null()) {
                let bl = b.block(BlockKind::SystemPrompt, Role::System, content_text(ins), "instructions".into());
                out.push(Message { role: Role::System, blocks: vec![bl] });
            }
            match body.get("input") {
                Some(Value::String(s)) => {
                    let bl = b.block(BlockKind::Text, Role::User, s.clone(), "input".into());
                    out.push(Message { role: Role::User, blocks: vec![bl] });
                }
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(m) = responses_item(b, item, &format!("input[{i}]")) {
                            out.push(m);
                        }
                    }
                }
                _ => {}
            }
        }
        _ => {
            if let Some(sys) = body.get("system").filter(|v| !v.is_null()) {
                let text = content_text(sys);
                let bl = b.block(BlockKind::SystemPrompt, Role::System, text, "system".into());
                out.push(Message { role: Role::System, blocks: vec![bl] });
            }
            out.extend(messages_array(b, api, body.get("messages").unwrap_or(&Value::Null), "messages"));
        }
    }
    out
}

/// [`request_messages`] of a body it may take apart: each message (or Responses input item) is
/// let go once its blocks are made, so a body of 200,000 messages is not held twice over, as
/// values and as blocks.
pub fn request_messages_owned(b: &mut Builder, api: Api, mut body: Value) -> Vec<Message> {
    let key = if api == Api::OpenAiResponses { "input" } else { "messages" };
    let items = match body.get_mut(key) {
        Some(v @ Value::Array(_)) => v.take(),
        _ => return request_messages(b, api, &body),
    };
    // what comes before the messages (`system`, `instructions`), the messages now taken out
    let mut out = request_messages(b, api, &body);
    drop(body);
    let Value::Array(items) = items else { return out };
    for (i, item) in items.into_iter().enumerate() {
        if api == Api::OpenAiResponses {
            out.extend(responses_item(b, &item, &format!("input[{i}]")));
        } else {
            out.push(message(b, api, &item, &format!("messages[{i}]")));
        }
    }
    out
}

/// A `messages` array (Anthropic or OpenAI chat).
pub fn messages_array(b: &mut Builder, api: Api, msgs: &Value, at: &str) -> Vec<Message> {
    let Some(msgs) = msgs.as_array() else { return Vec::new() };
    msgs.iter().enumerate().map(|(i, m)| message(b, api, m, &format!("{at}[{i}]"))).collect()
}

/// One chat message's blocks; `at` is the message's own path (`messages[3]`,
/// `response.choices[0].message`).
fn message(b: &mut Builder, api: Api, m: &Value, at: &str) -> Message {
    let role = b.role(m, at);
    let path = format!("{at}.content");
    let content = m.get("content").unwrap_or(&Value::Null);
    let mut blocks = if api == Api::OpenAiChat {
        let kind = match role {
            Role::System | Role::Developer => BlockKind::SystemPrompt,
            Role::Tool => BlockKind::ToolResult,
            _ => BlockKind::Text,
        };
        let mut v = Vec::new();
        if !content.is_null() {
            let mut bl = b.block(kind, role, content_text(content), path);
            bl.tool_id = m.get("tool_call_id").and_then(Value::as_str).map(str::to_string);
            bl.tool_name = m.get("name").and_then(Value::as_str).map(str::to_string);
            v.push(bl);
        }
        // an assistant's refusal is what it said instead of content
        if let Some(r) = m.get("refusal").and_then(Value::as_str).filter(|r| !r.is_empty()) {
            v.push(b.block(BlockKind::Text, role, r.to_string(), format!("{at}.refusal")));
        }
        v
    } else {
        anthropic_blocks(b, role, content, &path)
    };
    // a call's arguments (a `function` call's) or input (a `custom` tool's), JSON or free text
    let mut call = |b: &mut Builder, f: &Value, path: String, id: Option<&str>| {
        let text = match f.get("arguments").or_else(|| f.get("input")) {
            Some(Value::String(s)) => {
                serde_json::from_str::<Value>(s).map(|v| json_text(&v)).unwrap_or_else(|_| s.clone())
            }
            Some(v) => json_text(v),
            None => "{}".to_string(),
        };
        let mut bl = b.block(BlockKind::ToolUse, role, text, path);
        bl.tool_name = f.get("name").and_then(Value::as_str).map(str::to_string);
        bl.tool_id = id.map(str::to_string);
        blocks.push(bl);
    };
    for (j, c) in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let f = c.get("function").or_else(|| c.get("custom")).unwrap_or(c);
        call(b, f, format!("{at}.tool_calls[{j}]"), c.get("id").and_then(Value::as_str));
    }
    // the legacy single call, before `tool_calls`
    if let Some(f) = m.get("function_call").filter(|f| f.is_object()) {
        call(b, f, format!("{at}.function_call"), None);
    }
    Message { role, blocks }
}

/// One OpenAI Responses item (input or output).
pub fn responses_item(b: &mut Builder, item: &Value, at: &str) -> Option<Message> {
    let ty = item.get("type").and_then(Value::as_str).unwrap_or("message");
    match ty {
        "message" => {
            let role = b.role(item, at);
            let kind =
                if matches!(role, Role::System | Role::Developer) { BlockKind::SystemPrompt } else { BlockKind::Text };
            // an item with no content at all is shown as the JSON it is, never as an empty block
            let text = item.get("content").map_or_else(|| json_text(item), content_text);
            let bl = b.block(kind, role, text, format!("{at}.content"));
            Some(Message { role, blocks: vec![bl] })
        }
        "function_call" | "custom_tool_call" | "local_shell_call" => {
            let args = item.get("arguments").or_else(|| item.get("input")).or_else(|| item.get("action"));
            let text = match args {
                Some(Value::String(s)) => {
                    serde_json::from_str::<Value>(s).map(|v| json_text(&v)).unwrap_or_else(|_| s.clone())
                }
                Some(v) => json_text(v),
                None => String::new(),
            };
            let mut bl = b.block(BlockKind::ToolUse, Role::Assistant, text, at.to_string());
            bl.tool_name =
                item.get("name").and_then(Value::as_str).map(str::to_string).or_else(|| Some(ty.to_string()));
            bl.tool_id = item.get("call_id").and_then(Value::as_str).map(str::to_string);
            Some(Message { role: Role::Assistant, blocks: vec![bl] })
        }
        "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
            let out = item.get("output").unwrap_or(&Value::Null);
            let text = match out {
                Value::String(s) => serde_json::from_str::<Value>(s)
                    .ok()
                    .and_then(|v| v.get("output").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_else(|| s.clone()),
                other => content_text(other),
            };
            let mut bl = b.block(BlockKind::ToolResult, Role::Tool, text, at.to_string());
            bl.tool_id = item.get("call_id").and_then(Value::as_str).map(str::to_string);
            Some(Message { role: Role::Tool, blocks: vec![bl] })
        }
        "reasoning" => {
            let summary = item.get("summary").map(content_text).unwrap_or_default();
            if summary.trim().is_empty() {
                return None;
            }
            let bl = b.block(BlockKind::Thinking, Role::Assistant, summary, at.to_string());
            Some(Message { role: Role::Assistant, blocks: vec![bl] })
        }
        // any other item (`web_search_call`, `mcp_call`, `image_generation_call`, a type newer
        // than this reader) is shown as the JSON it is: nothing is dropped unseen
        _ => {
            let (kind, role) = if ty.ends_with("_output") || ty.ends_with("_result") {
                (BlockKind::ToolResult, Role::Tool)
            } else if ty.ends_with("_call") || ty.ends_with("_request") || item.get("role").is_none() {
                (BlockKind::ToolUse, Role::Assistant)
            } else {
                (BlockKind::Text, b.role(item, at))
            };
            let mut bl = b.block(kind, role, json_text(item), at.to_string());
            if kind != BlockKind::Text {
                bl.tool_name =
                    item.get("name").and_then(Value::as_str).map(str::to_string).or_else(|| Some(ty.to_string()));
            }
            bl.tool_id = item.get("call_id").or_else(|| item.get("id")).and_then(Value::as_str).map(str::to_string);
            Some(Message { role, blocks: vec![bl] })
        }
    }
}

/// The assistant messages of a response body, and its usage.
pub fn response_messages(b: &mut Builder, body: &Value) -> (Vec<Message>, Option<Usage>) {
    let u = body.get("usage");
    let num = |k: &str| u.and_then(|u| u.get(k)).and_then(Value::as_u64);
    let usage = u.map(|_| Usage {
        input_tokens: num("input_tokens").or_else(|| num("prompt_tokens")),
        output_tokens: num("output_tokens").or_else(|| num("completion_tokens")),
        cache_read_tokens: num("cache_read_input_tokens").or_else(|| {
            u.and_then(|u| u.get("prompt_tokens_details").or_else(|| u.get("input_tokens_details")))
                .and_then(|d| d.get("cached_tokens"))
                .and_then(Value::as_u64)
        }),
        cache_write_tokens: num("cache_creation_input_tokens"),
    });
    let mut out = Vec::new();
    if let Some(content) = body.get("content").filter(|c| c.is_array()) {
        out.push(Message {
            role: Role::Assistant,
            blocks: anthropic_blocks(b, Role::Assistant, content, "response.content"),
        });
    } else if let Some(choices) = body.get("choices").and_then(Value::as_array) {
        for (i, c) in choices.iter().enumerate() {
            let key = if c.get("message").is_some() { "message" } else { "delta" };
            let m = c.get(key).unwrap_or(&Value::Null);
            out.push(message(b, Api::OpenAiChat, m, &format!("response.choices[{i}].{key}")));
        }
    } else if let Some(items) = body.get("output").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            out.extend(responses_item(b, item, &format!("response.output[{i}]")));
        }
    }
    (out, usage)
}

/// A single raw request body file: one flow.
pub fn load_body(name: &str, text: &str, sink: &mut dyn FnMut(Event)) {
    let loc = Location { file: name.to_string(), line: 1, path: String::new() };
    let body: Value = match super::parse_record(text) {
        Ok((v, twice)) => {
            if let Some(reason) = twice {
                sink(Event::Problem(Problem { location: loc.clone(), reason }));
            }
            v
        }
        Err(e) => {
            sink(Event::Problem(Problem { location: loc, reason: format!("not valid JSON: {e}") }));
            return;
        }
    };
    let mut b = Builder::new(name, 1);
    let api = api_of(&body);
    let mut flow = Flow::new(0, api, b.loc());
    flow.model = body.get("model").and_then(Value::as_str).map(str::to_string);
    flow.messages = request_messages_owned(&mut b, api, body);
    b.report(sink);
    sink(Event::Flow(Box::new(flow)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(body: &str) -> Vec<Message> {
        let v: Value = serde_json::from_str(body).unwrap();
        let mut b = Builder::new("t", 1);
        request_messages(&mut b, api_of(&v), &v)
    }

    #[test]
    fn anthropic_blocks_and_tool_results() {
        let m = build(
            r#"{"model":"claude-sonnet-4","max_tokens":100,"system":[{"type":"text","text":"be brief"}],
                "messages":[{"role":"user","content":"hi"},
                {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a.txt"}],"is_error":true}]}]}"#,
        );
        let kinds: Vec<BlockKind> = m.iter().flat_map(|m| m.blocks.iter().map(|b| b.kind)).collect();
        assert_eq!(kinds, [BlockKind::SystemPrompt, BlockKind::Text, BlockKind::ToolUse, BlockKind::ToolResult]);
        let tr = &m[3].blocks[0];
        assert_eq!(
            (tr.text.as_str(), tr.role, tr.is_error, tr.tool_id.as_deref()),
            ("a.txt", Role::Tool, true, Some("t1"))
        );
        assert_eq!(m[2].blocks[0].tool_name.as_deref(), Some("Bash"));
        assert_eq!(tr.location.path, "messages[2].content[0]");
    }

    /// A block as (kind, role, tool name, text).
    type Shown = (BlockKind, Role, Option<String>, String);

    /// The blocks of a body, and what its builder noted.
    fn read(body: &str) -> (Vec<Shown>, Vec<String>) {
        let v: Value = serde_json::from_str(body).unwrap();
        let mut b = Builder::new("t", 1);
        let m = request_messages(&mut b, api_of(&v), &v);
        let mut noted = Vec::new();
        b.report(&mut |e| {
            if let Event::Problem(p) = e {
                noted.push(format!("{}: {}", p.location.path, p.reason));
            }
        });
        let blocks = m.into_iter().flat_map(|m| m.blocks).map(|b| (b.kind, b.role, b.tool_name, b.text)).collect();
        (blocks, noted)
    }

    #[test]
    fn a_body_taken_apart_reads_as_the_body_read_in_place() {
        let bodies = [
            r#"{"model":"claude-x","max_tokens":5,"system":"be brief","messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"text","text":"b"},{"type":"tool_use","id":"t","name":"Read","input":{"p":1}}]}]}"#,
            r#"{"model":"gpt-4o","messages":[{"role":"system","content":"s"},{"role":"critic","content":"c"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}}]}]}"#,
            r#"{"model":"gpt-5","instructions":"i","input":[{"role":"user","content":"u"},{"type":"web_search_call","id":"w"},{"type":"function_call_output","call_id":"c","output":"o"}]}"#,
            r#"{"model":"gpt-5","instructions":"i","input":"just text"}"#,
            r#"{"model":"claude-x","max_tokens":5,"messages":"not a list"}"#,
        ];
        for body in bodies {
            let v: Value = serde_json::from_str(body).unwrap();
            let api = api_of(&v);
            let (mut a, mut b) = (Builder::new("t", 1), Builder::new("t", 1));
            let in_place = format!("{:?}", request_messages(&mut a, api, &v));
            let taken = format!("{:?}", request_messages_owned(&mut b, api, v));
            assert_eq!(in_place, taken, "{body}");
            assert_eq!(format!("{:?}", a.problems), format!("{:?}", b.problems), "{body}");
        }
    }

    #[test]
    fn calls_of_every_kind_and_unknown_items_are_shown_and_an_unknown_role_is_said() {
        // chat: a legacy `function_call`, a `custom` tool call, and a role this reader does not know
        let (blocks, noted) = read(
            r#"{"model":"gpt-4o","messages":[{"role":"system","content":"s"},
                {"role":"assistant","content":null,"function_call":{"name":"lookup","arguments":"{\"q\":\"rust\"}"}},
                {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"custom","custom":{"name":"apply_patch","input":"*** Begin Patch"}}]},
                {"role":"critic","content":"too long"}]}"#,
        );
        let calls: Vec<(&str, &str)> = blocks
            .iter()
            .filter(|b| b.0 == BlockKind::ToolUse)
            .map(|b| (b.2.as_deref().unwrap_or_default(), b.3.as_str()))
            .collect();
        assert_eq!(calls, [("lookup", "{\n  \"q\": \"rust\"\n}"), ("apply_patch", "*** Begin Patch")]);
        assert_eq!(blocks.last().map(|b| (b.1, b.3.as_str())), Some((Role::User, "too long")));
        assert_eq!(noted, ["messages[3].role: unknown role \"critic\": shown as user"]);
        // Responses: a web search, an MCP call and an item type newer than this reader
        let (blocks, noted) = read(
            r#"{"model":"gpt-5","input":[{"role":"user","content":"find it"},
                {"type":"web_search_call","id":"ws1","status":"completed","action":{"type":"search","query":"ctxlens"}},
                {"type":"mcp_call","id":"m1","name":"fetch","server_label":"web","arguments":"{}","output":"page text"},
                {"type":"hologram","id":"h1","payload":"kept"}]}"#,
        );
        assert!(noted.is_empty(), "{noted:?}");
        let shown: Vec<(BlockKind, Option<&str>)> = blocks[1..].iter().map(|b| (b.0, b.2.as_deref())).collect();
        assert_eq!(
            shown,
            [
                (BlockKind::ToolUse, Some("web_search_call")),
                (BlockKind::ToolUse, Some("fetch")),
                (BlockKind::ToolUse, Some("hologram"))
            ]
        );
        for needle in ["\"query\": \"ctxlens\"", "\"output\": \"page text\"", "\"payload\": \"kept\""] {
            assert!(blocks.iter().any(|b| b.3.contains(needle)), "{needle} not shown");
        }
    }

    #[test]
    fn a_text_document_and_a_refusal_are_shown_not_dropped() {
        let m = build(
            r#"{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":[
                {"type":"document","source":{"type":"text","media_type":"text/plain","data":"the contract says 30 days"}},
                {"type":"document","title":"Lease","context":"signed 2024","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"}}]}]}"#,
        );
        let texts: Vec<&str> = m.iter().flat_map(|m| m.blocks.iter().map(|b| b.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                "the contract says 30 days",
                "title: Lease\ncontext: signed 2024\n[document: application/pdf, about 6 bytes]"
            ]
        );
        // a document of content blocks, sources by URL, a text's citations, and a stray system
        // message beside Anthropic's blocks (still an Anthropic body)
        let (blocks, _) = read(
            r#"{"model":"claude-x","messages":[{"role":"user","content":[
                {"type":"document","source":{"type":"content","content":[{"type":"text","text":"clause 4"}]}},
                {"type":"document","source":{"type":"url","url":"https://x/a.pdf"}},
                {"type":"image","source":{"type":"url","url":"https://x/a.png"}},
                {"type":"tool_result","tool_use_id":"t","content":"ok"}]},
                {"role":"assistant","content":[{"type":"text","text":"It says so.","citations":[{"type":"char_location","cited_text":"clause 4"}]}]},
                {"role":"system","content":"be brief"}]}"#,
        );
        let texts: Vec<&str> = blocks.iter().map(|b| b.3.as_str()).collect();
        let want = [
            "clause 4",
            "[document: https://x/a.pdf]",
            "[image: https://x/a.png]",
            "ok",
            "It says so.\n[cited: clause 4]",
        ];
        assert_eq!(texts, [&want[..], &["be brief"]].concat());
        let m = build(
            r#"{"model":"gpt-4o","messages":[{"role":"system","content":"x"},
                {"role":"assistant","content":null,"refusal":"I can't help with that."}]}"#,
        );
        let texts: Vec<&str> = m.iter().flat_map(|m| m.blocks.iter().map(|b| b.text.as_str())).collect();
        assert_eq!(texts, ["x", "I can't help with that."]);
    }

    #[test]
    fn openai_chat_and_responses() {
        let m = build(
            r#"{"model":"gpt-4o","messages":[{"role":"system","content":"sys"},{"role":"assistant","content":null,
                "tool_calls":[{"id":"c1","type":"function","function":{"name":"grep","arguments":"{\"q\":\"x\"}"}}]},
                {"role":"tool","tool_call_id":"c1","content":"src/a.rs:1:x"}]}"#,
        );
        let kinds: Vec<BlockKind> = m.iter().flat_map(|m| m.blocks.iter().map(|b| b.kind)).collect();
        assert_eq!(kinds, [BlockKind::SystemPrompt, BlockKind::ToolUse, BlockKind::ToolResult]);
        let r = build(
            r#"{"model":"gpt-5","instructions":"sys","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"fix it"}]},
                {"type":"function_call","call_id":"k","name":"shell","arguments":"{\"cmd\":[\"ls\"]}"},
                {"type":"function_call_output","call_id":"k","output":"{\"output\":\"a\\nb\",\"metadata\":{}}"}]}"#,
        );
        let texts: Vec<&str> = r.iter().flat_map(|m| m.blocks.iter().map(|b| b.text.as_str())).collect();
        assert_eq!(texts[0], "sys");
        assert_eq!(texts[1], "fix it");
        assert_eq!(texts[3], "a\nb");
    }
}
