//! Secret redaction: the one pass every capture goes through as it loads (see
//! [`super::load_bytes`]), so no loader can forget it and no view, export or ledger ever shows a
//! secret. It rewrites every string a [`Flow`] holds: block texts (request, recorded and response),
//! tool names and ids, headers, the URL, the model name and problem reasons.
//!
//! The rules follow the shapes a maintained secret scanner looks for (gitleaks' rule set was the
//! reference for which providers and forms matter): provider key prefixes, credentials in header
//! lines, `Authorization` of every scheme, passwords in URLs, secret-named query parameters and
//! assignments, JWTs, PEM private-key blocks, AWS secret access keys. A replacement keeps what
//! says what the secret was (the header name, the scheme, the URL's user) and replaces only the
//! secret with [`REDACTED`].

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{Flow, Message, Problem};

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// Header-name parts that make a header's value a secret: `X-Custom-Auth`, `apikey`,
/// `Ocp-Apim-Subscription-Key`, `X-Session-Token`… (`:authority` and `Keep-Alive` are not).
const SECRET_NAME_PARTS: [&str; 15] = [
    "auth",
    "authorization",
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "cookie",
    "session",
    "signature",
    "credential",
    "credentials",
    "jwt",
    "sid",
];

/// Whether a header's (or a query parameter's) value must not be shown, judged by its name.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()).any(|part| {
        SECRET_NAME_PARTS.contains(&part)
            || ["apikey", "token", "secret", "password", "cookie"].iter().any(|s| part.ends_with(s))
            || part.starts_with("auth") && part != "authority" && part != "author"
    })
}

/// Provider keys recognisable by their own shape, anywhere in text.
static KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \bsk-ant-[A-Za-z0-9_\-]{20,}
      | \bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}
      | \b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b
      | \bgh[pousr]_[A-Za-z0-9]{30,}
      | \bgithub_pat_[A-Za-z0-9_]{30,}
      | \bglpat-[A-Za-z0-9_\-]{20,}
      | \bxox[baprse]-[A-Za-z0-9\-]{10,}
      | \bAIza[0-9A-Za-z_\-]{35}
      | \bya29\.[0-9A-Za-z_\-]{20,}
      | \bhf_[A-Za-z0-9]{30,}
      | \b[rsp]k_(?:live|test)_[0-9A-Za-z]{10,}
      | \bwhsec_[0-9A-Za-z]{20,}
      | \bnpm_[A-Za-z0-9]{36}\b
      | \bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{30,}
      | \bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}
      | \bdop_v1_[a-f0-9]{64}\b
      | \bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b
      | \bgsk_[A-Za-z0-9]{40,}
      | \bxai-[A-Za-z0-9]{40,}
      | \beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    )
    .expect("key regex")
});

/// A PEM private key, whole (to its END line, or to the end of the text when it was cut).
static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN ([ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?)-----(?s:.*?)(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|\z)")
        .expect("pem regex")
});

/// Secret-named command-line flags: `--password X`, `--token=Y`; and MySQL's `-pPASSWORD`.
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(--(?:password|passwd|token|api[-_]?key|secret|auth[-_]?token|access[-_]?token|client[-_]?secret)[= ]+|\bmysql(?:dump|admin)?\b[^\n]*?\s-p)([^\s'\x22]+)",
    )
    .expect("flag regex")
});

/// `my password is …`, `passphrase: …` in prose.
static SAID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(password|passphrase|passwd)(\s+(?:is|was)\s+)(\S*[^\s.,;:?])").expect("said regex")
});

/// `token = …`, `"auth": "…"`: names too common to trust alone; only a value that looks generated
/// (letters and digits, 8 or more) is replaced.
static WEAK_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b([A-Za-z0-9_.\-]{0,40}(?:token|auth|credentials?|passphrase|session[_-]?id)[A-Za-z0-9_.\-]{0,20})(["']?[ \t]*[:=][ \t]*["']?)([^\s"'`,;&)}\]]{8,})"#,
    )
    .expect("weak assignment regex")
});

/// `Name: value` header lines (curl -H, raw HTTP, logs) whose name says secret; the value runs to
/// the end of the line or a closing quote.
static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?im)(^|[\s"'{,\[(])([A-Za-z][A-Za-z0-9_\-]{1,60})([ \t]*:[ \t]*)([^\r\n"']+)"#)
        .expect("header regex")
});

/// `Bearer TOKEN` (any length with a digit, or 16+ characters), wherever it appears.
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer)(\s+)([A-Za-z0-9._~+/=\-]{6,})").expect("bearer regex"));

/// `scheme://user:password@host`.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s/:@]{0,200}):([^\s/@]{1,200})@").expect("url regex")
});

/// `?token=…`, `&api_key=…` in URLs and form bodies.
static QUERY_PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([?&])([A-Za-z0-9_.\-\[\]]{1,60})=([^&#\s\x22'<>]+)").expect("query regex"));

/// `password = "…"`, `AWS_SECRET_ACCESS_KEY=…`, `"api_key": "…"`: secret-named assignments.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b([A-Za-z0-9_.\-]{0,40}(?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?key|access_?token|auth_?token|private_?key|client_?secret)[A-Za-z0-9_.\-]{0,20})(["']?[ \t]*[:=][ \t]*["']?)([^\s"'`,;&)}\]]{6,})"#,
    )
    .expect("assignment regex")
});

/// An AWS secret access key: 40 base64 characters near the words that name it.
static AWS_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(aws[\w\- ]{0,30}(?:secret|key)[^\n]{0,20}?)\b([A-Za-z0-9/+]{40})(?:\b|$)").expect("aws regex")
});

/// Replaces every secret in `text`; returns how many were replaced.
pub fn redact(text: &mut String) -> usize {
    if text.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut apply = |text: &mut String, re: &Regex, f: &dyn Fn(&Captures) -> Option<String>| {
        let mut count = 0;
        let out = re.replace_all(text, |c: &Captures| match f(c) {
            Some(s) => {
                count += 1;
                s
            }
            None => c[0].to_string(),
        });
        if count > 0 {
            *text = out.into_owned();
            n += count;
        }
    };
    // the key's lines stay lines (a key inside a diff keeps the diff's shape); their base64 goes
    apply(text, &PRIVATE_KEY, &|c| {
        let lines = c[0].split_inclusive('\n').map(|line| {
            let body = line.strip_prefix(['+', '-', ' ', '>']).unwrap_or(line);
            let key = body.trim_end();
            if key.len() >= 8 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
                format!("{}{REDACTED}{}", &line[..line.len() - body.len()], &body[key.len()..])
            } else {
                line.to_string()
            }
        });
        let out: String = lines.collect();
        if out != c[0] {
            return Some(out);
        }
        // a key on one line (`\n` escapes in JSON text): everything between the labels goes
        let whole = &c[0];
        let open = whole.find("-----").and_then(|i| whole[i + 5..].find("-----").map(|j| i + 5 + j + 5))?;
        let close = whole[open..].find("-----END").map_or(whole.len(), |j| open + j);
        Some(format!("{}{REDACTED}{}", &whole[..open], &whole[close..]))
    });
    apply(text, &KEY, &|c| (&c[0] != REDACTED).then(|| REDACTED.to_string()));
    apply(text, &URL_PASSWORD, &|c| secret(&c[2]).then(|| format!("{}:{REDACTED}@", &c[1])));
    apply(text, &HEADER_LINE, &|c| {
        // `pkg-auth-plugin:amd64` (dpkg) is no header: a header line has a space after its colon,
        // unless the name is a standard one
        let spaced = c[3].ends_with([' ', '\t']);
        if !header_like(&c[2]) || c[4].trim().is_empty() || !(spaced || standard_header(&c[2])) {
            return None;
        }
        let value = &c[4];
        let name = c[2].to_ascii_lowercase();
        // a cookie header's value is the rest of the line; an Authorization scheme word stays
        // (`Basic [REDACTED]`); any other value is its first word
        let (keep, secret_len) = if name.contains("cookie") {
            (0, value.trim_end().len())
        } else {
            let word = |s: &str| s.find(char::is_whitespace).unwrap_or(s.len());
            let first = word(value);
            let rest = &value[first..];
            let after = rest.len() - rest.trim_start().len();
            let scheme = &value[..first];
            let is_scheme = first <= 12 && scheme.chars().all(|ch| ch.is_ascii_alphabetic()) && !rest.trim().is_empty();
            if is_scheme { (first + after, word(&value[first + after..])) } else { (0, first) }
        };
        let (head, tail) = (&value[..keep], &value[keep + secret_len..]);
        secret(&value[keep..keep + secret_len]).then(|| format!("{}{}{}{head}{REDACTED}{tail}", &c[1], &c[2], &c[3]))
    });
    apply(text, &BEARER, &|c| {
        let token = &c[3];
        let looks = token.len() >= 16 || token.chars().any(|ch| ch.is_ascii_digit());
        (looks && secret(token)).then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    apply(text, &QUERY_PARAM, &|c| {
        (is_secret_header(&c[2]) && secret(&c[3])).then(|| format!("{}{}={REDACTED}", &c[1], &c[2]))
    });
    apply(text, &AWS_SECRET, &|c| secret(&c[2]).then(|| format!("{}{REDACTED}", &c[1])));
    apply(text, &ASSIGNMENT, &|c| {
        let value = &c[3];
        (!code_like(value) && secret(value)).then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    apply(text, &WEAK_ASSIGNMENT, &|c| {
        let value = &c[3];
        (!code_like(value) && generated(value) && secret(value)).then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    apply(text, &FLAG, &|c| secret(&c[2]).then(|| format!("{}{REDACTED}", &c[1])));
    apply(text, &SAID, &|c| {
        {
            let value = &c[3];
            (generated(value) || value.chars().any(|ch| !ch.is_alphanumeric())) && secret(value)
        }
        .then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    n
}

/// A secret header's name as it appears in a header line: hyphenated (`X-Api-Key`) or one of the
/// standard one-word names. (`Key: the main idea` in prose is not a header.)
fn header_like(name: &str) -> bool {
    is_secret_header(name)
        && (name.contains('-')
            || ["authorization", "cookie", "apikey", "api_key"].contains(&name.to_ascii_lowercase().as_str()))
}

/// A value that calls or names something (`get_password()`, `self.secret`) is code, not a secret.
fn code_like(value: &str) -> bool {
    value.contains('(') || value.starts_with("self.") || value.starts_with("os.") || value.starts_with("this.")
}

/// A value that looks generated rather than written: 8 or more characters with letters and digits.
fn generated(value: &str) -> bool {
    value.len() >= 8 && value.chars().any(|c| c.is_ascii_digit()) && value.chars().any(|c| c.is_ascii_alphabetic())
}

/// Header names that are secrets wherever they appear.
fn standard_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"]
        .contains(&name.to_ascii_lowercase().as_str())
}

/// Whether a matched value is worth replacing: not already redacted, not a placeholder.
fn secret(value: &str) -> bool {
    let v = value.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
    !v.is_empty()
        && !v.contains("REDACTED")
        && !matches!(v.to_ascii_lowercase().as_str(), "null" | "none" | "true" | "false" | "undefined" | "***" | "xxx")
        && !v.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '.' || c == '<' || c == '>')
        && !(v.starts_with('$') || v.starts_with("{{") || v.starts_with("${") || v.starts_with('<'))
}

/// Redacts every string of a flow; returns how many secrets were replaced.
pub fn flow(f: &mut Flow) -> usize {
    let mut n = 0;
    let mut messages = |msgs: &mut Vec<Message>| {
        for m in msgs {
            for b in &mut m.blocks {
                n += redact(&mut b.text);
                for s in [&mut b.tool_name, &mut b.tool_id].into_iter().flatten() {
                    n += redact(s);
                }
            }
        }
    };
    messages(&mut f.messages);
    if let Some(r) = &mut f.recorded {
        messages(r);
    }
    messages(&mut f.response);
    for (name, value) in &mut f.headers {
        if is_secret_header(name) && value.as_str() != REDACTED && !value.is_empty() {
            *value = REDACTED.to_string();
            n += 1;
        } else {
            n += redact(value);
        }
    }
    for s in [&mut f.url, &mut f.model].into_iter().flatten() {
        n += redact(s);
    }
    for t in &mut f.transforms {
        n += redact(t);
    }
    n
}

/// Redacts a problem's reason (a reason may quote the input).
pub fn problem(p: &mut Problem) -> usize {
    redact(&mut p.reason) + redact(&mut p.location.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> (String, usize) {
        let mut t = s.to_string();
        let n = redact(&mut t);
        (t, n)
    }

    #[test]
    fn redacts_keys_and_headers() {
        let (s, n) =
            r("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 and Authorization: Bearer abcdefghijklmnopqrstu ok");
        assert_eq!(n, 2, "{s}");
        assert_eq!(s, "key [REDACTED] and Authorization: Bearer [REDACTED] ok");
        assert_eq!(r("sk-short is fine").1, 0);
        assert!(is_secret_header("X-Api-Key") && is_secret_header("cookie") && !is_secret_header("content-type"));
    }

    #[test]
    fn header_names_that_are_secrets_and_those_that_are_not() {
        for name in ["X-Custom-Auth", "apikey", "Ocp-Apim-Subscription-Key", "x-session-token", "Proxy-Authorization"] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [":authority", "Keep-Alive", "content-length", "user-agent", "accept", "author"] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    #[test]
    fn every_form_that_leaked_is_redacted() {
        let cases = [
            ("x-api-key: abc123def456", "x-api-key: [REDACTED]"),
            ("curl -H \"Cookie: session=abcdef0123\" url", "curl -H \"Cookie: [REDACTED]\" url"),
            ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED]"),
            ("Authorization: Bearer abc123", "Authorization: Bearer [REDACTED]"),
            ("use bearer tok3n99 now", "use bearer [REDACTED] now"),
            ("postgres://admin:hunter2@db:5432/x", "postgres://admin:[REDACTED]@db:5432/x"),
            ("https://api.x.io/v1?q=1&api_key=zz9912ab&x=2", "https://api.x.io/v1?q=1&api_key=[REDACTED]&x=2"),
            ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe [REDACTED]"),
            ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=[REDACTED]"),
            ("password = \"correct-horse-9\"", "password = \"[REDACTED]\""),
            ("API_TOKEN=toku8W5CN0U5GB16JC5kV3ECqWp1OrXXHFOprCeT", "API_TOKEN=[REDACTED]"),
            ("{\"token\": \"plainTokenValue1234567890abcd\"}", "{\"token\": \"[REDACTED]\"}"),
            (
                "login --password cliPassFlag88 --token cliTokenFlagValue1234567890",
                "login --password [REDACTED] --token [REDACTED]",
            ),
            ("mysql -u root -pMysqlInlinePw77 orders", "mysql -u root -p[REDACTED] orders"),
            ("my password is envPassw0rd!42.", "my password is [REDACTED]."),
        ];
        for (input, want) in cases {
            let (got, n) = r(input);
            assert_eq!(got, want, "{input}");
            assert!(n >= 1, "{input}");
        }
        let (pem, _) = r("a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nb");
        assert!(!pem.contains("MIIE") && pem.starts_with("a\n") && pem.ends_with("\nb"), "{pem}");
        assert_eq!(pem, "a\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\nabc\n-----END RSA PRIVATE KEY-----\nb");
        // in a diff, the key keeps its lines and their `+`
        let (diff, _) =
            r("+-----BEGIN PRIVATE KEY-----\n+MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n+-----END PRIVATE KEY-----\n");
        assert_eq!(diff, "+-----BEGIN PRIVATE KEY-----\n+[REDACTED]\n+-----END PRIVATE KEY-----\n");
        let (escaped, _) =
            r(r#"{"key": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n"}"#);
        assert!(
            !escaped.contains("MHcC") && escaped.contains("-----BEGIN EC PRIVATE KEY-----[REDACTED]-----END"),
            "{escaped}"
        );
        let (cut, _) = r("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA");
        assert!(!cut.contains("b3Bl"), "{cut}");
    }

    #[test]
    fn ordinary_text_and_code_stay() {
        for s in [
            "the bearer of bad news",
            "password = get_password()",
            "Content-Type: application/json",
            "author: Kenneth Reitz",
            "token = self.token",
            "api_key = None",
            "see https://example.com/?page=2&sort=asc",
            "secret = os.environ['SECRET']",
            "max_tokens = 1024",
            "tokenizer = \"o200k\"",
            "\"token_type\": \"bearer\"",
            "the password is required",
            "auth: oauth2",
            "status half-configured google-cloud-cli-gke-gcloud-auth-plugin:amd64 528.0.0-0",
            "configure python3-jwt:all 1.7.1-3 <none>",
        ] {
            assert_eq!(r(s), (s.to_string(), 0), "{s}");
        }
    }

    #[test]
    fn unicode_at_every_boundary_does_not_panic() {
        for s in [
            "Authorization: Bearer\u{a0}abcdefghijklmnopqrstuvwxyz",
            "Bearer\u{2003}é",
            "x-api-key:\u{a0}ü",
            "postgres://ü:ö@h",
            "?token=日本語&x=1",
        ] {
            let (out, _) = r(s);
            assert!(!out.contains("abcdefghijklmnopqrstuvwxyz"), "{out}");
        }
    }
}
