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

// Word boundaries are ASCII ones (`(?-u:\b)`): a Unicode `\b` makes the regex engine fall back
// from its DFA to a far slower one on any non-ASCII text, and every capture goes through here.

/// Provider keys recognisable by their own shape, anywhere in text.
static KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:^|[^A-Za-z0-9_]|\\[nrt])
        (sk-[A-Za-z0-9_\-]{20,}
      | (?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)
      | gh[pousr]_[A-Za-z0-9]{30,}
      | xox[baprse]-[A-Za-z0-9\-]{10,}
      | AIza[0-9A-Za-z_\-]{35}
      | ya29\.[0-9A-Za-z_\-]{20,}
      | hf_[A-Za-z0-9]{30,}
      | [rsp]k_(?:live|test)_[0-9A-Za-z]{10,}
      | whsec_[0-9A-Za-z]{20,}
      | npm_[A-Za-z0-9]{36}(?-u:\b)
      | SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}
      | shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?-u:\b)
      | gsk_[A-Za-z0-9]{40,}
      | xai-[A-Za-z0-9]{40,}
      | eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}
      | r8_[A-Za-z0-9]{30,}
      | pplx-[A-Za-z0-9]{30,}
      | hvs\.[A-Za-z0-9_\-]{20,}
      | dp\.(?:st|ct|sa|scim|audit)\.[A-Za-z0-9_\-.]{20,}
      | lin_api_[A-Za-z0-9]{30,}
      | ntn_[A-Za-z0-9]{30,}
      | PMAK-[A-Za-z0-9\-]{30,}
      | glc_[A-Za-z0-9+/=_\-]{30,}
      | dapi[a-f0-9]{32}(?-u:\b)
      | sq0csp-[0-9A-Za-z_\-]{30,}
      | EAA[A-Za-z0-9]{80,}
      | key-[0-9a-f]{32}(?-u:\b)
      | SK[0-9a-f]{32}(?-u:\b)
      | [0-9]{8,10}:AA[0-9A-Za-z_\-]{33}
      | hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,})",
    )
    .expect("key regex")
});

/// Provider keys whose prefix is distinctive enough to be found glued to other text
/// (`x0sk-proj-…`, a key pasted onto a word): no boundary is asked for before them. A plain `sk-`
/// is not among them (`task-…`, `disk-…`).
static GLUED_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (sk-ant-[A-Za-z0-9_\-]{20,}
      | sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}
      | github_pat_[A-Za-z0-9_]{30,}
      | glpat-[A-Za-z0-9_\-]{20,}
      | pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{30,}
      | GOCSPX-[A-Za-z0-9_\-]{20,}
      | dop_v1_[a-f0-9]{64}(?-u:\b)
      | ATATT3x[A-Za-z0-9_\-=]{20,}
      | AGE-SECRET-KEY-1[0-9A-Z]{40,})",
    )
    .expect("glued key regex")
});

/// A private key, whole (to its END line, or to the end of the text when it was cut): PEM
/// (`-----BEGIN RSA PRIVATE KEY-----`) and SSH2 (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`).
static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-{4,5} ?BEGIN (?:[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?) ?-{4,5}(?s:.*?)(?:-{4,5} ?END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)? ?-{4,5}|\z)")
        .expect("pem regex")
});

/// The private half of a PuTTY key file: the base64 lines after `Private-Lines: N`.
static PUTTY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^(Private-Lines: *\d+\r?\n)((?:[A-Za-z0-9+/=]{4,}(?:\r?\n|\z))+)").expect("putty regex")
});

/// An AWS access key id with its secret beside it (`credentials.csv`, `key:secret` pairs), or
/// after the next member's name (`{"k":"AKIA…","s":"…"}`, `id=AKIA… secret=…`).
static AWS_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?-u:\b)((?:AKIA|ASIA)[0-9A-Z]{16})([\s,;:=|"']{1,6}(?:[A-Za-z0-9_.-]{1,40}[\s"':=]{1,6})?)([A-Za-z0-9/+]{40})(?-u:\b)"#,
    )
        .expect("aws pair regex")
});

/// Secret-named command-line flags (`--password X`, `-password X`, `--token=Y`, openssl's
/// `-passout pass:X`) and the tools whose password flag is a letter or whose secret is an
/// argument: `mysql -pPW`, `redis-cli -a PW`, `docker login -p PW`, `az login -p PW`,
/// `sshpass -p PW`, `vault login TOKEN`. A quoted value is taken whole (`-p "two words"`).
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)((?:(?:^|[ \t'\x22=])--?(?:password|passwd|pass|passin|passout|token|api[-_]?key|secret|auth[-_]?token|access[-_]?token|client[-_]?secret|storepass|keypass)[= \t]+(?:pass:)?|(?-u:\b)mysql(?:dump|admin)?(?-u:\b)[^\n;&|]*?[ \t]-p|(?-u:\b)redis-cli(?-u:\b)[^\n;&|]*?[ \t](?:-a|AUTH|auth)[ \t]+|(?-u:\b)(?:docker|podman|az)[ \t]+login(?-u:\b)[^\n;&|]*?[ \t]-p[ \t=]+|(?-u:\b)sshpass(?-u:\b)[^\n;&|]*?[ \t]-p[ \t]*|(?-u:\b)openssl(?-u:\b)[^\n;&|]*?[ \t]-k[ \t]+|(?-u:\b)vault[ \t]+login[ \t]+(?:-[^\s]+[ \t]+)*))(?:\x22((?:[^\x22\\\n]|\\[^\n])+)\x22|'((?:[^'\\\n]|\\[^\n])+)'|([^\s'\x22]+))",
    )
    .expect("flag regex")
});

/// A literal piped into a command that reads a secret from stdin: `echo PW | docker login
/// --password-stdin`, `printf '%s' TOKEN | gh auth login --with-token`, `passwd --stdin`, `chpasswd`,
/// `sudo -S`.
static PIPED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)((?-u:\b)(?:echo|printf)(?:[ \t]+-[A-Za-z]+)*[ \t]+(?:'%s(?:\\n)?'[ \t]+|"%s(?:\\n)?"[ \t]+)?)(?:"((?:[^"\\\n]|\\[^\n])+)"|'([^'\n]+)'|([^\s'"|;&]+))([ \t]*\|[ \t]*[^\n|]*?(?:--password-stdin|--with-token|--stdin|chpasswd|(?-u:\b)sudo[ \t]+-[A-Za-z]*S[A-Za-z]*)(?:[ \t]|\r?$))"#,
    )
    .expect("piped regex")
});

/// `htpasswd -b FILE USER PASSWORD` (and `-nb USER PASSWORD`): the password is the line's last word.
static HTPASSWD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)((?-u:\b)htpasswd[ \t][^\n]*?-[A-Za-z]*b[A-Za-z]*[ \t][^\n]*[ \t])([^\s]+)([ \t]*\r?)$")
        .expect("htpasswd regex")
});

/// curl's cookie flag with cookies in it (`-b "session=…"`; without `=` it names a cookie jar).
static COOKIE_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"((?-u:\b)curl(?-u:\b)[^\n]*?[ \t](?:-b|--cookie)[ \t=]*)(?:"([^"\n]+)"|'([^'\n]+)'|([^\s'"]+))"#)
        .expect("cookie flag regex")
});

/// `curl -u user:password`, `wget --user`, HTTPie's `-a user:password`: the user stays.
static USER_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"((?-u:\b)(?:curl|wget|http|https|xh)(?-u:\b)[^\n]*?[ \t](?:-[A-Za-z]*u|--user|-a|--auth)[ \t=]?["']?)([^\s:'"]+):([^\s'"]+)"#)
        .expect("user flag regex")
});

/// A token used as a URL's user (`https://TOKEN@github.com/…`, a Sentry DSN).
static URL_TOKEN_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([A-Za-z][A-Za-z0-9+.\-]{1,20}://)([A-Za-z0-9_\-]{20,200})@").expect("url token regex")
});

/// Secrets in markup and PHP: `<password>…</password>`, `define('DB_PASSWORD', '…')`, .NET's
/// `<add key="ApiKey" value="…"/>` (single quotes, or the value first, too; a double-quoted value
/// may hold a single quote).
static MARKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(<(?:password|passwd|secret|api_?key|apikey|access_?token|client_?secret|private_?key)>)([^<\s][^<]{0,199})<|(define\(\s*['"][A-Z0-9_]*(?:PASSWORD|PASS|SECRET|KEY|TOKEN|SALT)[A-Z0-9_]*['"]\s*,\s*['"])([^'"]{1,200})|(<add\s+(?:key|name)\s*=\s*["'](?:[^"']{0,60}(?:password|passwd|pwd|secret|api_?key|apikey|token|credential)[^"']{0,60}|[^"']{0,60}pass)["'](?:\s+[^\s="'<>/]+\s*=\s*["'][^"']*["']){0,4}\s+value\s*=\s*["'])([^"']{1,400}(?:["'][^"'<\n]{0,400}){0,3})|(<add\s+value\s*=\s*["'])([^"']{1,400}(?:["'][^"'<\n]{0,400}){0,3})(["'](?:\s+[^\s="'<>/]+\s*=\s*["'][^"']*["']){0,4}\s+(?:key|name)\s*=\s*["'](?:[^"']{0,60}(?:password|passwd|pwd|secret|api_?key|apikey|token|credential)[^"']{0,60}|[^"']{0,60}pass)["'])"#,
    )
    .expect("markup regex")
});

/// `.netrc` entries: `machine HOST login USER password PW` (on one line or several).
static NETRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)((?:machine\s+\S+|default)\s+(?:login\s+\S+\s+)?(?:account\s+\S+\s+)?password\s+)(\S+)")
        .expect("netrc regex")
});

/// `my password is …`, `my api key is …` in prose; after `my`, `the`, `our`, `your` or `this` the
/// verb may be missing (`here's my api key …`, `the api key = …`, `use this key: …`), and the
/// value may be quoted.
static SAID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)((?:(?:my|the|our|your|this)[ \t]+)?(?:password|passphrase|passwd|api[ _-]?key|api[ _-]?token|access[ _-]?token|auth[ _-]?token|secret[ _-]?key|token|key))((?:[ \t\p{Zs}]+(?:is|was):?[ \t\p{Zs}]+|[ \t\p{Zs}]*[:=][ \t\p{Zs}]*|[ \t\p{Zs}]+)[\x22'`]?)([^\s\x22'`\\]*[^\s.,;:?\x22'`\\])",
    )
    .expect("said regex")
});

/// A secret's name and its value separated by tabs (a table pasted from a password manager or a
/// spreadsheet): `password<TAB>…`.
static TABBED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^([ \t]*(?:password|passwd|passphrase|secret|api[ _-]?key|token)\t+)([^\s]+)")
        .expect("tabbed regex")
});

/// A password label in another language (`Passwort:`, `mot de passe :`, `пароль:`, `密码：`).
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)(?:^|[^\p{L}])((?:passwort|kennwort|mot de passe|contrase[ñn]a|senha|wachtwoord|lösenord|adgangskode|passord|salasana|hasło|heslo|parola|jelszó|şifre|пароль|密码|密碼|パスワード|비밀번호|암호|mật khẩu)[ \t]*[:=：][ \t]*)([^\s\x22'\\]+)",
    )
    .expect("label regex")
});

/// A secret label alone on its line with the value on the next (`Password:` then `  hunter2`,
/// git's `Password for 'https://…':`, sudo's `[sudo] password for bob:`, ssh's `bob@host's
/// password:`), a blank line between them allowed.
static NEXT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?im)^([ \t]*[A-Za-z0-9_\-\[\] @.']{0,60}(?:password|passwd|passphrase|secret|token|api[_ \-]?key)(?:[ \t]+for[ \t]+(?:(?:key[ \t]+)?'[^'\n]{0,200}'|"[^"\n]{0,200}"|[^\s:'"]{1,100}(?:[ \t]+[^\s:'"]{1,100}){0,2}))?[ \t]*:[ \t]*\r?\n(?:[ \t]*\r?\n)?[ \t]*)([^\s]{1,200}(?:[ \t]+[^\s]{1,100}){0,7})([ \t]*\r?)$"#,
    )
    .expect("next line regex")
});

/// A variable name that says secret in a list of name/value pairs: upper case (`API_KEY`,
/// `DB_PASSWORD`), any case with the secret word as one of its `_`/`-` parts (`api_key`,
/// `Db_Password`, not `monkey`), or camelCase ending in it (`dbPassword`).
const SECRET_VAR: &str = r"(?:[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASS|PWD|CREDENTIALS?)[A-Z0-9_]*|(?i:(?:[a-z0-9]+[_-])*(?:key|apikey|token|secret|password|passwd|pass|pwd|credentials?)(?:[_-][a-z0-9]+)*)|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*(?:Password|Passwd|Secret|Token|Key|Pwd|Credentials?))";

/// A secret-named variable in a list of name/value pairs: Kubernetes' `- name: API_KEY` with
/// `value: …` on the next line, and its JSON form (ECS task definitions, k8s JSON) in either order.
static NAMED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?m)(name:[ \t]*["']?{SECRET_VAR}["']?[ \t]*\r?\n(?:[ \t]*(?:\#[^\r\n]*)?\r?\n){{0,4}}[ \t]*value:[ \t]*)(?:"((?:[^"\\\r\n]|\\[^\r\n])+)"|'([^'\r\n]+)'|([^\s"'|>][^\r\n]*))|("name"\s*:\s*"{SECRET_VAR}"\s*,(?:\s*"[^"\\]+"\s*:\s*(?:"[^"\\]*"|[^\s,{{}}\[\]"]+)\s*,){{0,4}}\s*"value"\s*:\s*")((?:[^"\\]|\\.)+)"|("value"\s*:\s*")((?:[^"\\]|\\.)+)("\s*,(?:\s*"[^"\\]+"\s*:\s*(?:"[^"\\]*"|[^\s,{{}}\[\]"]+)\s*,){{0,4}}\s*"name"\s*:\s*"{SECRET_VAR}")"#
    ))
    .expect("named value regex")
});

/// The same pair in YAML with `value:` first and `name:` on a following line (`- value: …` then
/// `  name: DB_PASSWORD`): the prefix, the value (groups 2–4, as in [`NAMED_VALUE`]) and the rest
/// up to the name.
static VALUE_THEN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?m)(value:[ \t]*)(?:"((?:[^"\\\r\n]|\\[^\r\n])+)"|'([^'\r\n]+)'|([^\s"'|>#][^\r\n]*?))([ \t]*\r?\n(?:[ \t]*(?:\#[^\r\n]*)?\r?\n){{0,4}}[ \t]*name:[ \t]*["']?{SECRET_VAR}["']?[ \t]*\r?$)"#
    ))
    .expect("value then name regex")
});

/// The same pair in YAML's flow style: `{name: API_KEY, value: …}`.
static FLOW_NAMED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(name:[ \t]*["']?{SECRET_VAR}["']?[ \t]*,[ \t]*value:[ \t]*)(?:"((?:[^"\\\r\n]|\\[^\r\n])+)"|'([^'\r\n]+)'|([^\s"',{{}}\[\]]+))"#
    ))
    .expect("flow named value regex")
});

/// The same pair with a block scalar for the value (`value: |` and indented lines after it): the
/// match ends at the indicator's line; [`block_scalars`] reads the lines.
static BLOCK_NAMED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?m)name:[ \t]*["']?{SECRET_VAR}["']?[ \t]*\r?\n([ \t]*)value:[ \t]*[|>][-+0-9]{{0,3}}[ \t]*\r?\n"#
    ))
    .expect("block named value regex")
});

/// `token = …`, `"auth": "…"`: names too common to trust alone; only a value that looks generated
/// (letters and digits, 8 or more) is replaced.
static WEAK_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?-u:\b)([A-Za-z0-9_.\-]{0,40}(?:token|auth|credentials?|passphrase|session[_-]?id)[A-Za-z0-9_.\-]{0,20})(["']?[ \t\p{Zs}]*[:=][ \t\p{Zs}]*["']?)([^\s"'`,;&)}\]]{8,})"#,
    )
    .expect("weak assignment regex")
});

/// `Name: value` header lines (curl -H, raw HTTP, logs, JSON and dict literals) whose name says
/// secret: the prefix, the name, the separator (with the name's closing quote) and the value's
/// opening quote. The value is read from the text after it (see [`header_lines`]): a pattern
/// that took the rest of the line would make every header on a long line rescan it.
static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?im)(^|[\s"'{,\[(]|\\[nrt])((?:[A-Za-z][A-Za-z0-9_\-]{0,30})?(?:auth|key|token|secret|passw|cookie|session|signature|credential|jwt|sid)[A-Za-z0-9_\-]{0,30})(\\?["']?[ \t\p{Zs}]*:[ \t\p{Zs}]*)(\\?["']?)"#,
    )
    .expect("header regex")
});

/// `Bearer TOKEN` (any length with a digit, or 16+ characters), wherever it appears.
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:(?-u:\b)|\\[nrt])(bearer)(\s+)([A-Za-z0-9._~+/=\-]{6,})").expect("bearer regex")
});

/// `scheme://user:password@host`: the password may hold `@` and `/` (not `?` or `#`); the host
/// is what follows its last `@`.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)([A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s/:@]{0,200}):([^\s?#]+)@([^\s@/?#]+)([/?#\s:]|$)")
        .expect("url regex")
});

/// `?token=…`, `&api_key=…` in URLs and form bodies.
static QUERY_PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([?&])([A-Za-z0-9_.\-\[\]]{1,60})=([^&#\s\x22'<>]+)").expect("query regex"));

/// `password = "…"`, `AWS_SECRET_ACCESS_KEY=…`, `"api_key": "…"`: secret-named assignments; a
/// quoted value is taken whole (spaces and all).
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?-u:\b)([A-Za-z0-9_.\-]{0,40}(?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?key|access_?token|auth_?token|private_?key|client_?secret|account_?key|shared_?access_?key)[A-Za-z0-9_.\-]{0,20})(["']?[ \t\p{Zs}]*(?::=|=>|[:=：＝])[ \t\p{Zs}]*)(?:"((?:[^"\\\r\n]|\\[^\r\n])+)"|'((?:[^'\\\r\n]|\\[^\r\n])+)'|([^\s"'`,;&)}\]]{4,}))"#,
    )
    .expect("assignment regex")
});

/// Environment-style names that end in a secret word: `DB_PASS=…`, `STRIPE_KEY=…`, `GH_PW=…`,
/// `REDISCLI_AUTH=…`, sshpass's `SSHPASS=…` and a bare `PW` (`{'PW': '…'}`, the name quoted or
/// not; upper case only: `cache_key = …` in code is no secret).
static ENV_ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?-u:\b)(SSHPASS|PW|[A-Z][A-Z0-9_]{0,40}_(?:KEY|PASS|PW|PWD|PASSWORD|TOKEN|SECRET|AUTH|CREDENTIALS?))(?-u:\b)(["']?[ \t\p{Zs}]*(?::=|=>|[:=])[ \t\p{Zs}]*)(?:"((?:[^"\\\r\n]|\\[^\r\n])+)"|'((?:[^'\\\r\n]|\\[^\r\n])+)'|([^\s"'`,;&)}\]]+))"#,
    )
    .expect("env assignment regex")
});

/// An AWS secret access key: 40 base64 characters near the words that name it.
static AWS_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(aws[\w\- ]{0,30}(?:secret|key)[^\n]{0,20}?)(?-u:\b)([A-Za-z0-9/+]{40})(?:(?-u:\b)|$)")
        .expect("aws regex")
});

/// Up to four members of a JSON object between the two a pattern pairs (a string, or a bare
/// scalar, as their values).
const OTHER_MEMBERS: &str = r#"(?:\s*"[^"\\]+"\s*:\s*(?:"[^"\\]*"|[^\s,{}\[\]"]+)\s*,){0,4}"#;

/// A HAR name/value object (in `headers`, `queryString`, `cookies`, `postData.params`) in JSON
/// text, its members in either order with up to four others between: the prefix up to the value
/// (group 1), the name (2) and the value (3); or, value first, the prefix (4), the value (5), the
/// rest up to the name's end (6) and the name (7). Whether the value goes is judged by the name
/// (see [`http_pair_secret`]).
static HTTP_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    let other = OTHER_MEMBERS;
    let name = r#""name"\s*:\s*"([^"\\]{1,200})""#;
    let value = r#""value"\s*:\s*""#;
    Regex::new(&format!(
        r#"({name}\s*,{other}\s*{value})((?:[^"\\]|\\.)*)"|({value})((?:[^"\\]|\\.)*)("\s*,{other}\s*{name})"#
    ))
    .expect("http pair regex")
});

/// A HAR `content` whose `text` is base64 (`"encoding": "base64"`), its members in either order
/// with up to four others between: the prefix up to the text (group 1), the text (2) and the rest
/// up to the encoding's end (3); or, encoding first, the prefix (4) and the text (5).
static BASE64_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    let other = OTHER_MEMBERS;
    let (text, encoding) = (r#""text"\s*:\s*""#, r#""encoding"\s*:\s*"base64""#);
    let b64 = r"((?:[A-Za-z0-9+=\s]|\\/|/)*)";
    Regex::new(&format!(r#"({text}){b64}("\s*,{other}\s*{encoding})|({encoding}\s*,{other}\s*{text}){b64}""#))
        .expect("base64 text regex")
});

/// A base64 text (a HAR response's body) redacted: decoded, redacted as text when it is UTF-8,
/// and encoded again; None when it is not base64 of text or holds no secret.
fn base64_text(encoded: &str) -> Option<(String, usize)> {
    use base64::Engine;
    let clean: String = encoded.replace("\\/", "/").chars().filter(|c| !c.is_whitespace()).collect();
    let mut text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(clean).ok()?).ok()?;
    let n = redact(&mut text);
    (n > 0).then(|| (base64::engine::general_purpose::STANDARD.encode(text), n))
}

/// A HAR `cookies` array's opening: every value in it is a cookie's.
static COOKIE_ARRAY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""cookies"\s*:\s*\["#).expect("cookie array regex"));

/// Where the `cookies` arrays of JSON text lie (from each opening to its closing bracket; an
/// unclosed one runs to the end).
fn cookie_arrays(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for m in COOKIE_ARRAY.find_iter(text) {
        if out.last().is_some_and(|r| r.contains(&m.start())) {
            continue;
        }
        let open = m.end() - 1;
        out.push(open..crate::engine::jsonspan::item_end(b, open, b.len()));
    }
    out
}

/// Whether a HAR name/value object's value (a [`HTTP_PAIR`] match) is a secret: its name says
/// so as a header's (`Proxy-Authorization`, `Set-Cookie`, `X-Custom-Auth`) or a query or form
/// parameter's (`sig`, `access_token`) would, or it is a cookie's (in a `cookies` array), and it
/// is no placeholder. The HAR loader reads these objects one by one; this is the same rule for a
/// file's raw text, as `compress --redact` reads it.
fn http_pair_secret(c: &Captures, cookies: &[std::ops::Range<usize>]) -> bool {
    let at = c.get(0).expect("match").start();
    let (name, value) = match (c.get(2), c.get(3)) {
        (Some(n), Some(v)) => (n.as_str(), v.as_str()),
        _ => (&c[7], &c[5]),
    };
    let named =
        secret_param(name, value) && !setting_about_a_secret(&name.to_ascii_lowercase().replace('-', "_"), false);
    (named || cookies.iter().any(|r| r.contains(&at))) && secret(value)
}

/// Replaces every secret in `text`; returns how many were replaced.
pub fn redact(text: &mut String) -> usize {
    // the escaped reading first: a secret read in one escaped literal alone must not hide the one
    // beside it (an AWS key id redacted by itself leaves its secret key unpaired)
    let n = whole_text_passes(text);
    n + redact_at(text, 0)
}

/// The passes that read a text as a whole before its rules run, for the input and for each
/// decoded string alike: a stream's deltas joined ([`super::sse::redact_split_secrets`]), and
/// `\uXXXX` escapes read ([`unescaped_view`]).
fn whole_text_passes(text: &mut String) -> usize {
    super::sse::redact_split_secrets(text) + unescaped_view(text)
}

/// Secrets written with JSON escapes where [`escaped_strings`] does not read them: a key's name
/// (`"pass\u0077ord": "…"`), a string whose lone surrogate (`\ud800`) makes it undecodable, escaped
/// text outside quotes (`postgres:\/\/user:pw@host` in a message). The text is read with `\uXXXX`
/// and `\/` decoded (see [`loose_unescape`]); each line where that reading has a secret becomes its
/// redacted reading, and every other line stays byte for byte. Returns how many were replaced.
fn unescaped_view(text: &mut String) -> usize {
    if !text.contains("\\u") && !text.contains("\\/") {
        return 0;
    }
    let loose = loose_unescape(text);
    if loose == *text {
        return 0;
    }
    let mut redacted = loose.clone();
    let n = redact_at(&mut redacted, 0);
    if n == 0 {
        return 0;
    }
    let (was, read, now): (Vec<&str>, Vec<&str>, Vec<&str>) = (
        text.split_inclusive('\n').collect(),
        loose.split_inclusive('\n').collect(),
        redacted.split_inclusive('\n').collect(),
    );
    // a replacement that joined or split lines: the redacted reading whole
    let merged = if was.len() == read.len() && read.len() == now.len() {
        was.iter().zip(&read).zip(&now).map(|((w, r), n)| if r != n { *n } else { *w }).collect()
    } else {
        redacted.clone()
    };
    *text = merged;
    n
}

/// Whether [`loose_unescape`] leaves a `\uXXXX` escape of `c` as written (so lines stay lines and
/// JSON stays JSON).
fn stays_escaped(c: char) -> bool {
    c.is_control() || matches!(c, '"' | '\\')
}

/// `text` with JSON's `\uXXXX` escapes (a surrogate pair as its character, a lone surrogate as
/// U+FFFD) and `\/` decoded wherever they are; an escaped control character, quote or backslash
/// stays escaped, so lines stay lines and JSON stays JSON.
fn loose_unescape(text: &str) -> String {
    let b = text.as_bytes();
    let hex = |at: usize| {
        let h = text.get(at..at + 4)?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    };
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        let at = i + k;
        let (decoded, len) = match b.get(at + 1) {
            Some(b'/') => (Some('/'), 2),
            Some(b'u') => match hex(at + 2) {
                Some(hi @ 0xD800..=0xDBFF) => {
                    let lo =
                        (b.get(at + 6) == Some(&b'\\') && b.get(at + 7) == Some(&b'u')).then(|| hex(at + 8)).flatten();
                    match lo {
                        Some(lo @ 0xDC00..=0xDFFF) => {
                            (char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)), 12)
                        }
                        _ => (Some('\u{FFFD}'), 6),
                    }
                }
                Some(0xDC00..=0xDFFF) => (Some('\u{FFFD}'), 6),
                Some(c) => (char::from_u32(c).filter(|&c| !stays_escaped(c)), 6),
                None => (None, 2),
            },
            // any other escape (`\\`, `\n`, `\"`) is kept whole, so its second byte is not read again
            _ => (None, 2),
        };
        let end = (at + len).min(b.len());
        if let Some(c) = decoded {
            out.push_str(&text[copied..at]);
            out.push(c);
            copied = end;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// [`redact`] of text found `depth` JSON string literals deep (see [`escaped_strings`]).
fn redact_at(text: &mut String, depth: usize) -> usize {
    if text.is_empty() {
        return 0;
    }
    // the strings inside first: a rule reading the escaped text could take a string's closing
    // quote with a value (an `Authorization:` line last in a string), and the string would no
    // longer decode for the secrets only its decoded lines show
    let mut n = escaped_strings(text, depth);
    // `f` rewrites a match from its first group on; what the match holds before that group (a
    // separator, a `\n` escape) is kept as it was
    // (the new text is only started at the first replacement: matches `f` turns down, such as
    // many a number in a 10 MB array, copy nothing)
    // secrets found inside a base64 text beyond the one its replacement counts
    let inside = std::cell::Cell::new(0);
    let mut apply = |text: &mut String, re: &Regex, f: &dyn Fn(&Captures) -> Option<String>| {
        let (mut out, mut last, mut count) = (None::<String>, 0, 0);
        for c in re.captures_iter(text) {
            let Some(s) = f(&c) else { continue };
            let whole = c.get(0).expect("match");
            let lead = c.get(1).map_or(0, |g| g.start() - whole.start());
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[last..whole.start() + lead]);
            o.push_str(&s);
            last = whole.end();
            count += 1;
        }
        if let Some(mut o) = out {
            o.push_str(&text[last..]);
            *text = o;
            n += count;
        }
    };
    // the key's lines stay lines (a key inside a diff keeps the diff's shape); their base64 goes
    apply(text, &PRIVATE_KEY, &|c| {
        let whole = &c[0];
        let lines = whole.split_inclusive('\n').map(|line| {
            let body = line.strip_prefix(['+', '-', ' ', '>']).unwrap_or(line);
            let key = body.trim_end();
            if key.len() >= 8 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
                format!("{}{REDACTED}{}", &line[..line.len() - body.len()], &body[key.len()..])
            } else {
                line.to_string()
            }
        });
        let out: String = lines.collect();
        if out != whole {
            return Some(out);
        }
        // a key on one line (`\n` escapes in JSON text): everything between the labels goes
        let label = whole.find("PRIVATE KEY")? + "PRIVATE KEY".len();
        let after = whole[label..].strip_prefix(" BLOCK").unwrap_or(&whole[label..]);
        let open = whole.len() - after.trim_start_matches([' ', '-']).len();
        let close = whole[open..].find("----").map_or(whole.len(), |j| open + j);
        Some(format!("{}{REDACTED}{}", &whole[..open], &whole[close..]))
    });
    apply(text, &PUTTY, &|c| {
        let body: String =
            c[2].split_inclusive('\n').map(|line| format!("{REDACTED}{}", &line[line.trim_end().len()..])).collect();
        Some(format!("{}{body}", &c[1]))
    });
    apply(text, &AWS_PAIR, &|c| secret(&c[3]).then(|| format!("{REDACTED}{}{REDACTED}", &c[2])));
    apply(text, &KEY, &|c| (&c[1] != REDACTED).then(|| REDACTED.to_string()));
    apply(text, &GLUED_KEY, &|_| Some(REDACTED.to_string()));
    if text.contains("\"base64\"") {
        apply(text, &BASE64_TEXT, &|c| {
            let (encoded, prefix, tail) = match (c.get(2), c.get(5)) {
                (Some(t), _) => (t.as_str(), &c[1], &c[3]),
                _ => (&c[5], &c[4], "\""),
            };
            let (redacted, n) = base64_text(encoded)?;
            inside.set(inside.get() + n - 1);
            Some(format!("{prefix}{redacted}{tail}"))
        });
    }
    if text.contains("\"name\"") && text.contains("\"value\"") {
        let cookies = cookie_arrays(text);
        apply(text, &HTTP_PAIR, &|c| {
            http_pair_secret(c, &cookies).then(|| match c.get(1) {
                Some(prefix) => format!("{}{REDACTED}\"", prefix.as_str()),
                None => format!("{}{REDACTED}{}", &c[4], &c[6]),
            })
        });
    }
    apply(text, &URL_PASSWORD, &|c| {
        let pw = &c[2];
        // `https://host:8080/path@v1` is a port and a path, not a password
        let port = pw.split('/').next().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())) && pw.contains('/');
        (!port && secret(pw)).then(|| format!("{}:{REDACTED}@{}{}", &c[1], &c[3], &c[4]))
    });
    let headers = header_lines(text);
    apply(text, &BEARER, &|c| {
        let token = &c[3];
        let words = token.contains('_') && token.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch == '.');
        let looks = (token.len() >= 16 || token.chars().any(|ch| ch.is_ascii_digit())) && !words;
        (looks && secret(token)).then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    apply(text, &QUERY_PARAM, &|c| {
        (secret_param(&c[2], &c[3]) && secret(&c[3])).then(|| format!("{}{}={REDACTED}", &c[1], &c[2]))
    });
    apply(text, &AWS_SECRET, &|c| secret(&c[2]).then(|| format!("{}{REDACTED}", &c[1])));
    apply(text, &ENV_ASSIGNMENT, &|c| assigned(c, 1));
    apply(text, &ASSIGNMENT, &|c| assigned(c, 4));
    apply(text, &WEAK_ASSIGNMENT, &|c| {
        let (name, (value, tail)) = (c[1].to_ascii_lowercase(), before_escape(&c[3]));
        // `author_email`, `authors`: an author is no credential; an Authorization value is the
        // header rule's (`AWS4-HMAC-SHA256` is its scheme)
        let author = name.contains("author");
        let about = setting_about_a_secret(&name, false);
        // `--extern tokenizers=/…/libtokenizers-1a2b.rlib`: a tokenizer is no token, and a file's
        // path is where something is, not a secret
        let tokenizer = name.contains("tokeniz");
        let path = value.starts_with(['/', '~']) || value.starts_with("./") || value.starts_with("../");
        (!author
            && !about
            && !tokenizer
            && !path
            && !code_like(value, &c[2], &name)
            && generated(value)
            && secret(value))
        .then(|| format!("{}{}{REDACTED}{tail}", &c[1], &c[2]))
    });
    apply(text, &FLAG, &|c| {
        let (q, value) = quoted_value(c)?;
        let (value, tail) = if q.is_empty() { before_escape(value) } else { (value, q) };
        if q.is_empty() && value.ends_with('\\') {
            // `-p\"…\"` in JSON text: the quoted value is read when the string is decoded
            return None;
        }
        let flag = c[1].to_ascii_lowercase();
        // `--password PASSWORD` in a usage text names the argument
        let metavar = value.len() > 2
            && value.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch == '-')
            && flag.contains(&value.to_ascii_lowercase().replace('_', "-"));
        // openssl's `-passin env:VAR` and `file:PATH` say where the password is
        let elsewhere = ["env:", "file:", "fd:", "stdin"].iter().any(|p| value.starts_with(p));
        // `vault login -method=userpass username=bob` logs in with a method, not a token
        let method = flag.contains("vault") && value.contains('=');
        (!metavar && !elsewhere && !method && secret(value)).then(|| format!("{}{q}{REDACTED}{tail}", &c[1]))
    });
    apply(text, &PIPED, &|c| {
        let (q, value) = quoted_value(c)?;
        (!env_reference(value) && secret(value)).then(|| format!("{}{q}{REDACTED}{q}{}", &c[1], &c[5]))
    });
    apply(text, &HTPASSWD, &|c| secret(&c[2]).then(|| format!("{}{REDACTED}{}", &c[1], &c[3])));
    apply(text, &COOKIE_FLAG, &|c| {
        let (q, value) = quoted_value(c)?;
        let jar = !value.contains('=');
        let out = cookies(value, false);
        (!jar && out != value).then(|| format!("{}{q}{out}{q}", &c[1]))
    });
    apply(text, &USER_FLAG, &|c| secret(&c[3]).then(|| format!("{}{}:{REDACTED}", &c[1], &c[2])));
    apply(text, &NETRC, &|c| secret(&c[2]).then(|| format!("{}{REDACTED}", &c[1])));
    apply(text, &URL_TOKEN_USER, &|c| generated(&c[2]).then(|| format!("{}{REDACTED}@", &c[1])));
    apply(text, &MARKUP, &|c| match (c.get(1), c.get(2), c.get(3), c.get(4)) {
        (Some(tag), Some(v), _, _) if secret(v.as_str()) => Some(format!("{}{REDACTED}<", tag.as_str())),
        (_, _, Some(call), Some(v)) if secret(v.as_str()) => Some(format!("{}{REDACTED}", call.as_str())),
        _ => match (c.get(5), c.get(6), c.get(7), c.get(8), c.get(9)) {
            // `PasswordMinLength`, `ApiKeyHeaderName`: a setting about the secret
            (Some(add), Some(v), ..) if !about_a_secret(add.as_str()) => {
                // a value may hold the other quote (`value="hunt'er2"`, `value='q"x'`); it ends at
                // its own, and what the pattern read past that stays
                let q = add.as_str().chars().last().unwrap_or('"');
                let (value, tail) = v.as_str().split_at(v.as_str().find(q).unwrap_or(v.len()));
                secret(value).then(|| format!("{}{REDACTED}{tail}", add.as_str()))
            }
            (.., Some(add), Some(v), Some(key)) if secret(v.as_str()) && !about_a_secret(key.as_str()) => {
                Some(format!("{}{REDACTED}{}", add.as_str(), key.as_str()))
            }
            _ => None,
        },
    });
    apply(text, &SAID, &|c| {
        {
            let value = &c[3];
            // without a verb only a name of several words says prose (`my password …`, `the api
            // key = …`); `password = …` is an assignment, and code is judged there
            let verb = c[2].contains(|ch: char| ch.is_ascii_alphabetic());
            if !verb && (!c[1].contains(char::is_whitespace) || code_like(value, &c[2], &c[1].to_ascii_lowercase())) {
                return None;
            }
            // a key or a token must look generated (`the token is expired` says nothing)
            let password = c[1].split_whitespace().last().is_some_and(|w| w.to_ascii_lowercase().starts_with("pass"));
            (generated(value)
                || password && value.chars().any(|ch| !ch.is_alphanumeric())
                || password && verb && passphrase(value))
                && secret(value)
        }
        .then(|| format!("{}{}{REDACTED}", &c[1], &c[2]))
    });
    apply(text, &LABEL, &|c| secret(&c[2]).then(|| format!("{}{REDACTED}", &c[1])));
    apply(text, &TABBED, &|c| {
        let value = &c[2];
        // a table's header (`token<TAB>count`) or a figure (`token<TAB>12345`)
        let word_or_number = value.chars().all(char::is_alphabetic)
            || value.chars().all(|ch| ch.is_ascii_digit() || ch == ',' || ch == '.');
        (!word_or_number && !type_name(value) && !code_like(value, "\t", &c[1].to_ascii_lowercase()) && secret(value))
            .then(|| format!("{}{REDACTED}", &c[1]))
    });
    apply(text, &NEXT_LINE, &|c| {
        let value = &c[2];
        let words = value.split_whitespace().count();
        if words == 1 && value.chars().count() < 4 {
            return None;
        }
        if words > 1 {
            // a passphrase after a password prompt (`Password:` then `correct horse battery
            // staple`); a sentence (`See the admin.`) or a line under a token or key heading is
            // no value
            let prompt = c[1].to_ascii_lowercase().contains("pass");
            if !prompt || words > 6 || value.ends_with(['.', ':', '?', '!', ',', ';']) {
                return None;
            }
        }
        // a rule of dashes or a heading word (`Settings`) under a label is no password
        let mixed = value.chars().any(char::is_alphanumeric) && !value.chars().all(char::is_alphabetic);
        // another label (`Username:`) is no value
        let label = value.ends_with(':');
        (mixed && !label && !code_like(value, ":", &c[1].to_ascii_lowercase()) && secret(value))
            .then(|| format!("{}{REDACTED}{}", &c[1], &c[3]))
    });
    apply(text, &NAMED_VALUE, &|c| match (c.get(1), c.get(5)) {
        // `- name: PASSWORD_MIN_LENGTH`, `token_count`: a setting about the secret
        (Some(yaml), _) if about_a_secret_name(yaml.as_str()) => None,
        (_, Some(json)) if about_a_secret_name(json.as_str()) => None,
        (Some(yaml), _) => {
            let (q, value) = quoted_value(c)?;
            let value = if q.is_empty() { value.trim_end() } else { value };
            let tail = &c[0][yaml.as_str().len() + q.len() * 2 + value.len()..];
            secret(value).then(|| format!("{}{q}{REDACTED}{q}{tail}", yaml.as_str()))
        }
        (_, Some(json)) => secret(&c[6]).then(|| format!("{}{REDACTED}\"", json.as_str())),
        _ => match (c.get(7), c.get(8), c.get(9)) {
            (Some(value), Some(v), Some(name)) if secret(v.as_str()) => {
                Some(format!("{}{REDACTED}{}", value.as_str(), name.as_str()))
            }
            _ => None,
        },
    });
    apply(text, &VALUE_THEN_NAME, &|c| {
        let tail = &c[5];
        if about_a_secret_name(tail.trim_start()) {
            return None;
        }
        let (q, value) = quoted_value(c)?;
        secret(value).then(|| format!("{}{q}{REDACTED}{q}{tail}", &c[1]))
    });
    apply(text, &FLOW_NAMED_VALUE, &|c| {
        if about_a_secret_name(&c[1]) {
            return None;
        }
        let (q, value) = quoted_value(c)?;
        secret(value).then(|| format!("{}{q}{REDACTED}{q}", &c[1]))
    });
    n += block_scalars(text);
    n += tsv_columns(text);
    n + headers + inside.get()
}

/// Whether a table header cell names a secret column (`password`, `API Key`, `db_password`).
fn secret_column(cell: &str) -> bool {
    let c = cell.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    matches!(c.as_str(), "password" | "passwd" | "passphrase" | "secret" | "token" | "apikey" | "pwd")
        || ["_password", "_passwd", "_secret", "_token", "_key", "_pwd"].iter().any(|end| c.ends_with(end))
            && !setting_about_a_secret(&c, false)
}

/// A tab-separated table whose header row names a secret column: that column's cells in the rows
/// below (as many cells as the header) become [`REDACTED`]; a row of another width ends the table.
fn tsv_columns(text: &mut String) -> usize {
    if !text.contains('\t') {
        return 0;
    }
    let mut out = String::with_capacity(text.len());
    let mut table: Option<(usize, Vec<usize>)> = None;
    let mut n = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let cells: Vec<&str> = body.split('\t').collect();
        if let Some((width, cols)) = &table
            && cells.len() == *width
        {
            let mut row: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
            for &i in cols {
                let v = cells[i].trim();
                if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_digit()) && secret(v) {
                    row[i] = REDACTED.to_string();
                    n += 1;
                }
            }
            out.push_str(&row.join("\t"));
            out.push_str(&line[body.len()..]);
            continue;
        }
        let cols: Vec<usize> = (0..cells.len()).filter(|&i| secret_column(cells[i])).collect();
        // a header row holds names, not values; `password<TAB>…` first in a two-column row is a
        // name/value list (the tabbed rule's), not a header
        let header = cells.iter().all(|c| !generated(c.trim())) && !(cells.len() == 2 && cols == [0]);
        table = (cells.len() >= 2 && !cols.is_empty() && header).then_some((cells.len(), cols));
        out.push_str(line);
    }
    if n > 0 {
        *text = out;
    }
    n
}

/// The value of a pattern whose groups 2, 3 and 4 are the same value double-quoted, single-quoted
/// or bare: its quote (empty when bare) and its text.
fn quoted_value<'t>(c: &Captures<'t>) -> Option<(&'static str, &'t str)> {
    match (c.get(2), c.get(3), c.get(4)) {
        (Some(v), ..) => Some(("\"", v.as_str())),
        (_, Some(v), _) => Some(("'", v.as_str())),
        (.., Some(v)) => Some(("", v.as_str())),
        _ => None,
    }
}

/// The lines of a [`BLOCK_NAMED_VALUE`] block scalar (blank, or indented deeper than `value:`)
/// each become [`REDACTED`], their indentation kept.
fn block_scalars(text: &mut String) -> usize {
    let mut spans = Vec::new();
    for c in BLOCK_NAMED_VALUE.captures_iter(text) {
        let indent = c[1].len();
        let mut at = c.get(0).expect("match").end();
        for line in text[at..].split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let content = body.trim_start_matches([' ', '\t']);
            if !content.is_empty() && body.len() - content.len() <= indent {
                break;
            }
            if !content.is_empty() && secret(content) {
                spans.push((at + body.len() - content.len(), at + body.len()));
            }
            at += line.len();
        }
    }
    for &(start, end) in spans.iter().rev() {
        text.replace_range(start..end, REDACTED);
    }
    spans.len()
}

/// How deep [`escaped_strings`] looks: JSON text inside a string inside a string (a request body
/// in a HAR in a log line) and no further.
const MAX_ESCAPE_DEPTH: usize = 3;

/// Secrets that only show once a JSON string literal in the text is read: a log line holding
/// JSON whose string has `Password:\nX` or `curl -b \"…\"`. Each double-quoted literal on one
/// line that holds a newline, tab or quote escape is decoded and redacted as text of its own, and
/// written back (re-encoded) when something in it was replaced; every other literal stays byte
/// for byte. Returns how many were replaced.
fn escaped_strings(text: &mut String, depth: usize) -> usize {
    if depth >= MAX_ESCAPE_DEPTH || !text.contains('\\') {
        return 0;
    }
    let literals = escaped_literals(text);
    if literals.is_empty() {
        return 0;
    }
    // one pass over the literals joined by a line no rule reads across (a pass per literal
    // would cost the patterns' set-up once per literal); when a replacement took a separator
    // with it, each literal is read on its own instead
    const SEPARATOR: &str = "\n\u{E000}\n";
    // a decoded string is read as a text of its own is: a stream in it has its deltas joined (a
    // HAR's response), and `\uXXXX` escapes one level down are read (`\u0073k-ant-…` in a body)
    let mut n = 0;
    let decoded: Vec<String> = literals
        .iter()
        .map(|(_, _, s)| {
            let mut s = s.clone();
            n += whole_text_passes(&mut s);
            s
        })
        .collect();
    let mut joined = decoded.join(SEPARATOR);
    let separators_inside = decoded.iter().any(|s| s.contains('\u{E000}'));
    let found = redact_at(&mut joined, depth + 1);
    if n + found == 0 {
        return 0;
    }
    n += found;
    let mut redacted: Vec<String> = joined.split(SEPARATOR).map(str::to_string).collect();
    if separators_inside || redacted.len() != decoded.len() {
        n -= found;
        redacted = decoded.clone();
        for s in &mut redacted {
            n += redact_at(s, depth + 1);
        }
    }
    for ((start, end, before), after) in literals.iter().zip(&redacted).rev() {
        if before != after {
            text.replace_range(*start..*end, &serde_json::to_string(after).expect("a string encodes"));
        }
    }
    n
}

/// The double-quoted JSON string literals of `text` (each on one line) that hold a newline, tab or
/// quote escape, written as such or as `\u000a`: where each starts and ends, and its decoded text.
/// (Other `\uXXXX` and `\/` escapes, `sk\u002dant-…`, are read by [`unescaped_view`].)
fn escaped_literals(text: &str) -> Vec<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(q) = memchr::memchr(b'"', &bytes[at..]) {
        let start = at + q;
        // the literal's end: the next unescaped quote on the same line
        let (mut i, mut escapes, mut end) = (start + 1, false, None);
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => {
                    escapes |= match bytes.get(i + 1) {
                        Some(b'n' | b'r' | b't' | b'"') => true,
                        // a `\u` escape [`loose_unescape`] leaves as written: a control character
                        // (`\u000a`), a quote or a backslash (it reads every other one)
                        Some(b'u') => text
                            .get(i + 2..i + 6)
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32)
                            .is_some_and(stays_escaped),
                        _ => false,
                    };
                    i += 2;
                }
                b'"' => {
                    end = Some(i);
                    break;
                }
                b'\n' => break,
                _ => i += 1,
            }
        }
        let Some(end) = end else {
            at = start + 1;
            continue;
        };
        at = end + 1;
        if escapes && let Ok(inner) = serde_json::from_str::<String>(&text[start..=end]) {
            out.push((start, end + 1, inner));
        }
    }
    out
}

/// The replacement for a secret-named assignment ([`ASSIGNMENT`], [`ENV_ASSIGNMENT`]): groups 3
/// and 4 are a double- or single-quoted value (taken whole), group 5 a bare one at least
/// `min_bare` characters long.
fn assigned(c: &Captures, min_bare: usize) -> Option<String> {
    let (name, sep) = (&c[1], &c[2]);
    let lname = name.to_ascii_lowercase();
    // `PASSWORD_RESET_TIMEOUT`, `SECRET_KEY_FILE`, `token_url`, `secretName`: a setting about
    // the secret
    let camel = name.chars().skip(1).any(|c| c.is_ascii_uppercase()) && name.chars().any(|c| c.is_ascii_lowercase());
    if setting_about_a_secret(&lname, camel) {
        return None;
    }
    if let Some(q) = c.get(3).map(|_| '"').or(c.get(4).map(|_| '\'')) {
        let value = c.get(3).or(c.get(4)).map_or("", |m| m.as_str());
        // a sentence under `"secret"` (`the secret to good bread is time`) is prose; a passphrase is
        // only taken for one when the name says password
        let sentence = prose(value) && value.split_whitespace().count() >= 6 && !lname.contains("pass");
        let skip =
            type_name(value) || version(value) || email(value) || value.contains("{{") || plain_url(value) || sentence;
        return (!skip && secret(value)).then(|| format!("{name}{sep}{q}{REDACTED}{q}"));
    }
    let (value, tail) = before_escape(&c[5]);
    if value.ends_with('\\') {
        // `PASSWORD=\"…\"` in JSON text: the quoted value is read when the string is decoded
        return None;
    }
    // `PWD=/home/me` is the working directory
    let path = lname.ends_with("pwd") && value.starts_with(['/', '~']);
    // `passwd: files systemd` in nsswitch.conf names where accounts are looked up
    let nss = matches!(lname.as_str(), "passwd" | "shadow" | "gshadow") && NSS_SOURCES.contains(&value);
    // `password=DEFAULT_PW` (a constant), `password = bcrypt.hashpw` (a dotted name): code
    let constant = value.len() > 2
        && value.contains('_')
        && value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && value.starts_with(|c: char| c.is_ascii_uppercase());
    let ident = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let dotted = value.contains('.') && value.split('.').all(ident) && !value.chars().any(|c| c.is_ascii_digit());
    let keep = path
        || nss
        || constant
        || dotted
        || value.chars().count() < min_bare
        || code_like(value, sep, &lname)
        || plain_url(value);
    (!keep && secret(value)).then(|| format!("{name}{sep}{REDACTED}{tail}"))
}

/// The lookup sources of nsswitch.conf.
const NSS_SOURCES: [&str; 12] =
    ["files", "compat", "systemd", "sss", "ldap", "nis", "nisplus", "winbind", "db", "cache", "altfiles", "extrausers"];

/// Name endings that make an assignment a setting about a secret rather than the secret.
const ABOUT_A_SECRET: [&str; 22] = [
    "_timeout",
    "_length",
    "_len",
    "_ttl",
    "_expiry",
    "_expires",
    "_age",
    "_count",
    "_file",
    "_path",
    "_dir",
    "_field",
    "_name",
    "_url",
    "_uri",
    "_endpoint",
    "_hint",
    "_policy",
    "_type",
    "_header",
    "_prompt",
    "_label",
];

/// Whether the name in a `name: X` / `"name": "X"` match ends like one about a secret.
fn about_a_secret_name(m: &str) -> bool {
    let after = m.split_once("name").map_or(m, |(_, r)| r);
    let name: String = after
        .trim_start_matches(|c: char| c == '"' || c == '\'' || c == ':' || c.is_whitespace())
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase()
        .replace('-', "_");
    setting_about_a_secret(&name, false)
}

/// Whether a setting's name (`<add key="PasswordMinLength" …`) ends like one about a secret.
fn about_a_secret(name: &str) -> bool {
    // the quoted text after `key=` or `name=`
    let parts: Vec<&str> = name.split(['"', '\'']).collect();
    let named = |w: &&[&str]| {
        let t = w[0].trim_end().trim_end_matches('=').trim_end().to_ascii_lowercase();
        t.ends_with("key") || t.ends_with("name")
    };
    let key = parts.windows(2).find(named).map_or(name, |w| w[1]).to_ascii_lowercase();
    setting_about_a_secret(&key, true)
}

/// Whether a lower-cased name ends like a setting about a secret (`password_reset_timeout`,
/// `token_url`); with `run_together`, also without the underscore (`secretname`,
/// `passwordminlength`).
fn setting_about_a_secret(lname: &str, run_together: bool) -> bool {
    ABOUT_A_SECRET.iter().any(|s| lname.ends_with(s) || run_together && lname.ends_with(&s[1..]))
}

/// A URL with no credentials in it (`https://oauth2.googleapis.com/token`): an endpoint.
fn plain_url(v: &str) -> bool {
    (v.starts_with("https://") || v.starts_with("http://")) && !v.contains('@')
}

/// A bare value up to a literal `\n`, `\r` or `\t` escape (in JSON-escaped text the line ends
/// there), and what follows it, which stays.
fn before_escape(v: &str) -> (&str, &str) {
    let end = ["\\n", "\\r", "\\t"].iter().filter_map(|e| v.find(e)).min().unwrap_or(v.len());
    v.split_at(end)
}

/// What a [`HEADER_LINE`] match comes to when its value is a secret: the replacement of the match
/// up to the end of its value, and where the value ends within the rest of the line (scanning
/// goes on from there: one line can hold several headers, as minified JSON does). `None` leaves
/// the match as it is.
fn header_value(c: &Captures, rest: &str) -> Option<(String, usize)> {
    let (prefix, name, sep, open) = (&c[1], &c[2], &c[3], &c[4]);
    if rest.is_empty() {
        return None;
    }
    // `pkg-auth-plugin:amd64` (dpkg) is no header: a header line has a space after its colon or
    // quotes around its name or value, unless the name is a standard one
    let shaped = sep.ends_with([' ', '\t']) || sep.starts_with(['"', '\'', '\\']) || !open.is_empty();
    if !header_like(name) || !(shaped || standard_header(name)) {
        return None;
    }
    // the value ends at its closing quote (its own, or the one the line sits in: curl -H "…"),
    // else at the end of the line (or a `\n` escape, in JSON-escaped text)
    let line_end = ["\\n", "\\r"].iter().filter_map(|e| rest.find(e)).min().unwrap_or(rest.len());
    let quote = open.chars().last().or(prefix.chars().next().filter(|q| ['"', '\''].contains(q)));
    let end = match quote {
        Some(_) if open.starts_with('\\') => rest.find(open),
        Some(q) => closing(rest, q),
        None => None,
    }
    .unwrap_or(rest.len())
    .min(line_end);
    // in JSON-escaped text (the line began at a `\n` escape) the string the line sits in ends at
    // its closing quote: the value never runs past it into the JSON around the string
    let end = match prefix.starts_with('\\') {
        true => end.min(closing(rest, '"').unwrap_or(rest.len())),
        false => end,
    };
    let value = &rest[..end];
    if value.trim().is_empty() || prose(value) || interpolated(value) || interpolated(&rest[..line_end]) {
        return None;
    }
    let lname = name.to_ascii_lowercase();
    let word = |s: &str| s.find(char::is_whitespace).unwrap_or(s.len());
    let first = word(value);
    let after_first = &value[first..];
    let gap = after_first.len() - after_first.trim_start().len();
    let scheme = &value[..first];
    let is_scheme = first <= 24
        && scheme.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        && scheme.chars().next().is_some_and(|ch| ch.is_ascii_alphabetic())
        && !after_first.trim().is_empty();
    // a cookie's value is all of it; so is an Authorization with parameters (Digest, AWS4,
    // OAuth 1): `Digest username="…", response="…"`; any other value is one word after its
    // scheme, or its first word
    if lname.contains("cookie") {
        // `"cookie": "^0.7.1"` in a package.json or `npm view` output is a dependency's range
        if version(value) {
            return None;
        }
        let out = cookies(value, lname.starts_with("set-"));
        return (out != value).then(|| (format!("{prefix}{name}{sep}{open}{out}"), end));
    }
    let (keep, len) = if is_scheme {
        let credential = &value[first + gap..];
        let params = credential.trim_end().trim_end_matches('=').contains(['=', ',']);
        (first + gap, if params { credential.trim_end().len() } else { word(credential) })
    } else if type_name(value) || code_like(&value[..first], sep, &lname) {
        return None;
    } else {
        (0, first)
    };
    // `'Bearer ' + token`: the scheme alone, the token added in code
    if !is_scheme && SCHEMES.contains(&value.trim().to_ascii_lowercase().as_str()) {
        return None;
    }
    let (head, secret_part, tail) = (&value[..keep], &value[keep..keep + len], &value[keep + len..]);
    secret(secret_part).then(|| (format!("{prefix}{name}{sep}{open}{head}{REDACTED}{tail}"), end))
}

/// Authorization schemes, which alone are no credential.
const SCHEMES: [&str; 6] = ["bearer", "basic", "token", "digest", "negotiate", "apikey"];

/// A value built in code from a variable: `f"Bearer {token}"`, `` `Bearer ${token}` ``,
/// `"Bearer " + token`.
fn interpolated(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with("f\"") || v.starts_with("f'") || v.starts_with('`') || v.contains("${") || {
        let quoted_then_plus =
            |q: char| v.starts_with(q) && v[1..].find(q).is_some_and(|i| v[1 + i + 1..].trim_start().starts_with('+'));
        quoted_then_plus('"') || quoted_then_plus('\'')
    }
}

/// A cookie string with every cookie's value redacted and its name kept (`session=[REDACTED];
/// theme=[REDACTED]`); in a `Set-Cookie` value the attributes after the cookie (`Path=/`,
/// `HttpOnly`) stay too. A part with no name is redacted whole.
fn cookies(value: &str, set_cookie: bool) -> String {
    const ATTRIBUTES: [&str; 9] =
        ["path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority", "partitioned"];
    let mut out = String::with_capacity(value.len());
    for (i, part) in value.split(';').enumerate() {
        if i > 0 {
            out.push(';');
        }
        let body = part.trim();
        let lead = &part[..part.len() - part.trim_start().len()];
        let trail = &part[lead.len() + body.len()..];
        let (name, v) = body.split_once('=').unwrap_or(("", body));
        let attribute = set_cookie && i > 0 && ATTRIBUTES.contains(&name.trim().to_ascii_lowercase().as_str())
            || set_cookie && i > 0 && name.is_empty() && ATTRIBUTES.contains(&v.to_ascii_lowercase().as_str());
        out.push_str(lead);
        if attribute || !secret(v) {
            out.push_str(body);
        } else if name.is_empty() {
            out.push_str(REDACTED);
        } else {
            out.push_str(name);
            out.push('=');
            out.push_str(REDACTED);
        }
        out.push_str(trail);
    }
    out
}

/// Applies [`HEADER_LINE`] as many times as a line holds headers: each match is judged up to the
/// end of its value, and the search goes on after it (a regex replacement would take the whole
/// line with the first match and never see `"Cookie": …` after `"Authorization": …`).
fn header_lines(text: &mut String) -> usize {
    let mut out = String::new();
    let (mut copied, mut at, mut n) = (0, 0, 0);
    while at <= text.len() {
        let Some(c) = HEADER_LINE.captures_at(text, at) else { break };
        let whole = c.get(0).expect("match");
        let sep_end = c.get(3).expect("separator").end();
        // the value: the rest of the line, at most 64 KB of it
        let rest_start = whole.end();
        let window = &text[rest_start..text.floor_char_boundary(rest_start.saturating_add(64 * 1024))];
        let rest = &window[..memchr::memchr2(b'\n', b'\r', window.as_bytes()).unwrap_or(window.len())];
        match header_value(&c, rest) {
            Some((replacement, end)) => {
                out.push_str(&text[copied..whole.start()]);
                out.push_str(&replacement);
                copied = rest_start + end;
                n += 1;
                at = copied.max(sep_end);
            }
            // not a secret here: go on from its separator, so a header inside its value is seen
            None => at = sep_end,
        }
    }
    if n > 0 {
        out.push_str(&text[copied..]);
        *text = out;
    }
    n
}

/// Where an unescaped `q` closes a quoted value in `s`.
fn closing(s: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, ch) in s.char_indices() {
        match ch {
            '\\' if !escaped => escaped = true,
            c if c == q && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// A value that reads as a sentence (a glossary's `Session-Token: the token a login returns`):
/// it starts with a plain lower-case word, and three of its first five words are such words.
fn prose(value: &str) -> bool {
    let plain = |w: &str| w.len() <= 12 && w.chars().all(|c| c.is_ascii_lowercase());
    let words: Vec<&str> = value.split_whitespace().take(5).collect();
    words.len() >= 4 && words.first().is_some_and(|w| plain(w)) && words.iter().filter(|w| plain(w)).count() >= 3
}

/// A type in a declaration (`authorization: string;`, `password: Optional[str]`).
fn type_name(value: &str) -> bool {
    let t = value.trim().trim_end_matches([';', ',', '?', '|', '=']).trim();
    matches!(
        t,
        "string"
            | "str"
            | "String"
            | "&str"
            | "number"
            | "int"
            | "integer"
            | "bool"
            | "boolean"
            | "bytes"
            | "any"
            | "unknown"
            | "object"
            | "Object"
            | "SecretStr"
            | "None"
            | "null"
            | "undefined"
    ) || ["Optional[", "Option<", "string |", "str |", "string|"].iter().any(|p| t.starts_with(p))
}

/// A version or a requirement (`==3.3.3`, `^3.400.0`, `1.2.0`): a package's, not a secret.
fn version(value: &str) -> bool {
    let v = value.trim_start_matches(['=', '^', '~', '<', '>', '!', 'v', ' ']);
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.contains('.')
        && v.split(['.', '-', '+']).next().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn email(value: &str) -> bool {
    value.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && !user.contains(char::is_whitespace) && host.contains('.') && !host.contains(['@', ' '])
    })
}

/// Whether a query parameter's value is a secret, by its name (and, for `code`, its shape).
fn secret_param(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    is_secret_header(&n)
        || matches!(n.as_str(), "sig" | "pass" | "pw" | "pwd" | "passwd" | "x-amz-credential")
        || (n == "code" && generated(value))
}

/// A secret header's name as it appears in a header line: hyphenated (`X-Api-Key`) or one of the
/// standard one-word names. (`Key: the main idea` in prose is not a header.)
fn header_like(name: &str) -> bool {
    is_secret_header(name)
        && (name.contains('-')
            || ["authorization", "cookie", "apikey", "api_key"].contains(&name.to_ascii_lowercase().as_str()))
}

/// A value in code rather than a secret: a call or an index (`get_password()`,
/// `request.form['password']`), a dotted path (`self.secret`, `process.env.API_KEY`), a
/// comparison (`SecretStorage==3.3.3`), a version, an email, a type, or a variable named after
/// the secret (`self.password = password`).
fn code_like(value: &str, sep: &str, name: &str) -> bool {
    let ident = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    let dotted = value.split_once('.').is_some_and(|(root, _)| CODE_ROOTS.contains(&root))
        && value.trim_end_matches([',', ';']).split('.').all(ident);
    let lower = value.to_ascii_lowercase();
    let named = !sep.ends_with(['"', '\''])
        && ident(value)
        && ["password", "passwd", "secret", "token", "key", "auth", "credential"]
            .iter()
            .any(|w| lower.contains(w) && name.contains(w));
    let keyword = CODE_WORDS.contains(&value);
    value.contains(['(', '['])
        || value.starts_with('{')
        || keyword
        || dotted
        || named
        || value.starts_with('=')
        || sep.trim_end().ends_with("==")
        || version(value)
        || email(value)
        || type_name(value)
}

/// Words that start an expression in code (`const secret = await getSecret()`), never a secret.
const CODE_WORDS: [&str; 14] = [
    "await",
    "async",
    "new",
    "function",
    "lambda",
    "require",
    "yield",
    "typeof",
    "not",
    "nil",
    "undefined",
    "None",
    "null",
    "this",
];

/// Objects a dotted value in code starts from (`process.env.X`, `self.token`, `config.secret`).
const CODE_ROOTS: [&str; 18] = [
    "process",
    "self",
    "this",
    "os",
    "config",
    "settings",
    "env",
    "window",
    "globalThis",
    "import",
    "ctx",
    "context",
    "request",
    "req",
    "options",
    "opts",
    "props",
    "cfg",
];

/// Letters only, yet not a word a sentence about a password goes on with (`the password is
/// correcthorsebatterystaple`, `… was HunterTwo`, not `… is incorrect` or `… was successfully
/// changed`): twelve letters or more without an English ending, or a capital inside.
fn passphrase(value: &str) -> bool {
    const ENDINGS: [&str; 16] = [
        "ly", "ed", "ing", "able", "ible", "tion", "sion", "ment", "ent", "ant", "ive", "ous", "ful", "less", "ary",
        "ory",
    ];
    let letters = value.chars().all(|c| c.is_alphabetic());
    let inner_capital = value.chars().skip(1).any(char::is_uppercase) && value.chars().any(char::is_lowercase);
    let lower = value.to_lowercase();
    let long = value.chars().count() >= 12 && !ENDINGS.iter().any(|e| lower.ends_with(e));
    letters && (long || inner_capital && value.chars().count() >= 6)
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
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "null"
                | "none"
                | "true"
                | "false"
                | "undefined"
                | "***"
                | "xxx"
                | "required"
                | "optional"
                | "hidden"
                | "empty"
        )
        && !v.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '.' || c == '<' || c == '>')
        && !env_reference(v)
        && !v.starts_with("{{")
        && !v.starts_with('<')
}

/// `$NAME`, `${NAME}`, `$(cmd)`, `$1`: a reference to a secret, not the secret (`$ecret!` is one).
fn env_reference(v: &str) -> bool {
    v.strip_prefix('$').is_some_and(|r| {
        r.starts_with(['{', '(']) || r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !r.is_empty()
    })
}

/// Redacts the flows of one load. Agent captures repeat their history in every request, so the
/// same block text arrives again and again: a text found clean is remembered (by a keyed hash and
/// its length) and not scanned twice. A text that held a secret is scanned each time.
#[derive(Default)]
pub struct Redactor {
    clean: std::collections::HashSet<(u64, usize)>,
    hasher: std::hash::RandomState,
}

impl Redactor {
    /// Texts shorter than this are scanned every time (remembering them costs about as much).
    const REMEMBER_FROM: usize = 512;

    /// [`redact`], skipping a long text already found clean.
    pub fn text(&mut self, text: &mut String) -> usize {
        use std::hash::BuildHasher;
        if text.len() < Self::REMEMBER_FROM {
            return redact(text);
        }
        let key = (self.hasher.hash_one(text.as_str()), text.len());
        if self.clean.contains(&key) {
            return 0;
        }
        let n = redact(text);
        if n == 0 {
            self.clean.insert(key);
        }
        n
    }

    /// Redacts every string of a flow; returns how many secrets were replaced.
    pub fn flow(&mut self, f: &mut Flow) -> usize {
        let mut n = 0;
        let mut messages = |msgs: &mut Vec<Message>| {
            for m in msgs {
                for b in &mut m.blocks {
                    n += self.text(&mut b.text);
                    for s in [&mut b.tool_name, &mut b.tool_id].into_iter().flatten() {
                        n += redact(s);
                    }
                    // a file's name, in a folder, may hold a secret too
                    n += redact(&mut b.location.file) + redact(&mut b.location.path);
                }
            }
        };
        messages(&mut f.messages);
        if let Some(r) = &mut f.recorded {
            messages(r);
        }
        messages(&mut f.response);
        for (name, value) in &mut f.headers {
            n += redact(name);
            if is_secret_header(name) && value.as_str() != REDACTED && !value.is_empty() {
                *value = REDACTED.to_string();
                n += 1;
            } else {
                n += redact(value);
            }
        }
        for s in [&mut f.url, &mut f.model, &mut f.timestamp].into_iter().flatten() {
            n += redact(s);
        }
        n += redact(&mut f.location.file) + redact(&mut f.location.path);
        for t in &mut f.transforms {
            n += redact(t);
        }
        n
    }
}

/// Redacts a problem's reason (a reason may quote the input).
pub fn problem(p: &mut Problem) -> usize {
    redact(&mut p.reason) + redact(&mut p.location.file) + redact(&mut p.location.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> (String, usize) {
        let mut t = s.to_string();
        let n = redact(&mut t);
        (t, n)
    }

    /// Each input redacts to exactly its expected text, replacing at least one secret.
    fn redacts_each(cases: &[(&str, &str)]) {
        for &(input, want) in cases {
            let (got, n) = r(input);
            assert_eq!(got, want, "{input}");
            assert!(n >= 1, "{input}");
        }
    }

    /// Each text comes back unchanged, with nothing counted as redacted.
    fn stays_each(texts: &[&str]) {
        for &s in texts {
            let (got, n) = r(s);
            assert_eq!((got.as_str(), n), (s, 0), "{s}");
        }
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
            ("curl -H \"Cookie: session=abcdef0123\" url", "curl -H \"Cookie: session=[REDACTED]\" url"),
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
        redacts_each(&cases);
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
            // a plain `sk-` glued to a word is a word (`task-`, `disk-`)
            "/dev/disk-by-uuid-0123456789abcdefghij",
            "task-runner-0123456789abcdefghij-worker",
            "PWM: 12",
        ] {
            assert_eq!(r(s), (s.to_string(), 0), "{s}");
        }
    }

    #[test]
    fn forms_a_hostile_tester_found_leaking_are_redacted() {
        let cases = [
            (r#"{"Authorization": "Basic dXNlcjpwYXNz"}"#, r#"{"Authorization": "Basic [REDACTED]"}"#),
            ("headers = {'X-Api-Key': 'abc123def456'}", "headers = {'X-Api-Key': '[REDACTED]'}"),
            (
                "Authorization: Digest username=\"bob\", realm=\"x\", response=\"6629fae49393a05397450978507c4ef1\"",
                "Authorization: Digest [REDACTED]",
            ),
            (
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
                "Authorization: AWS4-HMAC-SHA256 [REDACTED]",
            ),
            (
                "Authorization: SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=",
                "Authorization: SharedKey [REDACTED]",
            ),
            (
                "alice,,AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,https://x",
                "alice,,[REDACTED],[REDACTED],https://x",
            ),
            ("curl -u admin:s3cretPw https://x", "curl -u admin:[REDACTED] https://x"),
            ("redis-cli -h h -a RedisPw99 ping", "redis-cli -h h -a [REDACTED] ping"),
            ("docker login -u me -p DockerPw77 reg.io", "docker login -u me -p [REDACTED] reg.io"),
            ("sshpass -p 'SshPw55' ssh host", "sshpass -p '[REDACTED]' ssh host"),
            ("machine api.x.io login bob password NetrcPw1", "machine api.x.io login bob password [REDACTED]"),
            (
                "machine api.x.io\n  login bob\n  password NetrcPw2\n",
                "machine api.x.io\n  login bob\n  password [REDACTED]\n",
            ),
            ("postgres://u:p@ss/w0rd@db:5432/x", "postgres://u:[REDACTED]@db:5432/x"),
            (
                "https://x.io/f?X-Amz-Credential=AKIDEX%2F2015&sig=abcdef123",
                "https://x.io/f?X-Amz-Credential=[REDACTED]&sig=[REDACTED]",
            ),
            ("https://app/cb?code=4a8f9c2e7b1d&state=ok", "https://app/cb?code=[REDACTED]&state=ok"),
            ("DB_PASS=hunter2", "DB_PASS=[REDACTED]"),
            ("export STRIPE_KEY=abc", "export STRIPE_KEY=[REDACTED]"),
            ("password=ab1x", "password=[REDACTED]"),
            ("password: \"correct horse battery staple\"", "password: \"[REDACTED]\""),
            ("password=$ecret!", "password=[REDACTED]"),
            (r#"log: \nsk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 end"#, r#"log: \n[REDACTED] end"#),
            (r#"text\nAuthorization: Bearer abc123xyz\n"#, r#"text\nAuthorization: Bearer [REDACTED]\n"#),
            (r#"x\nBearer abc123xyz"#, r#"x\nBearer [REDACTED]"#),
        ];
        redacts_each(&cases);
        let (ssh2, _) = r(
            "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nP2/56wAAAi4AAAA3aWYtbW9kbnt\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n",
        );
        assert!(!ssh2.contains("P2/56"), "{ssh2}");
        let (putty, _) = r(
            "PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 2\nAAABAQCm1ZJ8Yp0dEYQb\nAAAAgQDl3RKy4PMv\nPrivate-MAC: 0123abcd\n",
        );
        assert!(putty.ends_with("\nPrivate-Lines: 2\n[REDACTED]\n[REDACTED]\nPrivate-MAC: 0123abcd\n"), "{putty}");
    }

    #[test]
    fn a_second_review_s_leaks_are_redacted() {
        let cases = [
            (
                r#"{"headers": {"Authorization": "Bearer Zx9Cv8Bn7Mm6Ll5Kk4Jj3", "Cookie": "session=Pp0Oo9Ii8Uu7Yy6Tt5Rr4; csrftoken=Ee3Ww2Qq1"}}"#,
                r#"{"headers": {"Authorization": "Bearer [REDACTED]", "Cookie": "session=[REDACTED]; csrftoken=[REDACTED]"}}"#,
            ),
            (
                r#"{"password": "Qw8Er7Ty6Ui5Op4As3", "Authorization": "I9lO7F3vlfFrGYJ3Gx02"}"#,
                r#"{"password": "[REDACTED]", "Authorization": "[REDACTED]"}"#,
            ),
            (
                r#"{"stdout": "starting\nDB_PASSWORD=xyz123\ndone"}"#,
                r#"{"stdout": "starting\nDB_PASSWORD=[REDACTED]\ndone"}"#,
            ),
            (
                "git clone https://fS2UxFBJ4yXJ5PquTw9k@github.com/o/r.git",
                "git clone https://[REDACTED]@github.com/o/r.git",
            ),
            (
                "dsn https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/5",
                "dsn https://[REDACTED]@o1.ingest.sentry.io/5",
            ),
            ("client GOCSPX-abcdefghijklmnopqrstuvwx", "client [REDACTED]"),
            ("vault hvs.CAESIJabcdefghijklmnopqrstuv", "vault [REDACTED]"),
            ("define('DB_PASSWORD', 'mrxhQ91z');", "define('DB_PASSWORD', '[REDACTED]');"),
            ("<password>Xml5ecret</password>", "<password>[REDACTED]</password>"),
            ("PASSWORD := \"GoPass99\"", "PASSWORD := \"[REDACTED]\""),
            ("'password' => 'RubyPass77',", "'password' => '[REDACTED]',"),
            ("Endpoint=x;AccountKey=abcdEFGH1234ijklMNOP5678qrstUVWX==;", "Endpoint=x;AccountKey=[REDACTED];"),
        ];
        redacts_each(&cases);
    }

    #[test]
    fn a_third_review_s_leaks_are_redacted() {
        let cases = [
            (
                "curl -b \"session=abc123; theme=x9\" https://x",
                "curl -b \"session=[REDACTED]; theme=[REDACTED]\" https://x",
            ),
            ("curl --cookie sid=s3cr3t https://x", "curl --cookie sid=[REDACTED] https://x"),
            ("az login -u me@x.io -p Hunter2Secret!", "az login -u me@x.io -p [REDACTED]"),
            ("vault login s.Wx8Qk2Lm9Zt4Rb7Yc1Vn", "vault login [REDACTED]"),
            ("vault login -no-print s.Wx8Qk2Lm9Zt4", "vault login -no-print [REDACTED]"),
            ("htpasswd -b /etc/.htpasswd admin S3cretPass99", "htpasswd -b /etc/.htpasswd admin [REDACTED]"),
            ("htpasswd -nbB admin S3cretPass99\r\nnext", "htpasswd -nbB admin [REDACTED]\r\nnext"),
            ("openssl enc -pass pass:MyPw42 -in a", "openssl enc -pass pass:[REDACTED] -in a"),
            ("openssl pkcs12 -passout pass:Exp777 -out c", "openssl pkcs12 -passout pass:[REDACTED] -out c"),
            ("tool -password Plain0ldPw", "tool -password [REDACTED]"),
            ("Password:\n  Hunter2NextLine\n", "Password:\n  [REDACTED]\n"),
            ("- name: API_KEY\n  value: k8sSecret123\n", "- name: API_KEY\n  value: [REDACTED]\n"),
            ("- name: DB_PASSWORD\n  value: \"pw 1\"", "- name: DB_PASSWORD\n  value: \"[REDACTED]\""),
            (
                r#"{"name": "STRIPE_SECRET", "value": "abc\"def"}"#,
                r#"{"name": "STRIPE_SECRET", "value": "[REDACTED]"}"#,
            ),
            ("<add key=\"ApiKey\" value=\"dotnet998\" />", "<add key=\"ApiKey\" value=\"[REDACTED]\" />"),
            ("Passwort: Geheim1", "Passwort: [REDACTED]"),
            ("mot de passe : MonSecret", "mot de passe : [REDACTED]"),
            ("пароль: секрет123", "пароль: [REDACTED]"),
            ("密码：mima12345", "密码：[REDACTED]"),
            ("my api key is 9f8e7d6c5b4a3928", "my api key is [REDACTED]"),
            ("Set-Cookie: sid=abc; Path=/; HttpOnly", "Set-Cookie: sid=[REDACTED]; Path=/; HttpOnly"),
            // found by the third review: tabs, `=`, quotes around the line, other tools' flags
            ("curl\t-b\tsession=X9\thttps://x", "curl\t-b\tsession=[REDACTED]\thttps://x"),
            ("az login -u me -p=Pw99x", "az login -u me -p=[REDACTED]"),
            ("openssl enc -k Kpw123 -in a", "openssl enc -k [REDACTED] -in a"),
            ("keytool -storepass Sp1x -keypass Kp2y", "keytool -storepass [REDACTED] -keypass [REDACTED]"),
            (r#"{"t":"Passwort: Gx1"}"#, r#"{"t":"Passwort: [REDACTED]"}"#),
            (r#"{"t":"my api key is 9f8e7d6c5b"}"#, r#"{"t":"my api key is [REDACTED]"}"#),
            ("My API key is: 9f8e7d6c5b4a", "My API key is: [REDACTED]"),
        ];
        redacts_each(&cases);
    }

    #[test]
    fn a_fourth_review_s_leaks_are_redacted() {
        let cases = [
            // JSON text inside a plain-text line: the secret sits behind a `\n` escape or inside `\"…\"`
            (r#"log {"msg":"Password:\nHunter2X9"}"#, r#"log {"msg":"Password:\n[REDACTED]"}"#),
            (r#"{"env":"- name: API_KEY\n  value: k8sJson77"}"#, r#"{"env":"- name: API_KEY\n  value: [REDACTED]"}"#),
            (
                r#"{"cmd":"curl -b \"session=cb77x\" https://x"}"#,
                r#"{"cmd":"curl -b \"session=[REDACTED]\" https://x"}"#,
            ),
            (
                r#"{"cfg":"<add key=\"ApiKey\" value=\"net77x\" />"}"#,
                r#"{"cfg":"<add key=\"ApiKey\" value=\"[REDACTED]\" />"}"#,
            ),
            (
                r#"{"td":"{\"name\":\"DB_PASSWORD\",\"value\":\"ecs77x\"}"}"#,
                r#"{"td":"{\"name\":\"DB_PASSWORD\",\"value\":\"[REDACTED]\"}"}"#,
            ),
            // escaped twice (a request body inside a HAR inside a log line)
            (r#"{"har":"{\"body\":\"Password:\\nTwice77x\"}"}"#, r#"{"har":"{\"body\":\"Password:\\n[REDACTED]\"}"}"#),
            // a quoted value with a space after a letter flag
            ("docker login -u me -p \"SEK abc\" x", "docker login -u me -p \"[REDACTED]\" x"),
            ("sshpass -p 'two words' ssh h", "sshpass -p '[REDACTED]' ssh h"),
            ("tool --password \"a b c\" next", "tool --password \"[REDACTED]\" next"),
            // the value before the name
            (r#"{"value":"ecsFirst7","name":"DB_PASSWORD"}"#, r#"{"value":"[REDACTED]","name":"DB_PASSWORD"}"#),
            ("<add value=\"valFirst7\" key=\"ApiKey\" />", "<add value=\"[REDACTED]\" key=\"ApiKey\" />"),
            ("<add key='ApiKey' value='singleQ7' />", "<add key='ApiKey' value='[REDACTED]' />"),
            // Kubernetes: flow style, lower-case names, block scalars
            ("env: [{name: API_KEY, value: flowK8s7}]", "env: [{name: API_KEY, value: [REDACTED]}]"),
            ("- name: api_key\n  value: lowerK8s7\n", "- name: api_key\n  value: [REDACTED]\n"),
            (
                "  - name: TLS_KEY\n    value: |\n      blockLine1\n      blockLine2\n  - name: LOG\n    value: x\n",
                "  - name: TLS_KEY\n    value: |\n      [REDACTED]\n      [REDACTED]\n  - name: LOG\n    value: x\n",
            ),
            // prose and tables
            ("here's my api key 9f8e7d6c5b4a", "here's my api key [REDACTED]"),
            ("the api key = 9f8e7d6c5b4a", "the api key = [REDACTED]"),
            ("user\tbob\npassword\tTabPw77\n", "user\tbob\npassword\t[REDACTED]\n"),
            (
                "Password for 'https://me@github.com':\nGitPw77x\n",
                "Password for 'https://me@github.com':\n[REDACTED]\n",
            ),
        ];
        redacts_each(&cases);
    }

    #[test]
    fn a_remembered_clean_text_is_skipped_and_a_secret_is_found_every_time() {
        let mut r = Redactor::default();
        let clean = "an ordinary tool output line\n".repeat(40);
        let dirty = format!("{clean}password = Hunter2Again\n");
        for _ in 0..3 {
            let (mut c, mut d) = (clean.clone(), dirty.clone());
            assert_eq!(r.text(&mut c), 0);
            assert_eq!(c, clean);
            assert_eq!(r.text(&mut d), 1);
            assert!(!d.contains("Hunter2Again"), "{d}");
        }
        assert_eq!(r.clean.len(), 1);
    }

    #[test]
    fn a_fourth_review_s_second_round_is_redacted() {
        let long = "Q".repeat(300);
        let cases = [
            // an escaped quote inside the value: all of it goes, and the JSON stays valid
            (r#"{"password":"ab\"cd1234xyz"}"#.to_string(), r#"{"password":"[REDACTED]"}"#.to_string()),
            (r#"{"cmd":"mysql -p\"hunter 2xyz\" db"}"#.into(), r#"{"cmd":"mysql -p\"[REDACTED]\" db"}"#.into()),
            (
                r#"{"cmd":"DB_PASSWORD=\"hunter 2xyz\" ./run"}"#.into(),
                r#"{"cmd":"DB_PASSWORD=\"[REDACTED]\" ./run"}"#.into(),
            ),
            // long values
            (format!("password = \"{long}9\""), "password = \"[REDACTED]\"".into()),
            (format!("X-Api-Key: {}END9", "a".repeat(5000)), "X-Api-Key: [REDACTED]".into()),
        ];
        for (input, want) in cases {
            let (got, n) = r(&input);
            assert_eq!(got, want, "{input}");
            assert!(n >= 1, "{input}");
            if input.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(&got).expect("still JSON");
            }
        }
        let cookies: String = (0..250).map(|i| format!("c{i}=v{i}abcdef{i:04}; ")).collect();
        let (got, _) = r(&format!("Cookie: {cookies}\n"));
        assert!(!got.contains("abcdef"), "{got}");
    }

    #[test]
    fn a_fourth_review_s_third_round_is_redacted() {
        let cases = [
            ("[sudo] password for bob:\nHunter2xyz\n", "[sudo] password for bob:\n[REDACTED]\n"),
            ("bob@host's password:\nHunter2xyz\n", "bob@host's password:\n[REDACTED]\n"),
            (
                "Password for \"https://bob@github.com\":\nHunter2xyz\n",
                "Password for \"https://bob@github.com\":\n[REDACTED]\n",
            ),
            ("Password:\n\nHunter2xyz\n", "Password:\n\n[REDACTED]\n"),
            ("- name: dbPassword\n  value: hunter2xyz\n", "- name: dbPassword\n  value: [REDACTED]\n"),
            ("- name: Db_Password\n  value: hunter2xyz\n", "- name: Db_Password\n  value: [REDACTED]\n"),
            (
                "- name: API_KEY\n  # rotated monthly\n  value: hunter2xyz\n",
                "- name: API_KEY\n  # rotated monthly\n  value: [REDACTED]\n",
            ),
            ("curl -su bob:hunter2xyz https://x", "curl -su bob:[REDACTED] https://x"),
            ("redis-cli -h x AUTH hunter2xyz", "redis-cli -h x AUTH [REDACTED]"),
            ("password：hunter2xyz", "password：[REDACTED]"),
            (
                r#"<add key="DbPassword" xdt:Transform="Replace" value="hunter2xyz"/>"#,
                r#"<add key="DbPassword" xdt:Transform="Replace" value="[REDACTED]"/>"#,
            ),
            (r#"<add key="SmtpPass" value="hunter2xyz"/>"#, r#"<add key="SmtpPass" value="[REDACTED]"/>"#),
            (
                r#"{"name":"DB_PASSWORD","type":"plain","value":"hunter2xyz"}"#,
                r#"{"name":"DB_PASSWORD","type":"plain","value":"[REDACTED]"}"#,
            ),
            (
                r#"{"value":"hunter2xyz","type":"plain","name":"DB_PASSWORD"}"#,
                r#"{"value":"[REDACTED]","type":"plain","name":"DB_PASSWORD"}"#,
            ),
            ("SSHPASS=hunter2xyz sshpass -e ssh h", "SSHPASS=[REDACTED] sshpass -e ssh h"),
            ("REDISCLI_AUTH=hunter2xyz redis-cli", "REDISCLI_AUTH=[REDACTED] redis-cli"),
            // a bare `PW` as a dict key, quoted or not, and a provider key glued to a word
            ("{'ANT': 'x', 'PW': 'Passw0rdXyz'}", "{'ANT': 'x', 'PW': '[REDACTED]'}"),
            ("PW=Passw0rdXyz ./run", "PW=[REDACTED] ./run"),
            (r#"{"k":"x0sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv"}"#, r#"{"k":"x0[REDACTED]"}"#),
            ("tokensk-ant-api03-AbCdEfGhIjKlMnOpQrSt01", "token[REDACTED]"),
            ("use this key: abc123def456ghi", "use this key: [REDACTED]"),
            ("here is my api key \"abc123def456ghi\"", "here is my api key \"[REDACTED]\""),
        ];
        redacts_each(&cases);
    }

    #[test]
    fn piped_secrets_quotes_inside_values_colons_nbsp_and_tsv_columns_are_redacted() {
        let cases = [
            // a literal piped into a command that reads its secret from stdin
            (
                "echo hunter2xyz | docker login -u bob --password-stdin",
                "echo [REDACTED] | docker login -u bob --password-stdin",
            ),
            (
                "printf '%s' \"s3cr3t pw\" | podman login --password-stdin quay.io",
                "printf '%s' \"[REDACTED]\" | podman login --password-stdin quay.io",
            ),
            ("echo 'tok3nvalue' | gh auth login --with-token", "echo '[REDACTED]' | gh auth login --with-token"),
            ("echo Hunter2xyz | passwd --stdin bob", "echo [REDACTED] | passwd --stdin bob"),
            ("echo 'bob:Hunter2xyz' | chpasswd", "echo '[REDACTED]' | chpasswd"),
            ("echo \"secret11x\" | sudo -S apt-get install x", "echo \"[REDACTED]\" | sudo -S apt-get install x"),
            ("Password for user bob:\nNextSecret17\n", "Password for user bob:\n[REDACTED]\n"),
            ("<add key=\"ApiKey\" value='q\"wertySecret' />", "<add key=\"ApiKey\" value='[REDACTED]' />"),
            ("token:\u{2003}EmSpaceSecret1", "token:\u{2003}[REDACTED]"),
            // the other quote inside a .NET value
            ("<add key=\"DbPassword\" value=\"hunt'er2\" />", "<add key=\"DbPassword\" value=\"[REDACTED]\" />"),
            ("<add key='ApiKey' value='k3y9x' />", "<add key='ApiKey' value='[REDACTED]' />"),
            ("<add value=\"hunt'er2\" key=\"DbPassword\" />", "<add value=\"[REDACTED]\" key=\"DbPassword\" />"),
            // a colon in the value on the line after its prompt
            ("Password:\nhunt:er2x\n", "Password:\n[REDACTED]\n"),
            // a no-break space before the value
            ("password:\u{a0}Hunter2xyz", "password:\u{a0}[REDACTED]"),
            ("DB_PASSWORD=\u{a0}Hunter2xyz", "DB_PASSWORD=\u{a0}[REDACTED]"),
            ("my password is\u{a0}Hunter2xyz", "my password is\u{a0}[REDACTED]"),
            // a tab-separated table with a header row
            (
                "host\tuser\tpassword\ndb1\tbob\tHunter2xyz\ndb2\tann\ts3cr3t!\n",
                "host\tuser\tpassword\ndb1\tbob\t[REDACTED]\ndb2\tann\t[REDACTED]\n",
            ),
            ("name\tAPI Key\r\nstripe\tsk_live_abc123\r\n", "name\tAPI Key\r\nstripe\t[REDACTED]\r\n"),
        ];
        redacts_each(&cases);
        stays_each(&[
            // a variable piped in, a prompt followed by another label, a table of figures
            "echo $REGISTRY_PASSWORD | docker login --password-stdin",
            "echo \"$TOKEN\" | gh auth login --with-token",
            "Password:\nUsername:\n",
            "model\ttoken_count\tcost\ngpt-4o\t1200\t0.01\n",
            "user\ttoken\nbob\t12\n",
            "host\tuser\tpassword\ndb1\tbob\n",
            "password\thunter\nusername\tbob\n",
            "echo hello | grep --stdin-filter x",
        ]);
    }

    #[test]
    fn yaml_value_before_name_passphrases_after_a_prompt_and_letter_passwords_are_redacted() {
        let cases = [
            // YAML with `value:` before `name:`
            ("- value: Hunter2xyz\n  name: DB_PASSWORD\n", "- value: [REDACTED]\n  name: DB_PASSWORD\n"),
            ("- value: \"s3 cr3t\"\n  name: api_key\n", "- value: \"[REDACTED]\"\n  name: api_key\n"),
            (
                "env:\n  - value: 'tok en'\n    # rotated monthly\n    name: GITHUB_TOKEN\r\n",
                "env:\n  - value: '[REDACTED]'\n    # rotated monthly\n    name: GITHUB_TOKEN\r\n",
            ),
            // a passphrase with spaces on the line after a password prompt
            ("Password:\ncorrect horse battery staple\n", "Password:\n[REDACTED]\n"),
            (
                "Enter passphrase for key '/root/.ssh/id_ed25519':\n  my dog rex 42\n",
                "Enter passphrase for key '/root/.ssh/id_ed25519':\n  [REDACTED]\n",
            ),
            // a password of letters only in prose
            ("the password is correcthorsebatterystaple", "the password is [REDACTED]"),
            ("My password was HunterTwo, sorry", "My password was [REDACTED], sorry"),
        ];
        redacts_each(&cases);
        stays_each(&[
            // a setting about a secret, another item's name, a sentence or a heading after a label,
            // an English word after `the password is`
            "- value: \"12\"\n  name: PASSWORD_MIN_LENGTH\n",
            "- value: debug\n- name: API_KEY\n  valueFrom: {}\n",
            "Password:\nSee the admin for it.\n",
            "API Key:\nGo to Settings\n",
            "Password:\nabc\n",
            "the password is incorrect",
            "the password was successfully changed",
            "the password is configurable",
            "the password is Required",
        ]);
    }

    #[test]
    fn code_and_prose_that_looked_like_secrets_stay() {
        for s in [
            "self.password = password",
            "  authorization: string;",
            "apiKey: process.env.OPENAI_API_KEY,",
            "password = request.form['password']",
            "SecretStorage==3.3.3",
            "\"@aws-sdk/client-secrets-manager\": \"^3.400.0\",",
            "google-cloud-secret-manager = \"2.16.0\"",
            "author_email = \"kenneth1@reitz.example\"",
            "Session-Token: the value a login returns to the client",
            "Authorization: the process of deciding what a user may do",
            "https://example.com:8080/path@v1",
            "password: str",
            "PWD=/home/user/src",
            "cache_key = \"user:12345\"",
            "price = $PRICE",
            "const secret = await getSecret(\"db\");",
            "TOKEN_URL = \"https://oauth2.googleapis.com/token\"",
            "secret_name = \"prod/db\"",
            "PASSWORD_RESET_TIMEOUT = 259200",
            "SECRET_KEY_FILE=/run/secrets/django_key",
            "  --password PASSWORD   the database password",
            "passwd: files systemd",
            "shadow:         files",
            "{\"secret\": \"the secret to good bread is time and patience\"}",
            "vault login -method=userpass username=bob",
            "openssl enc -pass env:MY_PASS -in a",
            "curl -b cookies.txt https://x",
            "the token is expired",
            "password:\n  secretKeyRef:\n",
            "rustc --extern tokenizers=/t/release/deps/libtokenizers-9f1e2d3c4b5a6978.rlib",
            "--extern tiktoken_rs=/t/release/deps/libtiktoken_rs-6f1e2d3c4b5a6978.rlib",
            "- name: LOG_LEVEL\n  value: debug\n",
            "Sign in with your Passwort.",
            "{\"cookie\":\"^0.7.1\",\"cookie-signature\":\"~1.0.6\",\"cookie-parser\":\"1.4.7\"}",
            // a flag at the end of a line takes nothing from the next one
            "Run vault login\nThen check the output",
            "az login -p\nimportant_value = 1",
            "<add key=\"PasswordMinLength\" value=\"8\"/>",
            "<add key=\"ApiKeyHeaderName\" value=\"X-Api-Key\"/>",
            "Password: required",
            // found by the fourth review: code that builds a header, settings, headings, tables
            r#"headers = {"Authorization": f"Bearer {token}"}"#,
            "headers = {'Authorization': 'Bearer ' + token}",
            "Authorization: `Bearer ${token}`",
            "- name: token_count\n  value: 12345\n",
            "- name: PASSWORD_MIN_LENGTH\n  value: \"12\"\n",
            "secretName: my-tls-secret",
            "def login(username, password=DEFAULT_PW):",
            "password = bcrypt.hashpw",
            "Password:\n-------\n",
            "API Key:\nSettings\n",
            "token\tcount\n",
            "token\t12345\n",
            "docker login registry.io && docker run -p 8080:80 nginx",
            "Bearer authentication_required_for_this_endpoint.",
            // JSON text whose strings hold newlines and quotes but no secret stays byte for byte
            r#"{"msg":"line one\nline \"two\"\u00e9"}"#,
            "password\tstring\tthe user's password",
            "here's my api key rotation plan",
            "  - name: TLS_KEY\n    valueFrom:\n      secretKeyRef: {name: tls}\n",
        ] {
            assert_eq!(r(s), (s.to_string(), 0), "{s}");
        }
    }

    #[test]
    fn secrets_behind_unicode_and_slash_escapes_in_json_strings_are_redacted() {
        let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
        for (s, secret) in [
            (r#"{"key":"sk\u002dant\u002dapi03-abcdefghijklmnopqrstuvwxyz0123456789"}"#, "abcdefghijklmnopqrstuvwxyz"),
            (r#"{"k":"\u0073\u006b-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"}"#, "abcdefghijklmnopqrstuvwxyz"),
            (r#"{"db":"postgres:\/\/admin:Hunter2secret@db.internal:5432\/app"}"#, "Hunter2secret"),
        ] {
            let (out, n) = r(s);
            assert!(n >= 1 && !out.contains(secret), "{s} -> {out}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
            assert!(v.to_string().contains(REDACTED), "{out}");
        }
        // a newline written as `\u000a` separates a label from its secret as `\n` does
        let (out, n) = r(r#"{"log":"Password:\u000aHunter2secret9"}"#);
        assert!(n >= 1 && !out.contains("Hunter2secret9"), "{out}");
        // an escaped literal with nothing secret in it stays byte for byte
        let clean = r#"{"url":"https:\/\/example.com\/a","name":"caf\u00e9"}"#;
        assert_eq!(r(clean), (clean.to_string(), 0));
        assert!(!r(&format!("{{\"a\":\"{}\"}}", key.replace('-', "\\u002d"))).0.contains("abcdefghij"));
    }

    #[test]
    fn a_header_last_in_a_string_leaves_the_string_whole_at_every_depth_of_escaping() {
        // an `Authorization:` line last in a message string; a password that only its decoded
        // line shows (`\nmysql` reads as one word in the escaped text)
        let lines = "mysql -u root -pPw77secretX orders\nAuthorization: AWS4-HMAC-SHA256 Credential=AK/x, Signature=SIG99secret";
        let body = serde_json::json!({"messages": [{"role": "user", "content": lines}]}).to_string();
        let har = serde_json::json!({"postData": {"text": body}}).to_string();
        for (text, depth) in [(body.as_str(), 1), (har.as_str(), 2)] {
            let (out, n) = r(text);
            assert!(n >= 2 && !out.contains("Pw77secretX") && !out.contains("SIG99secret"), "{out}");
            // still JSON, down to the message
            let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
            for _ in 1..depth {
                v = serde_json::from_str(v["postData"]["text"].as_str().unwrap()).unwrap();
            }
            let content = v["messages"][0]["content"].as_str().unwrap();
            assert!(
                content.starts_with("mysql -u root -p[REDACTED] orders\nAuthorization: AWS4-HMAC-SHA256 "),
                "{content}"
            );
        }
    }

    #[test]
    fn a_har_s_base64_and_streamed_responses_are_read_as_its_loader_reads_them() {
        use base64::Engine;
        use serde_json::json;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let key = "sk-ant-api03-AbCdEf0123456789AbCdEf0123456789abcdef";
        let said = format!("the key {key} here");
        for har in [
            json!({"content": {"text": b64(&said), "encoding": "base64"}}).to_string(),
            json!({"content": {"encoding": "base64", "mimeType": "text/plain", "text": b64(&said)}}).to_string(),
        ] {
            let (out, n) = r(&har);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let text =
                base64::engine::general_purpose::STANDARD.decode(v["content"]["text"].as_str().unwrap()).unwrap();
            assert_eq!((String::from_utf8(text).unwrap().as_str(), n), ("the key [REDACTED] here", 1), "{har}");
        }
        // base64 of bytes that are no text stays as it is
        stays_each(&[r#"{"text": "/9j/4AAQSkZJRgABAQ==", "encoding": "base64"}"#]);
        // a stream as a response's text, a key split across its deltas
        let delta =
            |t: &str| json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}});
        let sse = format!("event: content_block_delta\ndata: {}\n\ndata: {}\n\n", delta(&key[..20]), delta(&key[20..]));
        let (out, n) = r(&json!({"content": {"mimeType": "text/event-stream", "text": sse}}).to_string());
        assert!(n >= 1 && !out.contains(&key[..20]) && !out.contains(&key[20..]), "{out}");
        assert!(out.contains(r#"\"text\":\"[REDACTED]\""#), "{out}");
    }

    #[test]
    fn a_har_s_name_value_objects_are_redacted_in_its_raw_text() {
        // what `compress --redact` reads: the HAR file's own text, not the loaded flows
        redacts_each(&[
            (
                r#"{"name": "Proxy-Authorization", "value": "Basic dXNlcjpodW50ZXIy"}"#,
                r#"{"name": "Proxy-Authorization", "value": "[REDACTED]"}"#,
            ),
            (r#"{"name":"sig","value":"Zm9vYmFy4567"}"#, r#"{"name":"sig","value":"[REDACTED]"}"#),
            (
                "{\n  \"value\": \"abc123; Path=/; HttpOnly\",\n  \"name\": \"Set-Cookie\"\n}",
                "{\n  \"value\": \"[REDACTED]\",\n  \"name\": \"Set-Cookie\"\n}",
            ),
            (
                r#"{"name": "X-Custom-Auth", "comment": "", "value": "hunter2"}"#,
                r#"{"name": "X-Custom-Auth", "comment": "", "value": "[REDACTED]"}"#,
            ),
            // in a `cookies` array every cookie's value goes, whatever its name
            (
                r#""cookies": [{"name": "theme", "value": "dark"}, {"name": "__Secure-next-auth.session-token", "value": "eyJhbGciOi.x.y", "path": "/", "httpOnly": true}], "headers": [{"name": "Accept", "value": "text/html"}]"#,
                r#""cookies": [{"name": "theme", "value": "[REDACTED]"}, {"name": "__Secure-next-auth.session-token", "value": "[REDACTED]", "path": "/", "httpOnly": true}], "headers": [{"name": "Accept", "value": "text/html"}]"#,
            ),
        ]);
        // ordinary headers and parameters, a setting about a secret, a placeholder, and a
        // name/value pair outside a cookies array stay
        stays_each(&[
            r#"{"name": "Content-Type", "value": "application/json"}"#,
            r#"{"name": "page", "value": "2"}, {"name": "theme", "value": "dark"}"#,
            r#"{"name": "token_url", "value": "https://example.com/oauth/token"}"#,
            r#"{"name": "Authorization", "value": "[REDACTED]"}"#,
            r#""cookies": [{"name": "a", "value": ""}]"#,
        ]);
    }

    #[test]
    fn secrets_in_escaped_key_names_undecodable_strings_and_escaped_text_are_redacted() {
        for (s, secret) in [
            (r#"{"pass\u0077ord":"hunter2-Passw0rdXyz"}"#, "Passw0rdXyz"),
            (r#"{"api\u005fkey":"zq8R7xWm2pLk9vT4"}"#, "zq8R7xWm2pLk9vT4"),
            (r#"{"Secret\u0041ccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#, "wJalrXUtnFEMI"),
            (r#"{"k":"\ud800 then sk\u002dproj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv"}"#, "Ab1Cd2Ef3Gh4"),
            (r#"{"k":"\ud800sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv"}"#, "Ab1Cd2Ef3Gh4"),
            (r#"{"k":"\ud800 postgres:\/\/user:Passw0rdXyz@host\/db"}"#, "Passw0rdXyz"),
            ("connect with postgres:\\/\\/user:Passw0rdXyz@host\\/db today", "Passw0rdXyz"),
            ("key \\u0041KIAIOSFODNN7EXAMPLQ here", "KIAIOSFODNN7EXAMPLQ"),
            (r#"{"k":"AKIAIOSFODNN7EXAMPLQ","s":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#, "K7MDENG"),
            (r#"{"k":"\u0041KIAIOSFODNN7EXAMPLQ","s":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#, "K7MDENG"),
            ("id=AKIAIOSFODNN7EXAMPLQ secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "K7MDENG"),
        ] {
            let (out, n) = r(s);
            assert!(n >= 1 && !out.contains(secret), "{s} -> {out}");
        }
        // only the line with the secret is rewritten; lines without one keep their escapes
        let two = "{\"name\":\"caf\\u00e9\"}\n{\"pass\\u0077ord\":\"hunter2-Passw0rdXyz\"}\n";
        let (out, n) = r(two);
        assert_eq!(n, 1);
        assert_eq!(out.lines().next(), Some("{\"name\":\"caf\\u00e9\"}"), "{out}");
        assert!(!out.contains("Passw0rdXyz") && out.lines().count() == 2, "{out}");
        // escapes with no secret behind them stay byte for byte, and lone surrogates never panic
        for clean in [r#"{"k":"caf\u00e9 \/ \ud800 \\u0041 \u000a \u0022"}"#, "\\u", "\\ud800\\u", "x\\"] {
            assert_eq!(r(clean), (clean.to_string(), 0), "{clean}");
        }
        assert_eq!(loose_unescape(r#"a\ud83d\ude00b\/\u000a\\u0041\"#), r#"a😀b/\u000a\\u0041\"#);
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
