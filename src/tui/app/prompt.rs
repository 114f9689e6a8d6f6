//! The prompt line: typing an answer, and what each question does with it (search, filter,
//! a knob's value, and the file work of export, import and write).

use super::*;

/// The longest answer the prompt takes (a paste of megabytes is cut here, with a message): every
/// frame draws the answer and a filter is parsed as it is typed.
const PROMPT_MAX_BYTES: usize = 4096;

impl App {
    pub(super) fn prompt_key(&mut self, k: KeyEvent) {
        let Mode::Prompt { ask, input } = &mut self.mode else { return };
        match k.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                let (ask, input) = (ask.clone(), input.clone());
                self.mode = Mode::Normal;
                self.submit(ask, input);
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                if input.len() + c.len_utf8() <= PROMPT_MAX_BYTES {
                    input.push(c);
                } else {
                    self.message = format!("an answer holds at most {PROMPT_MAX_BYTES} bytes; the rest was not typed");
                }
            }
            _ => {}
        }
    }

    pub(super) fn prompt(&mut self, ask: Ask, input: String) {
        self.mode = Mode::Prompt { ask, input };
    }

    pub(super) fn path(&self, input: &str) -> PathBuf {
        let p = Path::new(input.trim());
        if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) }
    }

    pub(super) fn submit(&mut self, ask: Ask, input: String) {
        match ask {
            Ask::Filter => {
                if input.trim().is_empty() {
                    self.filter = None;
                    self.message = "filter cleared".into();
                } else {
                    match filter::parse(&input) {
                        Ok(f) => {
                            self.filter = Some((input.clone(), f));
                            self.message = format!("filter: {input}");
                        }
                        Err(e) => {
                            self.message = format!("bad filter: {e}");
                            self.prompt(Ask::Filter, input);
                            return;
                        }
                    }
                }
                self.list_sel = 0;
                self.list_top = 0;
                self.rows_dirty = true;
            }
            Ask::Search => {
                let needle = input.trim().to_lowercase();
                self.search = (!needle.is_empty()).then_some(needle);
                if self.search.is_some() {
                    self.focus = Pane::Diff;
                    self.jump_search(true);
                }
            }
            Ask::Knob(table, knob) => self.assign(&table, &knob, input.trim()),
            Ask::Export => {
                let path = self.path(&input);
                self.exporting = Some(self.config.clone());
                self.file_work(IoJob::Export { path, config: self.config.clone() });
            }
            Ask::Import => {
                let path = self.path(&input);
                self.file_work(IoJob::Import { path });
            }
            Ask::WriteBlock => {
                let path = self.path(&input);
                let Some(v) = self.view.as_ref().filter(|_| !self.pending()) else {
                    self.message = "the block is still being compressed; try again".into();
                    return;
                };
                let (text, label) = (v.computed.output.clone(), v.computed.sel.label());
                self.file_work(IoJob::Write { path, text, label });
            }
        }
    }

    /// Queues file work for the event loop (see [`Self::take_io`]).
    pub(super) fn file_work(&mut self, job: IoJob) {
        self.message = "working…".into();
        self.io.push(job);
    }

    /// The file work waiting to run; its results come back as [`Action::IoDone`].
    pub fn take_io(&mut self) -> Vec<IoJob> {
        std::mem::take(&mut self.io)
    }

    pub(super) fn io_done(&mut self, done: IoDone) {
        match done {
            IoDone::Exported(r) => {
                let exported = self.exporting.take();
                self.message = match r {
                    Ok(files) => {
                        if let Some(c) = exported {
                            self.saved = c;
                        }
                        format!("wrote {}", files.join(", "))
                    }
                    Err(e) => e,
                };
            }
            IoDone::Imported(path, Ok(c)) => {
                if let Err(e) = KeyMap::new(&c.keys).map(|k| self.keymap = k) {
                    self.message = e.to_string();
                    return;
                }
                self.saved = Arc::new((*c).clone());
                self.set_config(*c, format!("loaded {}", path.display()));
            }
            IoDone::Imported(_, Err(e)) => self.message = e,
            IoDone::Written(r) => self.message = r.unwrap_or_else(|e| e),
            IoDone::Retrieved(key, Ok((store, text))) => {
                self.show_original(format!("key {key} · {} bytes, from the store {store}", text.len()), text)
            }
            IoDone::Retrieved(_, Err(e)) => self.message = e,
            IoDone::Claims(r) => {
                self.claims_running = false;
                match r {
                    Ok(report) => {
                        let count = |s: crate::audit::Status| report.verdicts.iter().filter(|v| v.verdict == s).count();
                        self.message = format!(
                            "claims: {} hold, {} fail, {} not testable here, on {} samples",
                            count(crate::audit::Status::Holds),
                            count(crate::audit::Status::Fails),
                            count(crate::audit::Status::NotTestable),
                            report.samples
                        );
                        self.claims = Some(Arc::new(report));
                        self.mode = Mode::Overlay(Overlay::Claims, 0);
                    }
                    Err(e) => {
                        self.claims = None;
                        self.message = format!("claims not checked: {e}");
                    }
                }
            }
        }
    }
}
