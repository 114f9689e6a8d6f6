//! The Headroom export loaded into the real headroom-ai: scripts/check-headroom-export.py runs in
//! the venv that scripts/test.sh installs from PyPI (`ctxlens bridge install`) and checks that an
//! untouched export changes nothing in Headroom and a tuned one sets exactly the tuned knobs, with
//! variables Headroom reads and flags `headroom proxy` has.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn the_export_loads_into_the_real_headroom_and_sets_exactly_the_tuned_knobs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = common::headroom_python();
    let out = Command::new(&python)
        .arg(root.join("scripts/check-headroom-export.py"))
        .arg(env!("CARGO_BIN_EXE_ctxlens"))
        .output()
        .expect("run the export check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("an untouched export sets nothing"), "{stdout}");
    assert!(stdout.contains("HEADROOM_MAX_ITEMS=25 is read by headroom-ai"), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");
}
