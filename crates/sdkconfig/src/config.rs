//! `SdkConfig`: an sdkconfig file held as lines, read and edited without touching the bytes of
//! lines that an edit does not concern.

use std::fmt;
use std::io;
use std::path::Path;

use factory_core::{ConfigKey, ConfigValue};

use crate::SdkConfigError;
use crate::value::{parse_value, render_assignment};

/// The comment that opens the block of old option names which the config tool writes after the
/// main body. The tool ignores values inside the block when it loads the file.
const DEPRECATED_START: &str = "# Deprecated options for backward compatibility";

/// The comment that closes the deprecated-options block.
const DEPRECATED_END: &str = "# End of deprecated options";

/// The comment that ESP-IDF 6 writes directly above an assignment whose value the tool inferred
/// from the Kconfig defaults. The tool may replace such a value with the Kconfig default, so an
/// edited assignment must lose this line.
const DEFAULT_PRAGMA: &str = "# default:";

/// The line terminator of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// An sdkconfig file, parsed into lines so that edits keep every other byte.
///
/// Edits apply to the main body only. The deprecated-options block, from
/// `# Deprecated options for backward compatibility` to `# End of deprecated options` (or to the
/// end of the file when the closing comment is missing), is never changed, and its values are
/// ignored by `get` as they are by the config tool.
///
/// Each line keeps its own line ending. New lines get the ending of the file's first line (LF
/// when the file has no line break). A file without a final newline still has none after any
/// edit. An empty file gets one after its first line, because that file had no last line to
/// keep.
///
/// `Debug` prints only the shape of the file, because after an identity patch the contents
/// include the OTA token.
#[derive(Clone, PartialEq, Eq)]
pub struct SdkConfig {
    lines: Vec<Line>,
    line_ending: LineEnding,
    ends_with_newline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    /// The line without its terminator. It may end in `\r` when that was the last line and had
    /// no `\n` after it.
    text: String,
    ending: LineEnding,
}

/// A line's meaning to the config tool, once trailing whitespace is removed.
enum LineKind<'a> {
    /// `CONFIG_NAME=value`; `name` includes the `CONFIG_` prefix.
    Assignment {
        name: &'a str,
        value: &'a str,
    },
    /// `# CONFIG_NAME is not set`, which assigns false.
    NotSet {
        name: &'a str,
    },
    DefaultPragma,
    DeprecatedStart,
    DeprecatedEnd,
    Other,
}

/// The assignments of the main body, from `SdkConfig::scan_main_body`.
struct MainBodyScan<'a> {
    assignments: Vec<ScannedAssignment<'a>>,
    /// The `# default:` lines after the last assignment, which would mark the next one.
    pending_pragmas: Vec<usize>,
}

struct ScannedAssignment<'a> {
    /// The option name with its `CONFIG_` prefix.
    name: &'a str,
    line: usize,
    /// The `# default:` lines that mark this assignment as inferred rather than user-set.
    default_pragmas: Vec<usize>,
}

impl<'a> MainBodyScan<'a> {
    fn assignments_of(self, key: &ConfigKey) -> Vec<ScannedAssignment<'a>> {
        self.assignments.into_iter().filter(|assignment| assignment.name == key.as_str()).collect()
    }
}

impl SdkConfig {
    /// Parses sdkconfig text. Every text parses: lines that are not assignments are kept as they
    /// are, as the config tool skips them.
    // NOTE: Python's universal newlines make the config tool also end a line at a lone `\r`.
    // Such lines are kept whole here; the files ESP-IDF writes contain no lone `\r`.
    pub fn parse(text: &str) -> SdkConfig {
        let line_ending = match text.find('\n') {
            Some(index) if text[..index].ends_with('\r') => LineEnding::CrLf,
            _ => LineEnding::Lf,
        };

        let mut lines = Vec::new();
        let mut rest = text;
        while let Some(index) = rest.find('\n') {
            let segment = &rest[..index];
            let line = match segment.strip_suffix('\r') {
                Some(text) => Line { text: text.to_owned(), ending: LineEnding::CrLf },
                None => Line { text: segment.to_owned(), ending: LineEnding::Lf },
            };
            lines.push(line);
            rest = &rest[index + 1..];
        }

        let ends_with_newline = rest.is_empty();
        if !ends_with_newline {
            lines.push(Line { text: rest.to_owned(), ending: line_ending });
        }
        SdkConfig { lines, line_ending, ends_with_newline }
    }

    /// Reads and parses the sdkconfig file at `path`.
    pub fn read(path: &Path) -> Result<SdkConfig, SdkConfigError> {
        let bytes = read_bytes(path)?;
        parse_bytes(path, &bytes)
    }

    /// Returns the line ending that new lines get.
    pub fn line_ending(&self) -> LineEnding {
        self.line_ending
    }

    /// Returns the value the config tool loads for `key`, or `None` when the main body has no
    /// assignment of it that the tool accepts.
    ///
    /// The last user-set assignment wins. When every assignment is marked by a `# default:` line,
    /// the last of those wins. `# CONFIG_X is not set` reads as `Bool(false)`. Each key is read
    /// on its own: choice groups, where one member set to y unsets the others, need the Kconfig
    /// files and are not modelled.
    pub fn get(&self, key: &ConfigKey) -> Option<ConfigValue> {
        let mut user_set = None;
        let mut inferred = None;
        for assignment in self.scan_main_body(self.lines.len()).assignments_of(key) {
            let value = match line_kind(&self.lines[assignment.line].text) {
                LineKind::Assignment { value, .. } => parse_value(value),
                LineKind::NotSet { .. } => Some(ConfigValue::Bool(false)),
                _ => None,
            };
            let Some(value) = value else {
                continue;
            };

            if assignment.default_pragmas.is_empty() {
                user_set = Some(value);
            } else {
                inferred = Some(value);
            }
        }
        user_set.or(inferred)
    }

    /// Sets `key` to `value` in the main body.
    ///
    /// The first assignment of the key, in either the `=` or the `is not set` form, is replaced in
    /// place, and later ones are removed. The `# default:` lines that mark any of them are
    /// removed too, so that the tool keeps the new value. A key without an assignment is added
    /// after the last non-blank line of the main body, which puts it before the
    /// deprecated-options block and before trailing blank lines.
    pub fn set(&mut self, key: &ConfigKey, value: &ConfigValue) -> Result<(), SdkConfigError> {
        let text = render_assignment(key, value)?;
        let assignments = self.scan_main_body(self.lines.len()).assignments_of(key);

        let Some(first_line) = assignments.first().map(|assignment| assignment.line) else {
            let index = self.insertion_index();
            // A `# default:` line that no assignment follows yet would mark the new line.
            let dangling_pragmas = self.scan_main_body(index).pending_pragmas;
            self.lines.insert(index, Line { text, ending: self.line_ending });
            self.remove_lines(&dangling_pragmas);
            return Ok(());
        };

        let mut removed: Vec<usize> = assignments[1..].iter().map(|assignment| assignment.line).collect();
        removed.extend(assignments.iter().flat_map(|assignment| assignment.default_pragmas.iter().copied()));
        self.lines[first_line].text = text;
        self.remove_lines(&removed);
        Ok(())
    }

    /// Removes every assignment of `key` from the main body, with the `# default:` lines that
    /// mark them. Returns whether any line was removed.
    pub fn remove(&mut self, key: &ConfigKey) -> bool {
        let assignments = self.scan_main_body(self.lines.len()).assignments_of(key);
        let removed: Vec<usize> = assignments
            .iter()
            .flat_map(|assignment| assignment.default_pragmas.iter().copied().chain([assignment.line]))
            .collect();
        let found = !assignments.is_empty();
        self.remove_lines(&removed);
        found
    }

    /// Serializes the file. The bytes include every value in plain text, secrets too.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_text().into_bytes()
    }

    /// Serializes the file as text. This is not a `Display` impl on purpose: the text includes
    /// the OTA token after an identity patch, and `format!("{config}")` in a log line would
    /// leak it.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (index, line) in self.lines.iter().enumerate() {
            text.push_str(&line.text);
            let is_last = index + 1 == self.lines.len();
            if !is_last || self.ends_with_newline {
                text.push_str(line.ending.as_str());
            }
        }
        text
    }

    /// Finds the assignments among the first `end` lines, outside deprecated-options blocks.
    ///
    /// This follows how the config tool (esp-idf-kconfig 3.14) loads a file: a `# default:` line
    /// marks the next assignment line, whatever comments or blank lines come between, and the
    /// comments that open and close a deprecated-options block cancel it.
    fn scan_main_body(&self, end: usize) -> MainBodyScan<'_> {
        let mut scan = MainBodyScan { assignments: Vec::new(), pending_pragmas: Vec::new() };
        let mut in_deprecated_block = false;

        for (index, line) in self.lines[..end].iter().enumerate() {
            match line_kind(&line.text) {
                LineKind::DeprecatedStart => {
                    in_deprecated_block = true;
                    scan.pending_pragmas.clear();
                }
                LineKind::DeprecatedEnd => {
                    in_deprecated_block = false;
                    scan.pending_pragmas.clear();
                }
                _ if in_deprecated_block => {}
                LineKind::DefaultPragma => scan.pending_pragmas.push(index),
                LineKind::Assignment { name, .. } | LineKind::NotSet { name } => {
                    let default_pragmas = std::mem::take(&mut scan.pending_pragmas);
                    scan.assignments.push(ScannedAssignment { name, line: index, default_pragmas });
                }
                LineKind::Other => {}
            }
        }
        scan
    }

    /// Returns the index at which a new assignment goes: after the last non-blank line before
    /// the first deprecated-options block, or before the trailing blank lines of a file without
    /// one.
    fn insertion_index(&self) -> usize {
        let body_end = self
            .lines
            .iter()
            .position(|line| matches!(line_kind(&line.text), LineKind::DeprecatedStart))
            .unwrap_or(self.lines.len());
        self.lines[..body_end]
            .iter()
            .rposition(|line| !line.text.trim().is_empty())
            .map_or(0, |last| last + 1)
    }

    fn remove_lines(&mut self, indices: &[usize]) {
        let mut remove = vec![false; self.lines.len()];
        for &index in indices {
            remove[index] = true;
        }
        let mut flags = remove.into_iter();
        self.lines.retain(|_| !flags.next().unwrap_or(false));
    }
}

impl fmt::Debug for SdkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkConfig")
            .field("lines", &self.lines.len())
            .field("line_ending", &self.line_ending)
            .field("ends_with_newline", &self.ends_with_newline)
            .finish_non_exhaustive()
    }
}

/// Classifies a line the way the config tool does: it removes trailing whitespace (so a `\r`
/// left by CRLF is harmless), then matches `CONFIG_<name>=<value>` or
/// `# CONFIG_<name> is not set` at the very start of the line.
fn line_kind(text: &str) -> LineKind<'_> {
    let text = text.trim_end();

    if let Some(rest) = text.strip_prefix("CONFIG_")
        && let Some(equals) = rest.find('=')
        && equals > 0
    {
        let name_end = "CONFIG_".len() + equals;
        return LineKind::Assignment { name: &text[..name_end], value: &text[name_end + 1..] };
    }

    if let Some(rest) = text.strip_prefix("# CONFIG_") {
        let name_length = rest.find(' ').unwrap_or(rest.len());
        if name_length > 0 && rest[name_length..].starts_with(" is not set") {
            let name_end = "# CONFIG_".len() + name_length;
            return LineKind::NotSet { name: &text["# ".len()..name_end] };
        }
    }

    // The tool compares these comments with leading whitespace removed as well.
    match text.trim_start() {
        DEFAULT_PRAGMA => LineKind::DefaultPragma,
        DEPRECATED_START => LineKind::DeprecatedStart,
        DEPRECATED_END => LineKind::DeprecatedEnd,
        _ => LineKind::Other,
    }
}

/// Reads a file's bytes, mapping a missing file to `NotFound`.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, SdkConfigError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => SdkConfigError::NotFound { path: path.to_owned() },
        _ => SdkConfigError::Read { path: path.to_owned(), source },
    })
}

pub(crate) fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<SdkConfig, SdkConfigError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|error| SdkConfigError::NotUtf8 { path: path.to_owned(), offset: error.valid_up_to() })?;
    Ok(SdkConfig::parse(text))
}

#[cfg(test)]
mod tests;
