//! The diff engine's output still applies: `git apply --check` and a real `git apply` on the
//! released source tree the fixture diffs were made from (requests 2.31.0, in fixtures/diff); in
//! `git log -p`, every file a commit loses is named in that commit.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use ctxlens::{Config, EngineChoice, EngineKind};

fn unpack_tree(dir: &Path) -> std::path::PathBuf {
    let tarball = fixtures().join("diff/requests-2.31.0-src.tar.gz");
    let st = Command::new("tar").arg("xzf").arg(&tarball).current_dir(dir).status().expect("tar runs");
    assert!(st.success());
    dir.join("requests-2.31.0")
}

fn git_apply(tree: &Path, patch: &str, check: bool) -> Result<(), String> {
    let file = tree.parent().unwrap().join(if check { "check.diff" } else { "apply.diff" });
    std::fs::write(&file, patch).unwrap();
    let mut cmd = Command::new("git");
    cmd.arg("apply").arg("-p1");
    if check {
        cmd.arg("--check");
    }
    let out = cmd
        .arg(&file)
        .current_dir(tree)
        .env("GIT_CEILING_DIRECTORIES", tree.parent().unwrap())
        .output()
        .expect("git runs");
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).to_string()) }
}

#[test]
fn compressed_diffs_apply_to_the_released_tree() {
    for f in [
        "diff/requests-2.31.0-2.32.3.git.diff",
        "diff/requests-2.31.0-2.32.3.ru.diff",
        "diff/requests-2.32.0.git-show.diff",
    ] {
        let input = read(f);
        let sets: [&[&str]; 5] = [
            &[],
            &["diff.max_context_lines=0"],
            &["diff.max_hunks_per_file=1"],
            &["diff.max_files=3", "diff.max_context_lines=1"],
            &["diff.max_context_lines=5", "diff.max_hunks_per_file=2"],
        ];
        for set in sets {
            let mut config = Config::default();
            set.iter().for_each(|s| config.set(s).unwrap());
            let o = run(&input, EngineChoice::Only(EngineKind::Diff), &config);
            assert!(o.decision.acted(), "{f} {set:?}: {:?}", o.decision);
            let tmp = tempfile::tempdir().unwrap();
            let tree = unpack_tree(tmp.path());
            git_apply(&tree, &input, true).unwrap_or_else(|e| panic!("{f}: the original does not apply: {e}"));
            git_apply(&tree, &o.output, true)
                .unwrap_or_else(|e| panic!("{f} {set:?}: compressed diff fails --check: {e}"));
            git_apply(&tree, &o.output, false)
                .unwrap_or_else(|e| panic!("{f} {set:?}: compressed diff fails to apply: {e}"));
        }
    }
}

/// The sections of `git log -p` text, one per commit: (commit id, text up to the next commit).
fn by_commit(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(id) = line.strip_prefix("commit ") {
            out.push((id.trim().to_string(), String::new()));
        }
        if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
        }
    }
    out
}

#[test]
fn in_a_log_every_file_a_commit_loses_is_named_in_that_commit() {
    let input = read("diff/requests-2.32.1-2.32.3.git-log-p.diff");
    for set in [&[][..], &["diff.max_files=2"], &["diff.max_files=0"]] {
        let mut config = Config::default();
        set.iter().for_each(|s| config.set(s).unwrap());
        let o = run(&input, EngineChoice::Only(EngineKind::Diff), &config);
        assert!(o.decision.acted(), "{set:?}: {:?}", o.decision);
        let (before, after) = (by_commit(&input), by_commit(&o.output));
        assert_eq!(before.len(), 3);
        assert_eq!(before.iter().map(|c| &c.0).collect::<Vec<_>>(), after.iter().map(|c| &c.0).collect::<Vec<_>>());
        let mut named = 0;
        for ((id, was), (_, now)) in before.iter().zip(&after) {
            let lost: Vec<&str> = was
                .lines()
                .filter_map(|l| l.strip_prefix("diff --git a/"))
                .map(|p| p.split(" b/").next().unwrap())
                .filter(|p| !now.contains(&format!("diff --git a/{p} ")))
                .collect();
            if lost.is_empty() {
                continue;
            }
            // dropped whole: named in this commit's own marker (the first 30, then how many more),
            // which says which commit it is
            let head = format!("[ctxlens: {} files omitted from commit {}: ", lost.len(), &id[..7]);
            let head = if lost.len() == 1 { head.replace("files", "file") } else { head };
            let marker = now.lines().find(|l| l.starts_with(&head)).unwrap_or_else(|| panic!("{set:?}: no {head}"));
            for p in lost.iter().take(30) {
                assert!(marker.contains(&format!(" {p} (+")), "{set:?}: {p} not in {marker}");
            }
            if lost.len() > 30 {
                assert!(marker.contains(&format!(", +{} more;", lost.len() - 30)), "{marker}");
            }
            named += lost.len();
        }
        assert!(named > 0 || set.is_empty(), "{set:?}: some file was dropped");
    }
}
