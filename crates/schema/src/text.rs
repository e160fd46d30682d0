//! Text plumbing: positions, line tables and splitting a file into front
//! matter and body.
//!
//! Everything here works on `&str` that has already been decoded; decoding
//! (UTF-8, BOM) happens in [`decode`].

use std::ops::Range;

/// A position in a file, 1-based line and column (column counted in
/// characters), as editors and `rustc` show it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, col: 1 };
}

/// Maps byte offsets of one text to [`Pos`] and back.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of every line.
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where 1-based `line` starts, clamped to the text.
    pub fn line_start(&self, line: u32) -> usize {
        let i = (line.max(1) as usize - 1).min(self.starts.len() - 1);
        self.starts[i]
    }

    /// Byte range of 1-based `line`, including its line terminator.
    pub fn line_range(&self, text: &str, line: u32) -> Range<usize> {
        let start = self.line_start(line);
        let end = self
            .starts
            .get(line as usize)
            .copied()
            .unwrap_or(text.len());
        start..end
    }

    pub fn pos(&self, text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }

    /// Byte offset of a 1-based line and a 0-based character column.
    pub fn offset(&self, text: &str, line: u32, char_col: usize) -> usize {
        let start = self.line_start(line);
        let rest = &text[start..];
        match rest.char_indices().nth(char_col) {
            Some((i, _)) => start + i,
            None => text.len(),
        }
    }
}

fn memchr_iter(needle: u8, hay: &[u8]) -> impl Iterator<Item = usize> + '_ {
    hay.iter()
        .enumerate()
        .filter(move |(_, b)| **b == needle)
        .map(|(i, _)| i)
}

/// Why a file's bytes could not be turned into text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    TooLarge { size: usize, limit: usize },
    NotUtf8 { pos: Pos },
}

/// Largest file we read, in bytes. Item files are small; anything bigger is
/// almost certainly a mistake (a binary or a log dumped into `.nonlinear/`).
pub const MAX_FILE_SIZE: usize = 1 << 20;

/// Decodes file bytes as UTF-8, dropping a leading byte order mark.
pub fn decode(bytes: &[u8]) -> Result<&str, DecodeError> {
    if bytes.len() > MAX_FILE_SIZE {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: MAX_FILE_SIZE,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        // `valid` is valid UTF-8 by construction.
        let col = std::str::from_utf8(&valid[line_start..]).map_or(0, |s| s.chars().count());
        DecodeError::NotUtf8 {
            pos: Pos {
                line,
                col: col as u32 + 1,
            },
        }
    })
}

/// A file split at its front matter fences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Byte range of the YAML between the fences (may be empty).
    pub yaml: Range<usize>,
    /// 1-based line on which the YAML starts (the line after `---`).
    pub yaml_line: u32,
    /// Byte range of the Markdown body after the closing fence.
    pub body: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    Empty,
    /// The first line is not `---`.
    Missing,
    /// No closing `---` (or `...`) line.
    Unterminated,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SplitError::Empty => "the file is empty",
            SplitError::Missing => "the file does not start with a `---` line",
            SplitError::Unterminated => "the front matter has no closing `---` line",
        })
    }
}

/// Splits `---\n<yaml>\n---\n<body>`. Accepts `\r\n` line ends and a
/// closing `...` fence; trailing spaces on the fences are ignored.
pub fn split_front_matter(text: &str) -> Result<Split, SplitError> {
    if text.trim().is_empty() {
        return Err(SplitError::Empty);
    }
    let mut lines = LinesWithOffsets::new(text);
    let first = lines.next().map(|(_, l)| l).unwrap_or_default();
    if first.trim_end() != "---" {
        return Err(SplitError::Missing);
    }
    let yaml_start = lines.offset;
    for (start, line) in lines.by_ref() {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            let body_start = start + line.len();
            return Ok(Split {
                yaml: yaml_start..start,
                yaml_line: 2,
                body: body_start..text.len(),
            });
        }
    }
    Err(SplitError::Unterminated)
}

/// Iterates over lines with their byte offsets; each line includes its
/// terminator.
#[derive(Debug)]
pub struct LinesWithOffsets<'a> {
    text: &'a str,
    pub offset: usize,
}

impl<'a> LinesWithOffsets<'a> {
    pub fn new(text: &'a str) -> Self {
        LinesWithOffsets { text, offset: 0 }
    }
}

impl<'a> Iterator for LinesWithOffsets<'a> {
    type Item = (usize, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        if self.offset >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.offset..];
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let start = self.offset;
        self.offset += len;
        Some((start, &rest[..len]))
    }
}

/// The line terminator a file mostly uses, so edits keep it.
pub fn line_ending(text: &str) -> &'static str {
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count();
    if crlf > 0 && crlf * 2 >= lf {
        "\r\n"
    } else {
        "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_crlf_and_dots() {
        let t = "---\r\na: 1\r\n...\r\nbody\r\n";
        let s = split_front_matter(t).unwrap();
        assert_eq!(&t[s.yaml.clone()], "a: 1\r\n");
        assert_eq!(&t[s.body.clone()], "body\r\n");
        assert_eq!(
            split_front_matter("---\na: 1\n"),
            Err(SplitError::Unterminated)
        );
        assert_eq!(split_front_matter("a: 1\n"), Err(SplitError::Missing));
        assert_eq!(split_front_matter(" \n"), Err(SplitError::Empty));
    }

    #[test]
    fn positions() {
        let t = "ab\nçd\n";
        let ix = LineIndex::new(t);
        assert_eq!(ix.pos(t, 0), Pos { line: 1, col: 1 });
        assert_eq!(ix.pos(t, 5), Pos { line: 2, col: 2 });
        assert_eq!(ix.offset(t, 2, 1), 5);
        assert_eq!(decode(b"\xEF\xBB\xBFok").unwrap(), "ok");
        assert_eq!(
            decode(b"a\nb\xff").unwrap_err(),
            DecodeError::NotUtf8 {
                pos: Pos { line: 2, col: 2 }
            }
        );
    }
}
