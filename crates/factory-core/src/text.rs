//! Shortening values that error messages and logs repeat back to the user.

/// The most characters of a user-supplied value that a message repeats.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Returns `text` cut to [`MAX_ECHOED_CHARS`] characters, with `…` marking a cut, so that an
/// oversized value cannot blow up an error body or a log line.
pub fn truncate_for_message(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_text() {
        assert_eq!(truncate_for_message("abc"), "abc");
        assert_eq!(truncate_for_message(&"x".repeat(64)), "x".repeat(64));
    }

    #[test]
    fn truncate_cuts_long_text_on_char_boundary() {
        let cut = truncate_for_message(&"é".repeat(100));
        assert_eq!(cut.chars().count(), 65);
        assert!(cut.ends_with('…'));
    }
}
