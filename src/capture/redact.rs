//! Secret redaction: header values and key-shaped strings are replaced as captures load, so no
//! view, export or ledger ever shows them.

use std::sync::LazyLock;

use regex::Regex;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

const SECRET_HEADERS: [&str; 10] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    "x-goog-api-key",
    "anthropic-api-key",
    "openai-api-key",
    "x-headroom-api-key",
];

/// Whether a header's value must not be shown.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&n.as_str()) || n.ends_with("-token") || n.ends_with("-secret")
}

static KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \bsk-ant-[A-Za-z0-9_\-]{20,}
      | \bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}
      | \bAKIA[0-9A-Z]{16}\b
      | \bgh[pousr]_[A-Za-z0-9]{36,}
      | \bgithub_pat_[A-Za-z0-9_]{30,}
      | \bxox[baprs]-[A-Za-z0-9\-]{10,}
      | \bAIza[0-9A-Za-z_\-]{35}
      | \bhf_[A-Za-z0-9]{30,}
      | (?i:\bbearer\s+)[A-Za-z0-9._~+/=\-]{16,}",
    )
    .expect("secret regex")
});

/// Replaces key-shaped strings in `text`; returns how many were replaced.
pub fn redact(text: &mut String) -> usize {
    let n = KEY.find_iter(text).count();
    if n > 0 {
        *text = KEY
            .replace_all(text, |c: &regex::Captures| {
                let m = &c[0];
                if m.len() > 7 && m[..7].eq_ignore_ascii_case("bearer ") {
                    format!("Bearer {REDACTED}")
                } else {
                    REDACTED.to_string()
                }
            })
            .into_owned();
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keys_and_headers() {
        let mut s =
            "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 and Authorization: Bearer abcdefghijklmnopqrstu ok"
                .to_string();
        assert_eq!(redact(&mut s), 2);
        assert_eq!(s, "key [REDACTED] and Authorization: Bearer [REDACTED] ok");
        let mut clean = "sk-short is fine".to_string();
        assert_eq!(redact(&mut clean), 0);
        assert!(is_secret_header("X-Api-Key") && is_secret_header("cookie") && !is_secret_header("content-type"));
    }
}
