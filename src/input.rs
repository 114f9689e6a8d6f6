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
    let bytes =
        if path == "-" { read_bounded(std::io::stdin().lock(), "stdin", 0)? } else { read_file(Path::new(path))? };
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
    // a regular file's buffer is sized once (growing by doubling would hold up to twice the file)
    let size = if meta.is_file() { meta.len() as usize + 1 } else { 0 };
    read_bounded(file, &path.display().to_string(), size)
}

fn read_bounded(r: impl Read, what: &str, size: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(size);
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
    if let Some(why) = not_text(bytes) {
        return Err(why);
    }
    std::str::from_utf8(bytes).map_err(|e| invalid_utf8(bytes, e.valid_up_to()))
}

/// [`decode`] on bytes the caller gives up: the text is the same buffer, checked once; bytes
/// that are not text come back with why.
pub fn decode_owned(bytes: Vec<u8>) -> Result<String, (Vec<u8>, Skip)> {
    if let Some(why) = not_text(&bytes) {
        return Err((bytes, why));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let why = invalid_utf8(&bytes, offset);
        (bytes, why)
    })
}

/// UTF-16 text or binary data, found before any UTF-8 check.
fn not_text(bytes: &[u8]) -> Option<Skip> {
    if let Some(big_endian) = utf16_order(bytes) {
        return Some(Skip::Utf16 { big_endian });
    }
    binary_offset(bytes).map(|offset| Skip::Binary { offset })
}

/// Where UTF-8 stops being valid in `bytes` (at `offset`), with its line.
fn invalid_utf8(bytes: &[u8], offset: usize) -> Skip {
    Skip::InvalidUtf8 { offset, line: invalid_utf8_line(bytes, offset) }
}

/// The line of `offset`, where the UTF-8 of `bytes` stops being valid.
pub fn invalid_utf8_line(bytes: &[u8], offset: usize) -> usize {
    let valid = std::str::from_utf8(&bytes[..offset.min(bytes.len())]).unwrap_or_default();
    LineIndex::new(valid).line_of(offset.min(valid.len()))
}

/// Whether the bytes are UTF-16 text (they start with its byte-order mark).
pub fn is_utf16(bytes: &[u8]) -> bool {
    utf16_order(bytes).is_some()
}

/// Whether the bytes start with a UTF-16 byte-order mark, and which: `Some(true)` for big endian.
/// (`FF FE 00 00` is UTF-32's mark and counts as neither.)
fn utf16_order(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xff, 0xfe, 0, 0, ..] => None,
        [0xff, 0xfe, ..] => Some(false),
        [0xfe, 0xff, ..] => Some(true),
        _ => None,
    }
}

/// UTF-16 text (with its byte-order mark) as UTF-8, for views: the text, and how many code units
/// could not be decoded (a lone surrogate, an odd last byte) and show as U+FFFD. `None` when the
/// bytes are not UTF-16.
pub fn utf16_text(bytes: &[u8]) -> Option<(String, usize)> {
    let big_endian = utf16_order(bytes)?;
    let body = &bytes[2..];
    let units = body
        .chunks_exact(2)
        .map(|p| if big_endian { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) });
    let mut bad = body.len() % 2;
    let mut text = String::with_capacity(body.len() / 2);
    for c in char::decode_utf16(units) {
        text.push(c.unwrap_or_else(|_| {
            bad += 1;
            char::REPLACEMENT_CHARACTER
        }));
    }
    if body.len() % 2 == 1 {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    Some((text, bad))
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
        assert_eq!(decode(b"\xff\xfeh\0i\0"), Err(Skip::Utf16 { big_endian: false }));
        // a bad byte that starts a line is on that line
        assert_eq!(decode(b"a\nb\n\xff\n"), Err(Skip::InvalidUtf8 { offset: 4, line: 3 }));
    }

    #[test]
    fn utf16_is_read_with_its_byte_order_and_bad_units_counted() {
        let le: Vec<u8> = [0xff, 0xfe].into_iter().chain("hé 日".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(utf16_text(&le), Some(("hé 日".to_string(), 0)));
        let be: Vec<u8> = [0xfe, 0xff].into_iter().chain("ok".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(utf16_text(&be), Some(("ok".to_string(), 0)));
        // a lone surrogate and an odd last byte
        assert_eq!(utf16_text(&[0xff, 0xfe, 0x00, 0xd8, b'a', 0, 7]), Some(("\u{fffd}a\u{fffd}".to_string(), 2)));
        assert_eq!(utf16_text(b"plain"), None);
        assert_eq!(utf16_text(&[0xff, 0xfe, 0, 0, 1, 0, 0, 0]), None);
    }
}
