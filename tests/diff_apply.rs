//! The diff engine's output still applies: `git apply --check` and a real `git apply` on the
//! released source tree the fixture diffs were made from (requests 2.31.0, in fixtures/diff).

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
    for f in ["diff/requests-2.31.0-2.32.3.git.diff", "diff/requests-2.31.0-2.32.3.ru.diff"] {
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
