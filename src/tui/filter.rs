//! The flow-list filter language, in the spirit of mitmproxy's:
//! `~engine json`, `~role tool`, `~kind tool_result`, `~tool Bash`, `~model sonnet`,
//! `~saved>50`, `~tokens>1000`, `~err`, `~recorded`, `~new` (not in an earlier request of the
//! capture), `~silent` (lines lost with no marker), `~response` (the model's answer), `~b TEXT`
//! (or a bare word: the block's text
//! contains it), combined with `!`, `&` (or juxtaposition), `|` and parentheses.

use std::fmt;

/// What the filter can see of one block.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    pub engine: Option<&'a str>,
    pub role: &'a str,
    pub kind: &'a str,
    pub tool: Option<&'a str>,
    pub model: Option<&'a str>,
    /// Percent of tokens saved, when computed.
    pub saved: Option<f64>,
    pub tokens: Option<usize>,
    pub is_error: bool,
    pub recorded: bool,
    /// Not in an earlier request of its capture.
    pub new: bool,
    /// Lines of the original lost with no marker, when known.
    pub silent: Option<usize>,
    /// The model's answer rather than part of the request.
    pub response: bool,
    pub text: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

impl Cmp {
    fn test(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => (a - b).abs() < 1e-9,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Engine(String),
    Role(String),
    Kind(String),
    Tool(String),
    Model(String),
    Saved(Cmp, f64),
    Tokens(Cmp, f64),
    Err,
    Recorded,
    New,
    Silent,
    Response,
    Text(String),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    pub fn matches(&self, f: &Facts) -> bool {
        let has = |hay: Option<&str>, needle: &str| hay.is_some_and(|h| h.to_lowercase().contains(needle));
        match self {
            Filter::Engine(e) => f.engine.is_some_and(|x| x.eq_ignore_ascii_case(e)),
            Filter::Role(r) => f.role.eq_ignore_ascii_case(r),
            Filter::Kind(k) => f.kind.eq_ignore_ascii_case(k),
            Filter::Tool(t) => has(f.tool, t),
            Filter::Model(m) => has(f.model, m),
            Filter::Saved(c, n) => f.saved.is_some_and(|s| c.test(s, *n)),
            Filter::Tokens(c, n) => f.tokens.is_some_and(|t| c.test(t as f64, *n)),
            Filter::Err => f.is_error,
            Filter::Recorded => f.recorded,
            Filter::New => f.new,
            Filter::Silent => f.silent.is_some_and(|n| n > 0),
            Filter::Response => f.response,
            Filter::Text(t) => f.text.to_lowercase().contains(t.as_str()),
            Filter::Not(x) => !x.matches(f),
            Filter::And(a, b) => a.matches(f) && b.matches(f),
            Filter::Or(a, b) => a.matches(f) || b.matches(f),
        }
    }
}

/// A filter expression that does not parse, with the position.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filter error at {}: {}", self.at + 1, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String, usize),
    Not(usize),
    And(usize),
    Or(usize),
    Open(usize),
    Close(usize),
}

fn lex(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '!' => {
                out.push(Tok::Not(at));
                i += 1;
            }
            '&' => {
                out.push(Tok::And(at));
                i += 1;
            }
            '|' => {
                out.push(Tok::Or(at));
                i += 1;
            }
            '(' => {
                out.push(Tok::Open(at));
                i += 1;
            }
            ')' => {
                out.push(Tok::Close(at));
                i += 1;
            }
            '"' => {
                let mut w = String::new();
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    w.push(chars[i].1);
                    i += 1;
                }
                i += 1;
                out.push(Tok::Word(w, at));
            }
            _ => {
                let mut w = String::new();
                while i < chars.len() && !chars[i].1.is_whitespace() && !"!&|()".contains(chars[i].1) {
                    w.push(chars[i].1);
                    i += 1;
                }
                out.push(Tok::Word(w, at));
            }
        }
    }
    out
}

/// How deep `!` and parentheses may nest, and how many terms a filter may have: the parser and
/// the matcher recurse, and a pasted 100,000 `!` must be an error, not a stack overflow.
const MAX_DEPTH: usize = 64;
const MAX_TERMS: usize = 256;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    len: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { at, message: message.into() })
    }

    fn at(&self) -> usize {
        match self.toks.get(self.pos) {
            Some(Tok::Word(_, a) | Tok::Not(a) | Tok::And(a) | Tok::Or(a) | Tok::Open(a) | Tok::Close(a)) => *a,
            None => self.len,
        }
    }

    fn or(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.and()?;
        while matches!(self.toks.get(self.pos), Some(Tok::Or(_))) {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.unary()?;
        loop {
            match self.toks.get(self.pos) {
                Some(Tok::And(_)) => {
                    self.pos += 1;
                    left = Filter::And(Box::new(left), Box::new(self.unary()?));
                }
                Some(Tok::Word(..) | Tok::Not(_) | Tok::Open(_)) => {
                    left = Filter::And(Box::new(left), Box::new(self.unary()?))
                }
                _ => return Ok(left),
            }
        }
    }

    fn unary(&mut self) -> Result<Filter, ParseError> {
        if self.depth >= MAX_DEPTH {
            let at = self.at();
            return self.err(at, format!("nested more than {MAX_DEPTH} deep"));
        }
        self.depth += 1;
        let f = self.unary_inner();
        self.depth -= 1;
        f
    }

    fn unary_inner(&mut self) -> Result<Filter, ParseError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Not(_)) => {
                self.pos += 1;
                Ok(Filter::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Open(a)) => {
                self.pos += 1;
                let inner = self.or()?;
                if !matches!(self.toks.get(self.pos), Some(Tok::Close(_))) {
                    return self.err(a, "unclosed (");
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Tok::Word(w, a)) => {
                self.pos += 1;
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return self.err(a, format!("more than {MAX_TERMS} terms"));
                }
                self.atom(&w, a)
            }
            _ => {
                let at = self.at();
                self.err(at, "expected a filter term")
            }
        }
    }

    fn arg(&mut self, name: &str, at: usize) -> Result<String, ParseError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Word(w, _)) => {
                self.pos += 1;
                Ok(w.to_lowercase())
            }
            _ => self.err(at, format!("~{name} needs a value")),
        }
    }

    fn atom(&mut self, w: &str, at: usize) -> Result<Filter, ParseError> {
        let Some(name) = w.strip_prefix('~') else { return Ok(Filter::Text(w.to_lowercase())) };
        for (key, make) in [("saved", true), ("tokens", false)] {
            if let Some(rest) = name.strip_prefix(key)
                && !rest.is_empty()
            {
                let (cmp, num) = if let Some(n) = rest.strip_prefix(">=") {
                    (Cmp::Ge, n)
                } else if let Some(n) = rest.strip_prefix("<=") {
                    (Cmp::Le, n)
                } else if let Some(n) = rest.strip_prefix('>') {
                    (Cmp::Gt, n)
                } else if let Some(n) = rest.strip_prefix('<') {
                    (Cmp::Lt, n)
                } else if let Some(n) = rest.strip_prefix('=') {
                    (Cmp::Eq, n)
                } else {
                    return self.err(at, format!("~{key} takes a comparison, e.g. ~{key}>50"));
                };
                let n: f64 = num
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| ParseError { at, message: format!("`{num}` is not a number") })?;
                return Ok(if make { Filter::Saved(cmp, n) } else { Filter::Tokens(cmp, n) });
            }
        }
        Ok(match name {
            "engine" => Filter::Engine(self.arg(name, at)?),
            "role" => Filter::Role(self.arg(name, at)?),
            "kind" => Filter::Kind(self.arg(name, at)?),
            "tool" => Filter::Tool(self.arg(name, at)?),
            "model" => Filter::Model(self.arg(name, at)?),
            "b" => Filter::Text(self.arg(name, at)?),
            "err" => Filter::Err,
            "recorded" => Filter::Recorded,
            "new" => Filter::New,
            "silent" => Filter::Silent,
            "response" => Filter::Response,
            other => {
                return self.err(
                    at,
                    format!(
                        "unknown term ~{other} (engine, role, kind, tool, model, saved, tokens, err, recorded, \
                         new, silent, response, b)"
                    ),
                );
            }
        })
    }
}

/// Parses a filter expression.
pub fn parse(s: &str) -> Result<Filter, ParseError> {
    let mut p = Parser { toks: lex(s), pos: 0, len: s.len(), depth: 0, terms: 0 };
    let f = p.or()?;
    if p.pos < p.toks.len() {
        let at = p.at();
        return p.err(at, "unexpected text");
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts<'static> {
        Facts {
            engine: Some("log"),
            role: "tool",
            kind: "tool_result",
            tool: Some("Bash"),
            model: Some("claude-sonnet-4-5"),
            saved: Some(88.0),
            tokens: Some(20_000),
            is_error: false,
            recorded: true,
            new: true,
            silent: Some(3),
            response: false,
            text: "ERROR orders: KeyError",
        }
    }

    #[test]
    fn terms_and_operators() {
        let f = facts();
        for (expr, want) in [
            ("~engine log", true),
            ("~engine json", false),
            ("~role tool & ~saved>50", true),
            ("~role tool ~saved>90", false),
            ("~engine json | ~tool bash", true),
            ("!~err", true),
            ("!(~engine log | ~engine json)", false),
            ("keyerror", true),
            ("~b \"orders: key\"", true),
            ("~tokens>=20000 & ~model sonnet & ~recorded", true),
            ("~saved<10", false),
            ("~new & ~silent", true),
            ("~response", false),
        ] {
            assert_eq!(parse(expr).unwrap().matches(&f), want, "{expr}");
        }
        let unknown = Facts { silent: None, ..facts() };
        assert!(!parse("~silent").unwrap().matches(&unknown), "an unmeasured block has no silent loss");
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(parse("~nope").unwrap_err().at, 0);
        assert!(parse("(~err").unwrap_err().message.contains("unclosed"));
        assert!(parse("~saved>lots").unwrap_err().message.contains("not a number"));
        assert!(parse("~engine").unwrap_err().message.contains("needs a value"));
        assert!(parse("~role tool |").is_err());
    }

    #[test]
    fn deep_or_long_filters_are_errors_not_stack_overflows() {
        for hostile in ["!".repeat(100_000), "(".repeat(100_000), "a ".repeat(100_000), "!(".repeat(50_000)] {
            let e = parse(&hostile).unwrap_err();
            assert!(e.message.contains("deep") || e.message.contains("terms"), "{}", e.message);
        }
        assert!(parse(&format!("{}a{}", "(".repeat(60), ")".repeat(60))).is_ok());
    }
}
