//! Plain files and folders: each file is one flow with one block.

use std::path::Path;

use super::{Api, Block, BlockKind, Event, Flow, Format, Location, Message, Problem, Role};

/// Largest file read from a folder (bigger ones are listed as problems).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

pub fn load_file(name: &str, bytes: &[u8], sink: &mut dyn FnMut(Event)) {
    load_file_at(0, name, bytes, sink);
}

fn load_file_at(index: usize, name: &str, bytes: &[u8], sink: &mut dyn FnMut(Event)) {
    let loc = Location { file: name.to_string(), line: 1, path: String::new() };
    let text = match crate::input::decode(bytes) {
        Ok(t) => t.to_string(),
        Err(skip) => {
            sink(Event::Problem(Problem { location: loc.clone(), reason: format!("kept as a placeholder: {skip}") }));
            format!("[{} bytes not shown: {skip}]", bytes.len())
        }
    };
    let mut flow = Flow::new(index, Api::Files, loc.clone());
    flow.messages = vec![Message {
        role: Role::File,
        blocks: vec![Block {
            kind: BlockKind::File,
            role: Role::File,
            text,
            tool_name: None,
            tool_id: None,
            is_error: false,
            location: loc,
        }],
    }];
    sink(Event::Flow(Box::new(flow)));
}

/// Every regular file below `dir` (sorted), one flow each. Symlinks to files are followed;
/// symlinks to folders are not (no loops). Hidden entries (`.git`, `.env`), FIFOs, sockets,
/// devices and folders that cannot be read are listed as skipped problems instead of read (a FIFO
/// would block, `/dev/zero` never ends): nothing is left out without a line saying so.
pub fn load_folder(dir: &Path, sink: &mut dyn FnMut(Event)) -> std::io::Result<()> {
    let skipped = |path: &Path, why: &str| {
        Event::Problem(Problem {
            location: Location { file: path.display().to_string(), line: 1, path: String::new() },
            reason: format!("skipped: {why}"),
        })
    };
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let listing = match std::fs::read_dir(&d) {
            Ok(l) => l,
            Err(e) if d != dir => {
                sink(skipped(&d, &format!("cannot read the folder: {e}")));
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut entries: Vec<_> = listing.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if e.file_name().to_string_lossy().starts_with('.') {
                sink(skipped(&e.path(), "hidden (its name starts with a dot); open it by name to read it"));
                continue;
            }
            let p = e.path();
            let Ok(own) = e.file_type() else { continue };
            if own.is_dir() {
                stack.push(p);
                continue;
            }
            // what the entry is, a symlink followed
            match std::fs::metadata(&p) {
                Ok(m) if m.is_file() => files.push(p),
                Ok(m) if m.is_dir() => sink(skipped(&p, "a symlink to a folder (not followed)")),
                Ok(_) => sink(skipped(&p, "not a regular file (a FIFO, socket or device)")),
                Err(err) => sink(skipped(&p, &format!("cannot read: {err}"))),
            }
        }
    }
    files.sort();
    let mut index = 0;
    for f in files {
        let name = f.display().to_string();
        let too_big = std::fs::metadata(&f).map(|m| m.len() > MAX_FILE_BYTES).unwrap_or(false);
        if too_big {
            sink(Event::Problem(Problem {
                location: Location { file: name, line: 1, path: String::new() },
                reason: format!("larger than {} MB; open it on its own", MAX_FILE_BYTES >> 20),
            }));
            continue;
        }
        match crate::input::read_file(&f) {
            Ok(bytes) => {
                // A capture inside the folder loads as its own format (UTF-16 text goes the same
                // way, to be converted and said so).
                let plain = !crate::input::is_utf16(&bytes)
                    && std::str::from_utf8(&bytes).map_or(true, |t| super::detect(t) == Format::Plain);
                if plain {
                    load_file_at(index, &name, &bytes, sink);
                    index += 1;
                } else {
                    super::load_unredacted(&name, &bytes, &mut |e| match e {
                        Event::Flow(mut fl) => {
                            fl.index = index;
                            index += 1;
                            sink(Event::Flow(fl));
                        }
                        Event::Format(_) => {}
                        other => sink(other),
                    });
                }
            }
            Err(e) => sink(Event::Problem(Problem {
                location: Location { file: name, line: 1, path: String::new() },
                reason: format!("cannot read: {e}"),
            })),
        }
    }
    Ok(())
}
