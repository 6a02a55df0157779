//! Where in a JSON text an error is, as a path (`policy.roles.tier1.grant[2]`).
//!
//! serde_json reports the line and column where deserialization stopped; reading the text up
//! to there gives the open objects and arrays, the key being read in each object and the
//! element being read in each array. That is the path serde_path_to_error reports by wrapping
//! every `Deserialize` call, without its ~110 KB of monomorphized code in every module
//! (`tests/config_errors.rs` proves the two agree on thousands of broken configurations).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

/// One open container: an object and the key whose value is being read, or an array and the
/// element being read.
enum Frame {
    Object(Option<String>),
    Array { index: usize, started: bool },
}

/// The byte offset serde_json's (1-based `line`, `column`) points just after.
fn offset(json: &str, line: usize, column: usize) -> usize {
    let start = json
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    start.saturating_add(column).min(json.len())
}

/// The end of the string that opens at `from` (a `"`), just past its closing quote.
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The path of the value serde_json's error at (`line`, `column`) is about, as
/// serde_path_to_error prints it: keys joined by `.`, indexes as `[i]`, `.` for the whole
/// document. `message` is the error's text: where serde_json puts the position depends on
/// the kind of error (see `Scan::finish`).
pub fn path_at(json: &str, line: usize, column: usize, message: &str) -> String {
    let mut end = offset(json, line, column);
    // "expected value" points just past the byte that is not one.
    if message.starts_with("expected value") {
        end = end.saturating_sub(1);
    }
    let mut scan = Scan::default();
    scan.run(json, end);
    scan.finish(json, end, message)
}

/// The containers open at a point of the text.
#[derive(Default)]
struct Scan {
    stack: Vec<Frame>,
    /// The container that closed last, if nothing but whitespace came after it.
    closed: Option<Frame>,
}

impl Scan {
    fn run(&mut self, json: &str, end: usize) {
        let bytes = json.as_bytes().get(..end).unwrap_or_default();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            self.start_element(b);
            if b != b'}' && b != b']' {
                self.closed = None;
            }
            match b {
                b'"' => {
                    let close = string_end(json.as_bytes(), i);
                    if let Some(Frame::Object(key @ None)) = self.stack.last_mut() {
                        if close <= end {
                            let raw = json.get(i..close).unwrap_or_default();
                            *key = Some(serde_json::from_slice(raw.as_bytes()).unwrap_or_default());
                        }
                    }
                    i = close;
                    continue;
                }
                b'{' => self.stack.push(Frame::Object(None)),
                b'[' => self.stack.push(Frame::Array {
                    index: 0,
                    started: false,
                }),
                b'}' | b']' => self.closed = self.stack.pop(),
                b',' => match self.stack.last_mut() {
                    Some(Frame::Object(key)) => *key = None,
                    Some(Frame::Array { index, started }) => {
                        *index += 1;
                        *started = false;
                    }
                    None => {}
                },
                _ => {}
            }
            i += 1;
        }
    }

    /// A value starting with `b` is the element an open array is reading.
    fn start_element(&mut self, b: u8) {
        if let Some(Frame::Array { started, .. }) = self.stack.last_mut() {
            *started |= b != b']' && b != b',';
        }
    }

    /// Where serde_json reports each kind of error:
    /// - a wrong type, before the value (it peeks at its first byte);
    /// - an error raised outside serde_json's own parsing (a custom `Deserialize`, an untagged
    ///   enum), after the object or array that holds the value, once it is closed: the value
    ///   is that container's last one — unless the error is about the container itself (a
    ///   missing field, a wrong length);
    /// - an unknown variant written as `{"variant": …}`, after its key: about the enum.
    fn finish(mut self, json: &str, end: usize, message: &str) -> String {
        let next = json.as_bytes().get(end..).unwrap_or_default();
        if let Some(&b) = next.iter().find(|b| !b.is_ascii_whitespace()) {
            self.start_element(b);
        }
        let about_container =
            message.starts_with("missing field") || message.starts_with("invalid length");
        if let Some(frame) = self.closed.take().filter(|_| !about_container) {
            self.stack.push(frame);
        }
        if let Some(Frame::Object(key @ Some(_))) = self.stack.last_mut() {
            let variant = key
                .as_deref()
                .map(|k| alloc::format!("unknown variant `{k}`"));
            if variant.is_some_and(|v| message.starts_with(&v)) {
                *key = None;
            }
        }
        render(&self.stack)
    }
}

fn render(stack: &[Frame]) -> String {
    let mut out = String::new();
    for frame in stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Frame::Array {
                index,
                started: true,
            } => {
                let _ = write!(out, "[{index}]");
            }
            _ => {}
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let at = |json, line, column| path_at(json, line, column, "invalid type");
        assert_eq!(at(r#"{"a":{"b":[1,{"c":"#, 1, 18), "a.b[1].c");
        assert_eq!(at(r#"{"a":1,"b":2}"#, 1, 7), ".");
        assert_eq!(at(r#"{"a\"x":1}"#, 1, 9), "a\"x");
        assert_eq!(at("{\n \"a\": {\n  \"b\": 1}}", 3, 8), "a.b");
        assert_eq!(at("", 0, 0), ".");
        // After a closed container: its last value, unless the error is about the container.
        assert_eq!(at(r#"{"a":{"b":"x"}"#, 1, 14), "a.b");
        assert_eq!(
            path_at(r#"{"a":{"b":"x"}"#, 1, 14, "missing field `c`"),
            "a"
        );
        assert_eq!(path_at(r#"{"a":[]}"#, 1, 7, "invalid length 0"), "a");
        assert_eq!(
            path_at(r#"{"a":{"v":1}}"#, 1, 9, "unknown variant `v`"),
            "a"
        );
    }
}
