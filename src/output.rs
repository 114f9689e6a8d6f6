//! Output: the stats line, the ledger document, writing files so they are never half-written,
//! and input text made safe to print on a terminal.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::engine::EngineKind;
use crate::ledger::{Dropped, Marker};
use crate::outcome::{Decision, Outcome, SectionReport};
use crate::retention::Retention;
use crate::tokens::Tokenizer;

/// The figures of one run, as printed by `--stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The engine that ran (`mixed` when sections went to different engines).
    pub engine: String,
    /// What was asked for (`auto` or an engine name).
    pub requested: String,
    pub acted: bool,
    /// The strategy when acted, the skip reason otherwise.
    pub reason: String,
    pub in_bytes: usize,
    pub out_bytes: usize,
    pub in_tokens: usize,
    pub out_tokens: usize,
    pub dropped_spans: usize,
    /// The whole call, from the input's bytes to the output (the process's start-up aside).
    pub ms_total: f64,
    /// The engines alone.
    pub ms_engine: f64,
    /// Token counting alone (input and output).
    pub ms_count: f64,
    /// Content-type detection and splitting.
    pub ms_route: f64,
    pub tokenizer: Tokenizer,
    /// Secrets `--redact` replaced in the input before it was compressed (`in_bytes` and
    /// `in_tokens` are of the redacted input).
    #[serde(skip_serializing_if = "is_zero")]
    pub redacted: usize,
    /// What the output kept of what matters, over the acted sections (see [`crate::retention`]);
    /// filled by [`Stats::measure_retention`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    pub sections: Vec<SectionStats>,
}

/// One routed section in the stats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionStats {
    pub kind: EngineKind,
    pub lines: [usize; 2],
    pub acted: bool,
    pub reason: String,
    pub in_tokens: usize,
    pub out_tokens: usize,
    /// The engine's time budget ran out part way (the rest kept as it was).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub budget_hit: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Stats {
    /// Measures retention per section and overall (a section passed through keeps everything).
    pub fn measure_retention(&mut self, outcome: &Outcome, query: Option<&str>, path: Option<&str>) {
        let mut total = Retention::default();
        for (stats, r) in self.sections.iter_mut().zip(crate::retention::per_section(outcome, query, path)) {
            total.merge(&r);
            stats.retention = Some(r);
        }
        self.retention = Some(total);
    }

    /// The sections whose retention score is below `min`: (first line, last line, kind, retention).
    pub fn below(&self, min: f64) -> impl Iterator<Item = &SectionStats> {
        self.sections.iter().filter(move |s| s.retention.as_ref().is_some_and(|r| r.score < min))
    }

    pub fn of(outcome: &Outcome, requested: &str, ms_total: f64) -> Stats {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        Stats {
            engine: outcome.engine.map_or_else(|| "mixed".to_string(), |k| k.to_string()),
            requested: requested.to_string(),
            acted: outcome.decision.acted(),
            reason: outcome.decision.reason(),
            in_bytes: outcome.original.len(),
            out_bytes: outcome.output.len(),
            in_tokens: outcome.tokens_in,
            out_tokens: outcome.tokens_out,
            dropped_spans: outcome.ledger.drops.len(),
            ms_total,
            ms_engine: ms(outcome.timing.engine),
            ms_count: ms(outcome.timing.count),
            ms_route: ms(outcome.timing.route),
            tokenizer: outcome.tokenizer,
            redacted: 0,
            retention: None,
            sections: outcome.sections.iter().map(SectionStats::of).collect(),
        }
    }

    /// Stats for input that never reached an engine (binary, not UTF-8).
    pub fn passthrough(
        decision: &Decision,
        requested: &str,
        bytes: usize,
        tokens: usize,
        tokenizer: Tokenizer,
        (ms_total, ms_count): (f64, f64),
    ) -> Stats {
        Stats {
            engine: "none".to_string(),
            requested: requested.to_string(),
            acted: false,
            reason: decision.reason(),
            in_bytes: bytes,
            out_bytes: bytes,
            in_tokens: tokens,
            out_tokens: tokens,
            dropped_spans: 0,
            ms_total,
            ms_engine: 0.0,
            ms_count,
            ms_route: 0.0,
            tokenizer,
            redacted: 0,
            retention: None,
            sections: Vec::new(),
        }
    }

    /// One human line: `json: 15,950 → 8,835 bytes · 4,210 → 2,118 tokens (o200k, −49.7%) · 3
    /// dropped spans · 12.0 ms (engine 8.1, counting 2.3)`.
    pub fn to_text(&self) -> String {
        use crate::ledger::group_thousands as g;
        let saved = crate::tokens::saved_percent(self.in_tokens, self.out_tokens);
        let mut s = format!(
            "{}: {} → {} bytes · {} → {} tokens ({}, −{saved:.1}%) · {} dropped spans · {:.1} ms (engine {:.1}, counting {:.1})\n  {}: {}",
            self.engine,
            g(self.in_bytes),
            g(self.out_bytes),
            g(self.in_tokens),
            g(self.out_tokens),
            self.tokenizer,
            self.dropped_spans,
            self.ms_total,
            self.ms_engine,
            self.ms_count,
            if self.acted { "acted" } else { "skipped" },
            self.reason
        );
        if self.sections.len() > 1 {
            for sec in &self.sections {
                s.push_str(&format!(
                    "\n  lines {}-{} {}: {} → {} tokens, {}",
                    sec.lines[0],
                    sec.lines[1],
                    sec.kind,
                    g(sec.in_tokens),
                    g(sec.out_tokens),
                    sec.reason
                ));
            }
        }
        // an engine that acted but ran out of time part way says so (one that never started
        // says it in its reason)
        for sec in self.sections.iter().filter(|sec| sec.budget_hit && sec.acted) {
            s.push_str(&format!(
                "\n  the {} engine's time budget ran out in lines {}-{}: the rest of them is kept as it was",
                sec.kind, sec.lines[0], sec.lines[1]
            ));
        }
        if let Some(r) = &self.retention {
            s.push_str(&format!("\n  retention {:.2}: {}", r.score, r.summary()));
        }
        s
    }
}

impl SectionStats {
    fn of(s: &SectionReport) -> SectionStats {
        SectionStats {
            kind: s.kind,
            lines: [s.lines.first, s.lines.last],
            acted: s.decision.acted(),
            reason: s.decision.reason(),
            in_tokens: s.tokens_in,
            out_tokens: s.tokens_out,
            budget_hit: s.budget_hit,
            retention: None,
        }
    }
}

/// The ledger file written by `--ledger`.
#[derive(Debug, Serialize)]
pub struct LedgerDoc<'a> {
    pub source: &'a str,
    pub tokenizer: Tokenizer,
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub decision: &'a Decision,
    pub sections: &'a [SectionReport],
    pub markers: &'a [Marker],
    pub drops: DropsDoc<'a>,
    /// Where `--store` kept the drops, and which keys it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<&'a StoreReport>,
}

/// What `--store` came to, for the ledger: the store asked for (none when no location could be
/// worked out), whether it opened, and every key not stored, with why.
#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    pub location: Option<String>,
    pub opened: bool,
    pub unstored: Vec<Unstored>,
}

/// A key `--store` could not keep.
#[derive(Debug, Clone, Serialize)]
pub struct Unstored {
    pub key: crate::ledger::Key,
    pub why: String,
}

impl<'a> LedgerDoc<'a> {
    pub fn of(outcome: &'a Outcome, source: &'a str) -> Self {
        LedgerDoc {
            source,
            tokenizer: outcome.tokenizer,
            tokens_in: outcome.tokens_in,
            tokens_out: outcome.tokens_out,
            decision: &outcome.decision,
            sections: &outcome.sections,
            markers: &outcome.ledger.markers,
            drops: DropsDoc { drops: &outcome.ledger.drops, original: &outcome.original },
            store: None,
        }
    }
}

/// The drops of a ledger file, each written with its key (worked out as it is written, one drop
/// at a time: see [`Dropped::key`]).
#[derive(Debug)]
pub struct DropsDoc<'a> {
    drops: &'a [Dropped],
    original: &'a str,
}

impl Serialize for DropsDoc<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// A drop as the file has it: its fields in their order, its key before its marker.
        #[derive(Serialize)]
        struct DropDoc<'d> {
            span: &'d crate::ledger::Span,
            unit: crate::ledger::Unit,
            count: usize,
            reason: &'d str,
            key: crate::ledger::Key,
            marker: usize,
        }
        s.collect_seq(self.drops.iter().map(|d| DropDoc {
            span: &d.span,
            unit: d.unit,
            count: d.count,
            reason: &d.reason,
            key: d.key(self.original),
            marker: d.marker,
        }))
    }
}

/// Writes `bytes` to `path`. A new or regular file is written through a temporary file in the
/// same folder and renamed over it, so a reader never sees a partial file and a failed write
/// leaves the old one in place. Anything else the path names (a symlink, a FIFO, a device such as
/// `/dev/stdout`) is written through, never replaced by a regular file; a symlink's target is
/// written atomically when it is a regular file, and made when it does not exist yet.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes, streamed through a buffer: a ledger of 200,000 drops
/// took 134 MB as one text before it was written.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = link_target(path);
    match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => {
            let mut f = std::io::BufWriter::new(std::fs::OpenOptions::new().write(true).open(&target)?);
            write(&mut f)?;
            return f.flush();
        }
        _ => {}
    }
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(without_temp_path)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    if let Ok(m) = std::fs::metadata(&target) {
        // keep the permissions the file had
        let _ = tmp.as_file().set_permissions(m.permissions());
    }
    tmp.persist(&target).map_err(|e| without_temp_path(e.error))?;
    Ok(())
}

/// What `path` names once its symlinks are followed, whether or not that exists (a dangling
/// symlink names the file it would make). A chain longer than the system's limit stops where it
/// is (the write then fails as it would).
fn link_target(path: &Path) -> std::path::PathBuf {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(to) = std::fs::symlink_metadata(&at).and_then(|m| {
            if m.file_type().is_symlink() { std::fs::read_link(&at) } else { Err(std::io::ErrorKind::Other.into()) }
        }) else {
            break;
        };
        at = match at.parent() {
            Some(dir) if to.is_relative() => dir.join(to),
            _ => to,
        };
    }
    at
}

/// The error without the name of the temporary file it was about (`… at path "/dir/.tmpXYZ"`):
/// the caller names the file the user asked for.
fn without_temp_path(e: std::io::Error) -> std::io::Error {
    let text = e.to_string();
    match text.find(" at path ") {
        Some(i) => std::io::Error::new(e.kind(), text[..i].to_string()),
        None => e,
    }
}

/// Text from an input made safe for a terminal line: control characters (an escape sequence
/// would recolour, move or retitle the user's terminal) and bidirectional overrides (which
/// reorder what is shown) become visible `\u{..}` escapes; a tab becomes a space.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
    if !text.chars().any(unsafe_char) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn escapes_and_overrides_become_visible() {
        assert_eq!(printable("plain é 日本"), "plain é 日本");
        assert_eq!(printable("\u{1b}]0;pwned\u{7}red\u{1b}[31m"), "\\u{1b}]0;pwned\\u{7}red\\u{1b}[31m");
        assert_eq!(printable("a\tb\u{202e}c"), "a b\\u{202e}c");
    }
}
