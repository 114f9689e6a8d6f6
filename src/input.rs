//! Input: reading a file or stdin and deciding whether it is text an engine may touch.
//!
//! Binary data and invalid UTF-8 are not errors: they are skipped with a reason naming the first
//! offending byte, and passed through byte for byte.

use std::io::Read;
use std::path::Path;

use crate::ledger::LineIndex;
use crate::outcome::Skip;

/// Where the input came from, for messages.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The most any input may hold: a regular file larger than this is refused before it is read,
/// and a pipe, device or stdin is read up to it and then refused (`/dev/zero` is endless).
pub const MAX_INPUT_BYTES: u64 = 2 << 30;

/// Reads `path`, or stdin when it is `-`.
pub fn read(path: &str) -> std::io::Result<Source> {
    let bytes = if path == "-" { read_bounded(std::io::stdin().lock(), "stdin")? } else { read_file(Path::new(path))? };
    let name = if path == "-" { "<stdin>".to_string() } else { path.to_string() };
    Ok(Source { name, bytes })
}

/// Reads a file whole, refusing one larger than [`MAX_INPUT_BYTES`] (a regular file is sized
/// first, a FIFO is read up to the limit) and refusing devices (`/dev/zero` never ends).
pub fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileTypeExt;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.file_type().is_char_device() || meta.file_type().is_block_device() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "a device, not a file"));
    }
    if meta.is_file() && meta.len() > MAX_INPUT_BYTES {
        return Err(too_big(&path.display().to_string()));
    }
    read_bounded(file, &path.display().to_string())
}

fn read_bounded(r: impl Read, what: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(MAX_INPUT_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_big(what));
    }
    Ok(buf)
}

fn too_big(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("{what} holds more than {} GB (or never ends)", MAX_INPUT_BYTES >> 30),
    )
}

/// The input as text, or why it is not text.
pub fn decode(bytes: &[u8]) -> Result<&str, Skip> {
    if let Some(offset) = binary_offset(bytes) {
        return Err(Skip::Binary { offset });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        Skip::InvalidUtf8 { offset, line: LineIndex::new(valid).line_of(offset.saturating_sub(1).min(valid.len())) }
    })
}

/// The offset of a NUL byte, or of the start of the first 8 KB when more than 10% of it is
/// control bytes other than tab, newline, carriage return, form feed and escape (ANSI colours).
fn binary_offset(bytes: &[u8]) -> Option<usize> {
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        return Some(i);
    }
    let head = &bytes[..bytes.len().min(8192)];
    let control = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)).count();
    (control * 10 > head.len() && !head.is_empty()).then_some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_binary_and_bad_utf8() {
        assert_eq!(decode(b"hello\n").unwrap(), "hello\n");
        assert_eq!(decode(b"").unwrap(), "");
        assert_eq!(decode(b"ab\0cd"), Err(Skip::Binary { offset: 2 }));
        assert_eq!(decode(&[1, 2, 3, 4, 5, 6, 7, 8, b'a']), Err(Skip::Binary { offset: 0 }));
        assert_eq!(decode(b"ok\nline two \xff\xfe"), Err(Skip::InvalidUtf8 { offset: 12, line: 2 }));
        assert!(decode("\x1b[31mred\x1b[0m\n".as_bytes()).is_ok());
    }
}
