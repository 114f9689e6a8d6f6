//! The pipeline: input text → sections (router, or the one engine asked for) → engine → outcome.
//!
//! It is the only place that counts the final tokens and decides whether a result is kept: a
//! section whose output would not be smaller is passed through with that reason, its ledger
//! discarded. Every consumer (CLI, tests, benchmarks, later the TUI) calls [`compress`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::engine::{self, Context, EngineKind, text};
use crate::ledger::{Ledger, Lines};
use crate::outcome::{Decision, Outcome, SectionReport, Skip, Timing};
use crate::router::{self, Route};
use crate::tokens;

/// Which engine to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineChoice {
    /// Detect the type (and split mixed content) with the router.
    #[default]
    Auto,
    /// Run this engine on the whole input.
    Only(EngineKind),
}

impl FromStr for EngineChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            Ok(EngineChoice::Auto)
        } else {
            s.parse().map(EngineChoice::Only).map_err(|e| format!("{e}, or auto (the default)"))
        }
    }
}

impl fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineChoice::Auto => f.write_str("auto"),
            EngineChoice::Only(k) => write!(f, "{k}"),
        }
    }
}

/// Compresses `input` with the chosen engine (or the router) and the knobs in `config`.
pub fn compress(input: &str, choice: EngineChoice, config: &Config, ctx: &Context) -> Outcome {
    // copied once the engines are done with their own memory
    let mut outcome = run(input, choice, config, ctx);
    outcome.original = Arc::from(input);
    outcome
}

/// [`compress`] on a shared text: it becomes the outcome's original as it is, where [`compress`]
/// copies it (a 10 MB block would be held twice).
pub fn compress_shared(input: Arc<str>, choice: EngineChoice, config: &Config, ctx: &Context) -> Outcome {
    let mut outcome = run(&input, choice, config, ctx);
    outcome.original = input;
    outcome
}

/// The pipeline, with every part of the outcome but its original.
fn run(input: &str, choice: EngineChoice, config: &Config, ctx: &Context) -> Outcome {
    let mut timing = Timing::default();
    let clock = Instant::now();
    let routes = match choice {
        EngineChoice::Auto => router::route(input, &config.router, ctx.tokenizer, ctx.path.as_deref()),
        EngineChoice::Only(kind) => vec![Route { bytes: 0..input.len(), kind, why: "chosen by --engine".into() }],
    };
    timing.route = clock.elapsed();
    let mut line_index = LineCounter::new(input);
    // grown as sections arrive: sized to the input it would hold megabytes a compressed output
    // never needs
    let mut output = String::new();
    let mut ledger = Ledger::default();
    let mut sections = Vec::with_capacity(routes.len());
    for route in routes {
        let text = &input[route.bytes.clone()];
        let whole = route.bytes.len() == input.len();
        let tokens_in = match ctx.tokens_in.filter(|_| whole) {
            Some(n) => n,
            None => timed(&mut timing.count, || tokens::count(text, ctx.tokenizer)),
        };
        let lines_before = line_index.line_of(route.bytes.start) - 1;
        let section_ctx = Context { tokens_in: Some(tokens_in), lines_before, ..ctx.clone() };
        // the prose time budget bounds the whole call: a later prose section gets what is left
        let bounded;
        let section_config = if route.kind == EngineKind::Prose && !sections.is_empty() {
            let spent = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
            let mut c = config.clone();
            c.prose.time_budget_ms = c.prose.time_budget_ms.saturating_sub(spent);
            bounded = c;
            &bounded
        } else {
            config
        };
        let result = timed(&mut timing.engine, || {
            if text.is_empty() { Err(Skip::Empty) } else { engine::run(route.kind, text, section_config, &section_ctx) }
        });
        let mut budget_hit = false;
        let (out, decision, mut section_ledger, notes, tokens_out) = match result {
            Ok(mut c) => {
                // a section's closing line break stays, whatever the engine wrote (a fenced JSON
                // block must keep the newline before its closing fence)
                if text.ends_with(['\n', '\r']) && !c.output.ends_with(['\n', '\r']) {
                    c.output.push('\n');
                }
                // a section indented as a whole (a fence in a list item) stays so: the JSON
                // engine's one line and every marker get the indent back
                let indent = if whole { "" } else { text::common_indent(text) };
                if !indent.is_empty() {
                    c.output = text::with_indent(&c.output, indent);
                }
                // lines the engine wrote (markers) end as the input's lines do
                if let Some(brk) = text::foreign_line_break(text) {
                    c.output = text::with_line_break(c.output, brk);
                }
                budget_hit = c.budget_hit;
                let tokens_out = timed(&mut timing.count, || tokens::count(&c.output, ctx.tokenizer));
                if tokens_out >= tokens_in {
                    // an engine that dropped nothing did not make the text bigger: it had nothing to drop
                    let reason = if c.ledger.drops.is_empty() && c.ledger.markers.is_empty() {
                        Skip::NothingToDrop {
                            detail: format!(
                                "{} dropped nothing under these knobs, and its rewrite is no smaller ({tokens_in} → \
                                 {tokens_out} tokens)",
                                route.kind
                            ),
                        }
                    } else {
                        Skip::WouldGrow { tokens_in, tokens_out }
                    };
                    (text.to_string(), Decision::Skipped { reason }, Ledger::default(), c.notes, tokens_in)
                } else {
                    (c.output, Decision::Acted { strategy: c.strategy }, c.ledger, c.notes, tokens_out)
                }
            }
            Err(reason) => (text.to_string(), Decision::Skipped { reason }, Ledger::default(), Vec::new(), tokens_in),
        };
        let mut notes = notes;
        notes.extend(earlier_markers(text));
        let first_line = line_index.line_of(route.bytes.start);
        section_ledger.shift(route.bytes.start, first_line - 1);
        let drops_start = ledger.drops.len();
        ledger.append(section_ledger);
        let output_start = output.len();
        if output.is_empty() {
            output = out;
        } else {
            output.push_str(&out);
        }
        sections.push(SectionReport {
            output_bytes: output_start..output.len(),
            lines: Lines {
                first: first_line,
                last: if route.bytes.is_empty() { first_line } else { line_index.line_of(route.bytes.end - 1) },
            },
            bytes: route.bytes,
            kind: route.kind,
            detected: route.why,
            decision,
            notes,
            tokens_in,
            tokens_out,
            drops: drops_start..ledger.drops.len(),
            budget_hit,
        });
    }
    let (tokens_in, tokens_out) = if sections.len() == 1 {
        (sections[0].tokens_in, sections[0].tokens_out)
    } else {
        timed(&mut timing.count, || (tokens::count(input, ctx.tokenizer), tokens::count(&output, ctx.tokenizer)))
    };
    let engine = match sections.first() {
        Some(first) if sections.iter().all(|s| s.kind == first.kind) => Some(first.kind),
        None => choice_kind(choice),
        _ => None,
    };
    Outcome {
        engine,
        decision: overall_decision(&sections),
        output,
        ledger,
        sections,
        tokenizer: ctx.tokenizer,
        tokens_in,
        tokens_out,
        original: Arc::from(""),
        timing,
    }
}

/// A note on texts in the input written as ctxlens markers: kept as they are, they read like
/// cuts, but neither this ledger nor its store knows their keys.
fn earlier_markers(text: &str) -> Option<String> {
    if !crate::ledger::holds_marker(text) {
        return None;
    }
    let n = crate::ledger::MARKER_RE.find_iter(text).count();
    Some(format!(
        "the input holds {n} text(s) written as ctxlens markers (an earlier compression's, or made to look like one): \
         kept as input text; their keys are not this ledger's"
    ))
}

/// `f()`, its time added to `total`.
fn timed<T>(total: &mut Duration, f: impl FnOnce() -> T) -> T {
    let clock = Instant::now();
    let out = f();
    *total += clock.elapsed();
    out
}

fn choice_kind(choice: EngineChoice) -> Option<EngineKind> {
    match choice {
        EngineChoice::Auto => None,
        EngineChoice::Only(k) => Some(k),
    }
}

fn overall_decision(sections: &[SectionReport]) -> Decision {
    match sections {
        [] => Decision::Skipped { reason: Skip::Empty },
        [one] => one.decision.clone(),
        many => {
            let parts: Vec<String> = many
                .iter()
                .map(|s| match &s.decision {
                    Decision::Acted { .. } => format!("{} acted", s.kind),
                    Decision::Skipped { reason } => format!("{} {}", s.kind, reason.code()),
                })
                .collect();
            let summary = format!("{} sections: {}", many.len(), parts.join(", "));
            if many.iter().any(|s| s.decision.acted()) {
                Decision::Acted { strategy: summary }
            } else {
                Decision::Skipped { reason: Skip::NothingToDrop { detail: summary } }
            }
        }
    }
}

/// The line of an offset, for offsets that come in order (the sections'): counted on from the
/// last one, where an index of every line start took 8 bytes a line. Lines end as
/// [`crate::ledger::LineIndex`] ends them.
struct LineCounter<'t> {
    text: &'t [u8],
    line_end: u8,
    at: usize,
    ends: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        LineCounter { text: text.as_bytes(), line_end: crate::engine::text::line_end(text), at: 0, ends: 0 }
    }

    /// The 1-based line of `offset` (counted again from the start if it comes before the last).
    fn line_of(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.at {
            (self.at, self.ends) = (0, 0);
        }
        self.ends += memchr::memchr_iter(self.line_end, &self.text[self.at..offset]).count();
        self.at = offset;
        self.ends + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_in_the_input_are_noted_as_input_text() {
        let fake = "[ctxlens: 40 of 41 lines omitted; key=0123456789abcdef]";
        let input = format!("line one\n{fake}\nline three\n");
        for choice in [EngineChoice::Auto, EngineChoice::Only(EngineKind::Json)] {
            let outcome = compress(&input, choice, &Config::default(), &Context::default());
            let notes: Vec<&String> = outcome.sections.iter().flat_map(|s| &s.notes).collect();
            assert!(notes.iter().any(|n| n.contains("1 text(s) written as ctxlens markers")), "{notes:?}");
        }
        let plain = compress("no marker here\n", EngineChoice::Auto, &Config::default(), &Context::default());
        assert!(plain.sections.iter().all(|s| s.notes.iter().all(|n| !n.contains("ctxlens markers"))));
    }

    #[test]
    fn an_engine_that_dropped_nothing_had_nothing_to_drop() {
        // distinct one-item arrays: no planner drops any, and the text is already compact
        let distinct = format!("[{}]", (0..3000).map(|i| format!("[{i}]")).collect::<Vec<_>>().join(","));
        let o = compress(&distinct, EngineChoice::Only(EngineKind::Json), &Config::default(), &Context::default());
        assert!(matches!(&o.decision, Decision::Skipped { reason: Skip::NothingToDrop { .. } }), "{:?}", o.decision);
        assert_eq!(o.output, distinct);
    }
}
