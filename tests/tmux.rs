//! End to end in a real terminal: the release binary runs under tmux on the shipped demo; keys go
//! in with `send-keys`, the screen comes back with `capture-pane`. A newcomer's path: open the
//! demo, filter to a log block, change a knob, watch the counts move, export the config, write the
//! block's output, quit; then `ctxlens compress --config` on the same block must print exactly what
//! the workbench wrote and count the same tokens.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ctxlens");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(dir: &Path, args: &str, w: u16, h: u16) -> Tmux {
        Tmux::shell(dir, &format!("exec '{BIN}' {args}"), w, h, "")
    }

    /// A session running a shell command in `dir` (on its own tmux server, told apart by `tag`).
    fn shell(dir: &Path, script: &str, w: u16, h: u16, tag: &str) -> Tmux {
        // one tmux server per session: tests run side by side
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("ctxlens-test-{}-{n}{tag}", std::process::id());
        let t = Tmux { socket };
        let cmd = format!("cd '{}' && {script}", dir.display());
        let ok = t.tmux(&["new-session", "-d", "-s", "e2e", "-x", &w.to_string(), "-y", &h.to_string(), &cmd]);
        assert!(ok, "tmux could not start (is tmux installed? scripts/setup.sh installs it)");
        t
    }

    fn tmux(&self, args: &[&str]) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .status()
            .expect("tmux must be installed for this test (scripts/setup.sh installs it)")
            .success()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args));
    }

    /// Types text literally (no key-name lookup).
    fn type_text(&self, text: &str) {
        assert!(self.tmux(&["send-keys", "-t", "e2e", "-l", text]));
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "e2e"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `ok` holds (60 s at most: the prose model loads on first use).
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the pane shows its cursor.
    fn cursor_shown(&self) -> bool {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "display-message", "-p", "-t", "e2e", "#{cursor_flag}"])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "e2e"])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

/// `4,637→1,475 tok` in the diff title → (4637, 1475).
fn title_counts(screen: &str) -> Option<(usize, usize)> {
    let line = screen.lines().find(|l| l.contains(" tok "))?;
    let at = line.find(" tok ")?;
    let head = &line[..at];
    let nums = head.rsplit(' ').next()?;
    let (a, b) = nums.split_once('→')?;
    let n = |s: &str| s.replace(',', "").parse::<usize>().ok();
    Some((n(a)?, n(b)?))
}

/// `block 5/117` in the diff title → 5.
fn block_number(screen: &str) -> Option<usize> {
    let at = screen.find("block ")?;
    screen[at + 6..].split('/').next()?.parse().ok()
}

#[test]
fn newcomer_tunes_a_knob_exports_and_the_cli_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = root().join("fixtures/demo/headroom-requests.jsonl");
    let t = Tmux::start(dir.path(), &format!("'{}'", demo.display()), 120, 36);

    // every block counted
    t.wait("the demo to load and count", |s| {
        s.contains("9 flows, 117 blocks") && s.contains(" tok ") && !s.contains("counted")
    });

    // filter to log blocks and open the first
    t.keys(&["f", "C-u"]);
    t.type_text("~engine log");
    t.keys(&["Enter"]);
    t.wait("the filter", |s| s.contains("~engine log"));
    t.keys(&["j"]);
    let s = t.wait("a log block", |s| s.contains("auto (log)") && title_counts(s).is_some());
    let (tokens_in, before) = title_counts(&s).unwrap();
    let block = block_number(&s).unwrap();
    assert!(before < tokens_in, "the log engine compresses the block:\n{s}");

    // the tuning panel lists the log knobs in `ctxlens knobs log` order
    let knobs = Command::new(BIN).args(["knobs", "log"]).output().unwrap();
    let knobs = String::from_utf8(knobs.stdout).unwrap();
    let names: Vec<&str> = knobs
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.trim().split(' ').next())
        .collect();
    let idx = names.iter().position(|n| *n == "max_total_lines").expect("log has max_total_lines");
    t.keys(&["Tab", "Tab", "Tab"]);
    for _ in 0..idx {
        t.keys(&["j"]);
    }
    t.keys(&["-", "-", "-"]);
    let s = t.wait("the knob change to recompress", |s| {
        s.contains("log.max_total_lines = 73")
            && title_counts(s).is_some_and(|c| c.1 != before)
            && !s.contains("computing")
    });
    let (_, after) = title_counts(&s).unwrap();
    assert!(after < before, "a smaller line budget keeps fewer tokens: {before} → {after}");
    assert!(s.contains("*max_total_lines = 73"), "the panel marks the changed knob:\n{s}");

    // export the knobs and write the block's output
    let cfg = dir.path().join("tuned.toml");
    let out = dir.path().join("block.txt");
    t.keys(&["e", "C-u"]);
    t.type_text(cfg.to_str().unwrap());
    t.keys(&["Enter"]);
    t.wait("the export", |s| s.contains("wrote") && s.contains("tuned.toml"));
    t.keys(&["w", "C-u"]);
    t.type_text(out.to_str().unwrap());
    t.keys(&["Enter"]);
    t.wait("the block write", |s| s.contains("block.txt"));
    t.keys(&["q"]);
    let start = Instant::now();
    while t.alive() {
        assert!(start.elapsed() < Duration::from_secs(10), "q did not quit:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }

    // the CLI, given the exported config, prints what the workbench wrote and counts the same
    let blocks = Command::new(BIN).args(["blocks", "--json"]).arg(&demo).output().unwrap();
    let blocks: serde_json::Value = serde_json::from_slice(&blocks.stdout).unwrap();
    let all: Vec<&serde_json::Value> =
        blocks["flows"].as_array().unwrap().iter().flat_map(|f| f["blocks"].as_array().unwrap()).collect();
    let original = all[block - 1]["text"].as_str().unwrap();
    let input = dir.path().join("original.txt");
    std::fs::write(&input, original).unwrap();
    let cli =
        Command::new(BIN).args(["compress", "--stats", "json", "--config"]).arg(&cfg).arg(&input).output().unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let written = std::fs::read(&out).unwrap();
    assert_eq!(cli.stdout, written, "the CLI with the exported config reproduces the workbench's output");
    let stderr = String::from_utf8_lossy(&cli.stderr);
    let stats: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["in_tokens"], tokens_in);
    assert_eq!(stats["out_tokens"], after, "the counts the workbench showed");
}

/// An auditor's path: open a capture made through the real Headroom proxy (its CCR store beside
/// it), switch to audit mode, list only new blocks that lost lines silently, and read what
/// Headroom's store still holds behind a marker.
#[test]
fn an_auditor_finds_silent_losses_and_resolves_a_headroom_marker() {
    let dir = tempfile::tempdir().unwrap();
    let capture = root().join("fixtures/headroom-proxy/requests.jsonl");
    let t = Tmux::start(dir.path(), &format!("'{}'", capture.display()), 140, 40);
    t.wait("the capture and its store", |s| s.contains("6 flows") && s.contains("CCR store: "));
    t.keys(&["a", "v"]);
    t.wait("audit mode", |s| s.contains("audit") && s.contains("new only") && s.contains(" ours "));
    t.keys(&["f", "C-u"]);
    t.type_text("~silent");
    t.keys(&["Enter", "j"]);
    let s = t.wait("a block that lost lines silently", |s| s.contains(" silent ") && !s.contains("computing"));
    assert!(s.contains("recorded"), "audit shows the recorded compression:\n{s}");
    // the silent count in the list matches the diff's title
    let title = s.lines().find(|l| l.contains("block ") && l.contains(" silent ")).unwrap();
    let n = title.split("· !").nth(1).and_then(|r| r.split(' ').next()).unwrap();
    assert!(s.contains(&format!("!{n}")), "the row shows !{n}:\n{s}");
    // the ledger lists Headroom's markers with what its store holds
    t.keys(&["3"]);
    let s = t.wait("the marker list", |s| s.contains("Headroom markers"));
    assert!(s.contains("e373e5aa635d4fc16d6789e7 present") || s.contains("e373e5aa635d4fc16d6789e7 expired"), "{s}");
    t.keys(&["r"]);
    let s = t.wait("the original behind the marker", |s| s.contains("Headroom hash e373e5aa635d4fc16d6789e7"));
    assert!(s.contains("Compiling memchr"), "the stored original is shown:\n{s}");
    t.keys(&["q"]);
    t.wait("the popup to close", |s| !s.contains("Headroom hash"));
    t.keys(&["q"]);
    let start = Instant::now();
    while t.alive() {
        assert!(start.elapsed() < Duration::from_secs(10), "q did not quit:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A user who keeps what the workbench drops: with `[store] enabled` in the config, open a log,
/// show the original behind a ledger row, quit; the CLI then retrieves the same key and restores
/// the whole log from the output alone, from the store the workbench wrote.
#[test]
fn the_workbench_writes_the_store_the_cli_restores_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("kept.db");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("[store]\nenabled = true\nlocation = {:?}\n", store.display().to_string()))
        .unwrap();
    let log = root().join("fixtures/log/pytest-failures.log");
    let t = Tmux::start(dir.path(), &format!("--config '{}' '{}'", config.display(), log.display()), 140, 40);
    t.wait("the log to load and compress", |s| {
        title_counts(s).is_some() && !s.contains("computing") && s.contains("keeping drops in")
    });
    t.keys(&["3"]);
    t.wait("the ledger pane", |s| s.contains("▶3 ledger") && s.contains("L12–163"));
    t.keys(&["r"]);
    let s = t.wait("the original behind the first drop", |s| s.contains("from this block's input"));
    let title = s.lines().find(|l| l.contains("from this block's input")).unwrap();
    let key = title.split("key ").nth(1).and_then(|r| r.split(' ').next()).unwrap().to_string();
    t.keys(&["q"]);
    t.wait("the popup to close", |s| !s.contains("from this block's input"));
    t.keys(&["q"]);
    let start = Instant::now();
    while t.alive() {
        assert!(start.elapsed() < Duration::from_secs(10), "q did not quit:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
    let stored = Command::new(BIN).args(["retrieve", &key, "--store"]).arg(&store).output().unwrap();
    assert!(stored.status.success(), "{key}: {}", String::from_utf8_lossy(&stored.stderr));
    let text = String::from_utf8_lossy(&stored.stdout).into_owned();
    let first: String =
        text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().chars().take(40).collect();
    assert!(!first.is_empty() && s.contains(&first), "the overlay showed what the store holds: {first}\n{s}");
    let output = Command::new(BIN).arg("compress").arg(&log).output().unwrap().stdout;
    let out_file = dir.path().join("out.txt");
    std::fs::write(&out_file, output).unwrap();
    let back = Command::new(BIN).arg("restore").arg(&out_file).arg("--store").arg(&store).output().unwrap();
    assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
    assert!(back.stdout == std::fs::read(&log).unwrap(), "the whole log comes back byte for byte");
}

#[test]
fn bad_paths_and_no_terminal_fail_clearly() {
    let out = Command::new(BIN).arg("no/such/capture.har").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/capture.har"));
    let out = Command::new(BIN).arg(root().join("fixtures/demo/capture.har")).output().unwrap();
    assert!(!out.status.success(), "stdout is not a terminal here");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

/// ctrl-z stops the workbench as a shell job with the terminal given back (the shell's prompt,
/// cooked mode); `fg` brings it back whole, and it still quits cleanly.
#[test]
fn ctrl_z_suspends_and_fg_resumes() {
    let demo = root().join("fixtures/demo/anthropic-request.json");
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::shell(dir.path(), "PS1='PROMPT$ ' bash --norc --noprofile -i", 160, 30, "-tstp");
    t.wait("the shell", |s| s.contains("PROMPT$"));
    t.type_text(&format!("{BIN} {}", demo.display()));
    t.keys(&["Enter"]);
    t.wait("the workbench", |s| s.contains("1 flows, 26 blocks"));
    t.keys(&["C-z"]);
    let s = t.wait("the shell after ctrl-z", |s| s.contains("Stopped") && s.trim_end().ends_with("PROMPT$"));
    assert!(!s.contains("1 flows, 26 blocks"), "the alternate screen is gone:\n{s}");
    t.type_text("stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon | sed 's/^/mode-/'");
    t.keys(&["Enter"]);
    let s = t.wait("the terminal modes", |s| s.lines().any(|l| l.starts_with("mode-")));
    assert!(s.lines().any(|l| l == "mode-icanon"), "cooked mode while stopped:\n{s}");
    t.type_text("fg");
    t.keys(&["Enter"]);
    let s = t.wait("the workbench again", |s| s.contains("1 flows, 26 blocks"));
    assert!(!s.contains("PROMPT$"), "the whole screen is redrawn:\n{s}");
    t.keys(&["j"]);
    t.keys(&["q"]);
    t.wait("the shell after quitting", |s| s.trim_end().ends_with("PROMPT$") && !s.contains("1 flows, 26 blocks"));
}

/// SIGTERM, SIGINT and SIGHUP end the workbench with the terminal restored: the shell that ran it
/// prints on the main screen, in cooked mode with echo, and mouse tracking is off. The workbench
/// dies of the signal, so its status is 128 + the signal's number, as the shell expects.
#[test]
fn signals_restore_the_terminal() {
    let demo = root().join("fixtures/demo/anthropic-request.json");
    for (n, (signal, number)) in [("TERM", 15), ("INT", 2), ("HUP", 1)].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "sh -c 'echo $$ > pid; exec {BIN} {}'; echo EXITED-$?; stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo; sleep 60",
            demo.display()
        );
        let t = Tmux::shell(dir.path(), &script, 160, 30, &format!("-sig{n}"));
        t.wait("the workbench", |s| s.contains("1 flows, 26 blocks"));
        let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
        assert!(Command::new("kill").args([&format!("-{signal}"), pid.trim()]).status().unwrap().success());
        // the shell's two lines after the workbench: its exit, then the terminal modes
        let s = t.wait("the shell after the workbench", |s| s.contains("EXITED-") && s.contains("icanon"));
        assert!(!s.contains("1 flows, 26 blocks"), "SIG{signal}: the alternate screen is gone:\n{s}");
        assert!(s.contains(&format!("EXITED-{}", 128 + number)), "SIG{signal}: the status says the signal:\n{s}");
        assert!(t.cursor_shown(), "SIG{signal}: the cursor is shown again");
        let modes = s.lines().find(|l| l.contains("icanon")).unwrap_or_default();
        assert!(modes.contains("icanon") && !modes.contains("-icanon"), "SIG{signal}: cooked mode: {modes:?}\n{s}");
        assert!(modes.split(' ').any(|m| m == "echo"), "SIG{signal}: echo is back: {modes:?}");
    }
}

/// A paste of kilobytes into a prompt is read whole and at once: keys after it still work (the
/// terminal's input is read to its end, and frames are paced, not one per pasted key), and an
/// answer longer than the prompt takes is cut with a message.
#[test]
fn a_large_paste_into_the_filter_leaves_the_keys_working() {
    let demo = root().join("fixtures/demo/capture.har");
    let t = Tmux::start(&root(), &demo.display().to_string(), 140, 30);
    t.wait("the workbench", |s| s.contains("9 flows"));
    t.keys(&["f"]);
    t.wait("the filter prompt", |s| s.contains("filter:"));
    let dir = tempfile::tempdir().unwrap();
    let paste = dir.path().join("paste.txt");
    std::fs::write(&paste, "!".repeat(20_000)).unwrap();
    assert!(t.tmux(&["load-buffer", paste.to_str().unwrap()]));
    assert!(t.tmux(&["paste-buffer", "-t", "e2e"]));
    t.keys(&["Escape"]);
    let s = t.wait("the prompt closed after the paste", |s| !s.contains("filter:"));
    assert!(s.contains("an answer holds at most 4096 bytes"), "{s}");
    // and the next key is read at once
    t.keys(&["?"]);
    t.wait("the help", |s| s.contains("keys"));
}
