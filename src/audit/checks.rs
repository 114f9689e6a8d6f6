//! The audit's built-in checks: each reads the subject's runs on the samples a claim picks and
//! returns a verdict with its evidence. Every figure is measured on the texts (and, for ctxlens,
//! its ledger), never taken from the compressor's own report.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Claim, Evidence, Run, Sample, Status, Subject, Verdict};
use crate::engine::{EngineKind, lang};

/// A check and its bounds, named by `check = "…"` in a claim.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The share of tokens saved lies in [min_saved, max_saved]: per content type, the median over
    /// the samples (or every sample, with `each = true`).
    TokenRatio {
        min_saved: f64,
        max_saved: f64,
        #[serde(default)]
        each: bool,
    },
    /// Every sample's retention score (see the README's "Retention") is at least `min`.
    Retention { min: f64 },
    /// Outputs are valid: JSON parses, code re-parses with no new syntax errors, a diff's hunks
    /// still apply.
    ValidOutput,
    /// No line is lost without a marker near it (audit mode's silent loss is zero).
    MarkerForEveryDrop,
    /// Every marker's key gives an original back (and ctxlens's outputs restore whole).
    RoundTrip,
    /// The counts markers state ("152 lines omitted") are the counts dropped.
    OmittedCounts,
    /// With its model missing, the prose path passes the text through and says why.
    NoSilentFallback,
    /// Any retention time a marker states is the one its store keeps.
    MarkerRetention,
    /// The median warm compression time is at most `max_ms` per MB.
    SpeedPerMb { max_ms: f64 },
    /// Every input line matching `pattern` is in the output.
    KeepsLines { pattern: String },
    /// JSON arrays that are cut keep their first and last items.
    BoundaryItems,
}

impl Check {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Check::TokenRatio { min_saved, max_saved, .. }
                if !(0.0..=1.0).contains(min_saved) || !(0.0..=1.0).contains(max_saved) || min_saved > max_saved =>
            {
                Err("min_saved and max_saved must be shares (0 to 1), min_saved ≤ max_saved".into())
            }
            Check::Retention { min } if !(0.0..=1.0).contains(min) => Err("min must be a share (0 to 1)".into()),
            Check::SpeedPerMb { max_ms } if max_ms.is_nan() || *max_ms <= 0.0 => Err("max_ms must be above 0".into()),
            Check::KeepsLines { pattern } => Regex::new(pattern).map(|_| ()).map_err(|e| format!("pattern: {e}")),
            _ => Ok(()),
        }
    }

    /// Judges `claim` on the samples it picked, with the subject's runs on them.
    pub fn judge(&self, claim: &Claim, picked: &[(&Sample, &Run)], subject: &mut dyn Subject) -> Verdict {
        let mut v = Verdict {
            id: claim.id.clone(),
            claim: claim.claim.clone(),
            source: claim.source.clone(),
            method: String::new(),
            observed: String::new(),
            verdict: Status::NotTestable,
            evidence: Vec::new(),
        };
        let kinds = if claim.kinds.is_empty() {
            "samples".to_string()
        } else {
            let names: Vec<&str> = claim.kinds.iter().map(|k| k.name()).collect();
            format!("{} samples", names.join("/"))
        };
        let at_least =
            if claim.min_tokens > 0 { format!(" of ≥ {} tokens", claim.min_tokens) } else { String::new() };
        let on = format!("{} {kinds}{at_least}", picked.len());
        let engine = subject.engine();
        let ev = |s: &Sample, detail: String| Evidence {
            sample: s.name.clone(),
            detail,
            reproduce: reproduce(s, &engine, &claim.id),
        };
        v.method = format!("{}, on {on}", self.describe());
        if picked.is_empty() {
            v.observed = "no sample to test it on".into();
            return v;
        }
        match self {
            Check::TokenRatio { min_saved, max_saved, each } => {
                let saved = |s: &Sample, r: &Run| 1.0 - r.tokens_out as f64 / s.tokens.max(1) as f64;
                let inside = |x: f64| x >= *min_saved - 1e-9 && x <= *max_saved + 1e-9;
                let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
                for (s, r) in picked {
                    by_kind.entry(s.kind.name()).or_default().push(saved(s, r));
                }
                let parts: Vec<String> =
                    by_kind.iter().map(|(k, xs)| format!("{k} {} (n={})", pct(median(xs)), xs.len())).collect();
                let mut out: Vec<(&Sample, f64)> =
                    picked.iter().map(|(s, r)| (*s, saved(s, r))).filter(|(_, x)| !inside(*x)).collect();
                let ok = if *each { out.is_empty() } else { by_kind.values().all(|xs| inside(median(xs))) };
                v.observed =
                    format!("median saved: {}; {} of {} samples outside", parts.join(", "), out.len(), picked.len());
                out.sort_by(|a, b| a.1.total_cmp(&b.1));
                v.evidence = out.iter().take(5).map(|(s, x)| ev(s, format!("saved {}", pct(*x)))).collect();
                v.verdict = status(ok);
            }
            Check::Retention { min } => {
                let mut scored: Vec<(&Sample, f64, String)> = picked
                    .iter()
                    .map(|(s, r)| {
                        let m = crate::retention::measure(s.kind, &s.text, &r.output, None, s.path.as_deref());
                        (*s, m.score, m.summary())
                    })
                    .collect();
                scored.sort_by(|a, b| a.1.total_cmp(&b.1));
                let scores: Vec<f64> = scored.iter().map(|x| x.1).collect();
                let below: Vec<_> = scored.iter().filter(|x| x.1 < *min - 1e-9).collect();
                v.observed = format!(
                    "lowest {:.2}, median {:.2}; {} of {} below {min}",
                    scores[0],
                    median(&scores),
                    below.len(),
                    picked.len()
                );
                v.evidence = below.iter().take(5).map(|(s, x, m)| ev(s, format!("retention {x:.2}: {m}"))).collect();
                v.verdict = status(below.is_empty());
            }
            Check::ValidOutput => {
                let mut tested = 0;
                let mut bad = Vec::new();
                for (s, r) in picked {
                    let Some(valid) = valid(s, &r.output) else { continue };
                    tested += 1;
                    if let Err(why) = valid {
                        bad.push(ev(s, why));
                    }
                }
                if tested == 0 {
                    v.observed = "no JSON, code or diff sample".into();
                    return v;
                }
                v.observed = format!("{} of {tested} outputs valid", tested - bad.len());
                v.verdict = status(bad.is_empty());
                v.evidence = bad.into_iter().take(5).collect();
            }
            Check::MarkerForEveryDrop => {
                let mut lost: Vec<(&Sample, usize)> = picked
                    .iter()
                    .map(|(s, r)| {
                        let o = r.outcome.as_deref();
                        (*s, crate::tui::work::silent_loss(&s.text, &r.output, o))
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                lost.sort_by_key(|x| std::cmp::Reverse(x.1));
                let lines: usize = lost.iter().map(|x| x.1).sum();
                v.observed =
                    format!("{} of {} samples lost {lines} lines with no marker near them", lost.len(), picked.len());
                v.verdict = status(lost.is_empty());
                v.evidence = lost.iter().take(5).map(|(s, n)| ev(s, format!("{n} lines lost silently"))).collect();
            }
            Check::RoundTrip => {
                let (mut keys, mut got, mut changed, mut whole, mut keyless) = (0, 0, 0, 0, 0);
                let mut bad = Vec::new();
                for (s, r) in picked.iter().filter(|(s, r)| *s.text != *r.output) {
                    changed += 1;
                    let found = subject.marker_keys(&r.output);
                    // a text that only changed its layout (or grew) dropped nothing to get back
                    if found.is_empty() && r.tokens_out < s.tokens {
                        keyless += 1;
                        let saved = s.tokens - r.tokens_out;
                        bad.push(ev(s, format!("{saved} tokens dropped, with no marker key to get them back")));
                    }
                    for k in found {
                        keys += 1;
                        match subject.retrieve(&k) {
                            Ok(Some(_)) => got += 1,
                            Ok(None) => bad.push(ev(s, format!("{k}: nothing comes back"))),
                            Err(e) => bad.push(ev(s, format!("{k}: {e}"))),
                        }
                    }
                    match subject.restore(&r.output) {
                        Some(Ok(t)) if *t == *s.text => whole += 1,
                        Some(Ok(_)) => bad.push(ev(s, "the restored original differs".into())),
                        Some(Err(e)) => bad.push(ev(s, format!("no restore: {e}"))),
                        None => {}
                    }
                }
                if changed == 0 {
                    v.observed = "no sample was changed".into();
                    return v;
                }
                let restore =
                    if whole > 0 { format!("; {whole} of {changed} outputs restore whole") } else { String::new() };
                let keyless = if keyless > 0 {
                    format!("; {keyless} of {changed} changed outputs cut tokens with no marker key at all")
                } else {
                    String::new()
                };
                v.observed = format!("{got} of {keys} marker keys give an original back{keyless}{restore}");
                v.verdict = status(bad.is_empty());
                v.evidence = bad.into_iter().take(5).collect();
            }
            Check::OmittedCounts => {
                let (tested, bad) = omitted_counts(picked);
                if tested == 0 {
                    v.observed = "no marker states a count this check can tie to what was dropped".into();
                    return v;
                }
                v.observed = format!("{} of {tested} stated counts match", tested - bad.len());
                v.verdict = status(bad.is_empty());
                v.evidence = bad.into_iter().take(5).map(|(s, d)| ev(s, d)).collect();
            }
            Check::NoSilentFallback => {
                let (mut said, mut silent, mut acted, mut tested) = (0, 0, 0, 0);
                let mut evidence = Vec::new();
                // text the router splits (prose around code) would show other compressors at work
                for (s, _) in picked.iter().filter(|(s, _)| s.pure) {
                    match subject.without_model(s) {
                        Ok(None) => {}
                        Ok(Some(r)) => {
                            tested += 1;
                            // only a cut counts as acting: a layout change (blank lines) drops nothing
                            if r.tokens_out < s.tokens {
                                acted += 1;
                                let saved = s.tokens - r.tokens_out;
                                evidence.push(ev(s, format!("cut {saved} tokens with no model (a substitute method)")));
                            } else if r.notices.is_empty() {
                                silent += 1;
                                evidence.push(ev(s, "passed through unchanged, with no word of why".into()));
                            } else {
                                said += 1;
                                if evidence.len() < 2 && said == 1 {
                                    v.evidence.push(ev(s, format!("said: {}", r.notices[0])));
                                }
                            }
                        }
                        Err(e) => evidence.push(ev(s, e)),
                    }
                }
                if tested == 0 {
                    v.observed = if picked.iter().any(|(s, _)| s.pure) {
                        "not shown here: the model is installed, or the text went to other compressors".into()
                    } else {
                        "no sample is prose alone".into()
                    };
                    return v;
                }
                v.observed = format!(
                    "with no model: {said} of {tested} passed through and said why, {silent} silently, {acted} cut anyway"
                );
                v.verdict = status(silent == 0 && acted == 0);
                if v.verdict == Status::Fails {
                    v.evidence = evidence.into_iter().take(5).collect();
                }
            }
            Check::MarkerRetention => {
                let keeps = subject.retention_secs();
                let mut stated = Vec::new();
                for (s, r) in picked {
                    for c in STATED_TIME.captures_iter(&r.output) {
                        stated.push((*s, c[0].to_string(), seconds(&c[1], &c[2])));
                    }
                }
                let kept = keeps.map_or("until removed".to_string(), |t| format!("{t} s"));
                if stated.is_empty() {
                    v.observed = format!("no marker states a time; the store keeps originals {kept}");
                    v.verdict = if keeps.is_none() { Status::Holds } else { Status::NotTestable };
                    return v;
                }
                let wrong: Vec<_> = stated.iter().filter(|(_, _, t)| keeps != Some(*t)).collect();
                v.observed = format!(
                    "{} markers state a time, {} of them not the {kept} the store keeps",
                    stated.len(),
                    wrong.len()
                );
                v.verdict = status(wrong.is_empty());
                v.evidence = wrong
                    .iter()
                    .take(5)
                    .map(|(s, text, t)| ev(s, format!("\"{text}\" ({t} s), kept {kept}")))
                    .collect();
            }
            Check::SpeedPerMb { max_ms } => {
                let mut rates: Vec<(&Sample, f64)> =
                    picked.iter().map(|(s, r)| (*s, r.ms / (s.text.len().max(1) as f64 / 1e6))).collect();
                rates.sort_by(|a, b| b.1.total_cmp(&a.1));
                let xs: Vec<f64> = rates.iter().map(|x| x.1).collect();
                let m = median(&xs);
                v.observed = format!("median {m:.0} ms/MB (slowest {:.0})", xs[0]);
                v.verdict = status(m <= *max_ms);
                if v.verdict == Status::Fails {
                    v.evidence = rates.iter().take(3).map(|(s, x)| ev(s, format!("{x:.0} ms/MB"))).collect();
                }
            }
            Check::KeepsLines { pattern } => {
                let re = Regex::new(pattern).expect("validated when the claims were read");
                let (mut total, mut kept) = (0, 0);
                let mut bad = Vec::new();
                for (s, r) in picked {
                    for line in s.text.lines().filter(|l| re.is_match(l)) {
                        total += 1;
                        if r.output.contains(line.trim()) {
                            kept += 1;
                        } else {
                            bad.push(ev(
                                s,
                                format!(
                                    "lost: {}",
                                    crate::output::printable(&line.trim().chars().take(120).collect::<String>())
                                ),
                            ));
                        }
                    }
                }
                if total == 0 {
                    v.observed = format!("no input line matches /{pattern}/");
                    return v;
                }
                v.observed = format!("{kept} of {total} lines matching /{pattern}/ kept");
                v.verdict = status(kept == total);
                v.evidence = bad.into_iter().take(5).collect();
            }
            Check::BoundaryItems => {
                let (mut cut, mut ok) = (0, 0);
                let mut bad = Vec::new();
                for (s, r) in picked {
                    let (Ok(a), Ok(b)) =
                        (serde_json::from_str::<Value>(&s.text), serde_json::from_str::<Value>(&r.output))
                    else {
                        continue;
                    };
                    boundary(&a, &b, "", &mut |ptr, good| {
                        cut += 1;
                        if good {
                            ok += 1;
                        } else {
                            bad.push(ev(s, format!("array {ptr}: first or last item not kept")));
                        }
                    });
                }
                if cut == 0 {
                    v.observed = "no JSON array was cut".into();
                    return v;
                }
                v.observed = format!("{ok} of {cut} cut arrays keep their first and last items");
                v.verdict = status(ok == cut);
                v.evidence = bad.into_iter().take(5).collect();
            }
        }
        v
    }

    fn describe(&self) -> String {
        match self {
            Check::TokenRatio { min_saved, max_saved, each } => format!(
                "tokens saved (o200k) {} in {}–{}",
                if *each { "of every sample" } else { "median per type" },
                pct(*min_saved),
                pct(*max_saved)
            ),
            Check::Retention { min } => format!("retention score ≥ {min} on every sample"),
            Check::ValidOutput => "JSON parses, code re-parses with no new errors, diff hunks apply".into(),
            Check::MarkerForEveryDrop => "lines lost with no marker near them (audit mode's silent loss)".into(),
            Check::RoundTrip => "every marker's key retrieved from the compressor's store".into(),
            Check::OmittedCounts => "counts in markers against what was dropped".into(),
            Check::NoSilentFallback => "the prose path run with its model missing".into(),
            Check::MarkerRetention => "retention times stated in markers against the store's".into(),
            Check::SpeedPerMb { max_ms } => format!("median warm compression time ≤ {max_ms} ms per MB"),
            Check::KeepsLines { pattern } => format!("input lines matching /{pattern}/ present in the output"),
            Check::BoundaryItems => "first and last items of every cut JSON array".into(),
        }
    }
}

/// A command that shows the sample's compression again.
fn reproduce(s: &Sample, engine: &str, id: &str) -> String {
    match (&s.file, engine) {
        (Some(f), "ctxlens") => format!("ctxlens compress --stats json '{}'", f.display()),
        _ => {
            let source = s.name.split(':').next().unwrap_or(&s.name);
            format!("ctxlens audit --engine {engine} --only {id} '{source}'")
        }
    }
}

fn status(ok: bool) -> Status {
    if ok { Status::Holds } else { Status::Fails }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `None` when there is nothing to check for this type; else whether the output is valid.
fn valid(s: &Sample, output: &str) -> Option<Result<(), String>> {
    validity(s.kind, &s.text, output, s.path.as_deref())
}

/// Whether a compressed `output` is still what its `original` was, as the type goes: JSON parses
/// (when the original did), code re-parses with no more syntax errors than the original, every
/// hunk of a diff still applies. `None` when there is nothing to check for this type (or the
/// original itself is not of it).
pub fn validity(kind: EngineKind, original: &str, output: &str, path: Option<&str>) -> Option<Result<(), String>> {
    match kind {
        EngineKind::Json => {
            // a document, or JSON Lines (at least one line: an empty output is no JSON)
            let parses = |t: &str| {
                let mut lines = t.lines().filter(|l| !l.trim().is_empty()).peekable();
                serde_json::from_str::<Value>(t).is_ok()
                    || lines.peek().is_some() && lines.all(|l| serde_json::from_str::<Value>(l).is_ok())
            };
            parses(original).then(|| if parses(output) { Ok(()) } else { Err("the output is not JSON".into()) })
        }
        EngineKind::Code => {
            // a numbered listing is checked as the code it lists (its output is one too)
            let bodies = crate::engine::text::listing_of(original).zip(crate::engine::text::listing_of(output));
            let (original, output) = match &bodies {
                Some((a, b)) => (a.body.as_str(), b.body.as_str()),
                None => (original, output),
            };
            let (l, _) = lang::detect(original, path)?;
            let before = lang::error_count(lang::parse(l, original)?.root_node());
            let after = lang::error_count(lang::parse(l, output)?.root_node());
            Some(if after <= before {
                Ok(())
            } else {
                Err(format!("{} parse errors in the output, {before} in the input", after))
            })
        }
        EngineKind::Diff => {
            let r = crate::retention::measure(EngineKind::Diff, original, output, None, None);
            let hunks = r.metrics.iter().find(|m| m.name == "hunks_apply")?;
            Some(if hunks.kept == hunks.total {
                Ok(())
            } else {
                Err(format!("{} of {} hunks no longer apply", hunks.total - hunks.kept, hunks.total))
            })
        }
        _ => None,
    }
}

static STATED_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:expires?|expiring|kept|available|retrievable)\s+(?:in|for)\s+(\d+)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h)\b")
        .expect("stated time regex")
});

fn seconds(n: &str, unit: &str) -> u64 {
    let n: u64 = n.parse().unwrap_or(0);
    match unit.to_lowercase().chars().next() {
        Some('m') => n.saturating_mul(60),
        Some('h') => n.saturating_mul(3600),
        _ => n,
    }
}

static COUNTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(\d[\d,]*) (?:of \d[\d,]* )?(context lines|lines|rows|items|keys|hunks|matches|files|words|characters)",
    )
    .expect("counted regex")
});

static COMPRESSED_TO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(\d+) lines compressed to (\d+)").expect("compressed-to regex"));

/// Stated counts tied to what was dropped: ctxlens's markers against the drops they cover (by
/// unit); Headroom's "[N lines compressed to M" against the input's and output's line counts.
/// Returns how many counts were tested and the ones that do not match.
fn omitted_counts<'a>(picked: &[(&'a Sample, &Run)]) -> (usize, Vec<(&'a Sample, String)>) {
    let mut tested = 0;
    let mut bad = Vec::new();
    for (s, r) in picked {
        if let Some(o) = &r.outcome {
            for m in &o.ledger.markers {
                let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
                for &i in &m.covers {
                    let d = &o.ledger.drops[i];
                    let unit = d.unit.count(2);
                    let plural = unit.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ').to_string();
                    *dropped.entry(plural).or_default() += d.count;
                }
                for c in COUNTED.captures_iter(&m.phrase) {
                    let Some(&n) = dropped.get(&c[2]) else { continue };
                    tested += 1;
                    let stated: usize = c[1].replace(',', "").parse().unwrap_or(usize::MAX);
                    if stated != n {
                        bad.push((*s, format!("marker says {} {}, the ledger dropped {n}", &c[1], &c[2])));
                    }
                }
            }
        } else {
            for c in COMPRESSED_TO.captures_iter(&r.output) {
                tested += 1;
                let stated: usize = c[1].parse().unwrap_or(usize::MAX);
                let lines = s.text.lines().count();
                if stated != lines {
                    let why = if stated == lines + 1 && s.text.ends_with('\n') {
                        " (the empty piece after the final newline counted as a line)"
                    } else {
                        ""
                    };
                    bad.push((*s, format!("says {stated} lines were compressed; the input has {lines}{why}")));
                }
            }
        }
    }
    (tested, bad)
}

fn is_marker_item(v: &Value) -> bool {
    let text = match v {
        Value::String(s) => s.as_str(),
        Value::Object(m) if m.len() == 1 => m.values().next().and_then(Value::as_str).unwrap_or_default(),
        _ => return false,
    };
    text.contains("[ctxlens: ") || text.contains("<<ccr:") || text.contains("more items")
}

/// Calls `found(pointer, kept_ends)` for every array of `a` that `b` holds, shorter, at the same
/// place.
fn boundary(a: &Value, b: &Value, ptr: &str, found: &mut dyn FnMut(&str, bool)) {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            let kept: Vec<&Value> = y.iter().filter(|v| !is_marker_item(v)).collect();
            if kept.len() < x.len() && !x.is_empty() {
                let first = kept.first().is_some_and(|v| **v == x[0]);
                let last = kept.last().is_some_and(|v| Some(*v) == x.last());
                found(ptr, first && last);
            }
            if kept.len() == x.len() {
                for (i, (p, q)) in x.iter().zip(kept).enumerate() {
                    boundary(p, q, &format!("{ptr}/{i}"), found);
                }
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            for (k, p) in x {
                if let Some(q) = y.get(k) {
                    boundary(p, q, &format!("{ptr}/{}", crate::ledger::escape_pointer(k)), found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_times_and_cut_arrays() {
        let c = STATED_TIME.captures("…Retrieve more: hash=ab. Expires in 5m.]").unwrap();
        assert_eq!(seconds(&c[1], &c[2]), 300);
        let c = STATED_TIME.captures("kept for 2 hours").unwrap();
        assert_eq!(seconds(&c[1], &c[2]), 7200);
        assert!(STATED_TIME.captures("[ctxlens: 5 lines omitted; key=0123456789abcdef]").is_none());
        let a: Value = serde_json::json!({"xs": [1, 2, 3, 4, 5], "ys": [1, 2, 3]});
        let mut seen = Vec::new();
        let b = serde_json::json!({"xs": [1, 2, "[ctxlens: 2 of 5 items omitted; key=0123456789abcdef]", 5], "ys": [1, 2, 3]});
        boundary(&a, &b, "", &mut |p, ok| seen.push((p.to_string(), ok)));
        assert_eq!(seen, [("/xs".to_string(), true)]);
        seen.clear();
        let b = serde_json::json!({"xs": [2, 3, "<<ccr:abc 2_items_offloaded>>"], "ys": [1, 2, 3]});
        boundary(&a, &b, "", &mut |p, ok| seen.push((p.to_string(), ok)));
        assert_eq!(seen, [("/xs".to_string(), false)], "the first and last items went");
    }

    #[test]
    fn claims_are_checked_when_read() {
        let ok = "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"retention\"\nmin = 0.9\nkinds = [\"json\"]\n";
        let f = super::super::ClaimsFile::parse(ok).unwrap();
        assert!(matches!(f.claim[0].check, Check::Retention { min } if min == 0.9));
        for bad in [
            "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"retention\"\nmin = 1.5\n",
            "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"speed_per_mb\"\nmax_ms = 0.0\n",
            "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"token_ratio\"\nmin_saved = 0.9\nmax_saved = 0.5\n",
            "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"retention\"\nmin = 0.9\nkinds = [\"yaml\"]\n",
        ] {
            assert!(super::super::ClaimsFile::parse(bad).is_err(), "{bad}");
        }
        // a stray or misspelt bound is refused, naming what the check takes (serde sees those of a
        // check with bounds; a check without bounds needs the claims file's own look)
        let e = super::super::ClaimsFile::parse(
            "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"token_ratio\"\nmin_save = 0.5\nmin_saved = 0.5\nmax_saved = 1.0\n",
        )
        .unwrap_err();
        assert!(e.contains("unknown field `min_save`") && e.contains("min_saved"), "{e}");
        let e = super::super::ClaimsFile::parse(
            "[[claim]]\nid = \"a\"\nclaim = \"x\"\ncheck = \"valid_output\"\nmin = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("unknown field `min`") && e.contains("takes no bounds"), "{e}");
    }
}
