//! Conversion between `ConfigValue` and the text of one sdkconfig line, following the rules of
//! ESP-IDF's config tool (esp-idf-kconfig, based on kconfiglib).

use factory_core::{ConfigKey, ConfigValue};

use crate::SdkConfigError;

/// Renders the line that assigns `value` to `key`, without a line ending.
///
/// Strings are quoted and escaped the way the config tool writes them: every `\` becomes `\\`
/// first, then every `"` becomes `\"`. Strings with control characters and malformed hex
/// numbers are rejected, because either could end the line early or produce a value the
/// tool ignores.
pub(crate) fn render_assignment(key: &ConfigKey, value: &ConfigValue) -> Result<String, SdkConfigError> {
    let line = match value {
        ConfigValue::Bool(true) => format!("{key}=y"),
        ConfigValue::Bool(false) => format!("# {key} is not set"),
        ConfigValue::Int(number) => format!("{key}={number}"),
        ConfigValue::Hex(text) => {
            if !is_hex_number(text) {
                return Err(SdkConfigError::InvalidHex { key: key.to_string(), value: text.clone() });
            }
            format!("{key}={text}")
        }
        ConfigValue::String(text) => {
            check_no_control_characters(key, text)?;
            format!("{key}=\"{}\"", escape(text))
        }
    };
    Ok(line)
}

/// Reads the text after `=` of an assignment line that has already lost its trailing
/// whitespace. Returns `None` for text that the config tool ignores whatever the option's
/// type is.
///
/// Without the Kconfig files the option's type is unknown, so the text decides it:
/// - a leading `"` makes a string: the first quoted token, unescaped, with anything after
///   the closing quote ignored as the tool does;
/// - other text first loses an inline comment, which starts at the first `#` after whitespace;
/// - a leading `y` or `n` makes a bool, because the tool reads only the first character of a
///   bool value and no other type can start with these letters;
/// - `0x` or `0X` followed by hex digits makes a hex number, kept as written;
/// - an optional sign followed by decimal digits makes an integer.
pub(crate) fn parse_value(text: &str) -> Option<ConfigValue> {
    if text.starts_with('"') {
        return parse_quoted(text).map(ConfigValue::String);
    }

    let text = strip_inline_comment(text);
    if text.starts_with('y') {
        return Some(ConfigValue::Bool(true));
    }
    if text.starts_with('n') {
        return Some(ConfigValue::Bool(false));
    }

    // The tool converts numbers with Python's int(), which skips leading whitespace.
    let number = text.trim_start();
    if is_hex_number(number) {
        return Some(ConfigValue::Hex(number.to_owned()));
    }
    let digits = number.strip_prefix(['-', '+']).unwrap_or(number);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // NOTE: the tool accepts integers of any size, but one beyond i64 reads as `None` here.
        return number.parse().ok().map(ConfigValue::Int);
    }
    None
}

fn strip_inline_comment(text: &str) -> &str {
    let comment_start =
        text.char_indices().find(|&(index, c)| c == '#' && text[..index].ends_with(char::is_whitespace));
    match comment_start {
        Some((index, _)) => text[..index].trim_end(),
        None => text,
    }
}

/// Escapes a string value: `\` first, then `"`, so that the backslashes added for quotes are
/// not doubled.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Reads the quoted token at the start of `text`. A backslash followed by any character stands
/// for that character, so `\n` reads as `n`. Returns `None` when the closing quote is missing.
fn parse_quoted(text: &str) -> Option<String> {
    let mut characters = text.strip_prefix('"')?.chars();
    let mut value = String::new();
    while let Some(character) = characters.next() {
        match character {
            '"' => return Some(value),
            '\\' => value.push(characters.next()?),
            other => value.push(other),
        }
    }
    None
}

fn is_hex_number(text: &str) -> bool {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    digits.is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Rejects the ASCII control characters (below 0x20, and 0x7f). A line feed or carriage return
/// would split the line, and the others have no escape in the sdkconfig format.
fn check_no_control_characters(key: &ConfigKey, text: &str) -> Result<(), SdkConfigError> {
    let found = text.chars().enumerate().find(|(_, c)| u32::from(*c) < 0x20 || *c == '\u{7f}');
    match found {
        Some((position, character)) => Err(SdkConfigError::ControlCharacter {
            key: key.to_string(),
            character: format!("U+{:04X}", u32::from(character)),
            position,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ConfigKey {
        name.parse().unwrap()
    }

    #[test]
    fn render_assignment_covers_every_kind() {
        let cases = [
            (ConfigValue::Bool(true), "CONFIG_X=y"),
            (ConfigValue::Bool(false), "# CONFIG_X is not set"),
            (ConfigValue::Int(-42), "CONFIG_X=-42"),
            (ConfigValue::Hex("0x1F".to_owned()), "CONFIG_X=0x1F"),
            (ConfigValue::String(String::new()), "CONFIG_X=\"\""),
            (ConfigValue::String("plain".to_owned()), "CONFIG_X=\"plain\""),
            (ConfigValue::String(r#"say "hi""#.to_owned()), r#"CONFIG_X="say \"hi\"""#),
            (ConfigValue::String(r"C:\tmp\".to_owned()), r#"CONFIG_X="C:\\tmp\\""#),
            (ConfigValue::String(r#"\""#.to_owned()), r#"CONFIG_X="\\\"""#),
            (ConfigValue::String("grüße ✓".to_owned()), "CONFIG_X=\"grüße ✓\""),
        ];
        for (value, expected) in cases {
            assert_eq!(render_assignment(&key("CONFIG_X"), &value).unwrap(), expected, "{value:?}");
        }
    }

    #[test]
    fn render_assignment_rejects_control_characters() {
        let cases =
            [("a\nb", "U+000A", 1), ("\r", "U+000D", 0), ("ab\0", "U+0000", 2), ("x\u{7f}", "U+007F", 1)];
        for (text, character, position) in cases {
            let error =
                render_assignment(&key("CONFIG_NAME"), &ConfigValue::String(text.to_owned())).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("CONFIG_NAME"), "{message}");
            assert!(message.contains(character), "{message}");
            assert!(message.contains(&format!("position {position}")), "{message}");
        }
    }

    #[test]
    fn render_assignment_rejects_malformed_hex() {
        for text in ["", "0x", "1F", "0xZZ", "0x1\n"] {
            let error =
                render_assignment(&key("CONFIG_ADDR"), &ConfigValue::Hex(text.to_owned())).unwrap_err();
            assert!(error.to_string().contains("CONFIG_ADDR"), "{error}");
        }
    }

    #[test]
    fn parse_value_follows_tool_rules() {
        let string = |text: &str| Some(ConfigValue::String(text.to_owned()));
        let cases = [
            ("y", Some(ConfigValue::Bool(true))),
            ("n", Some(ConfigValue::Bool(false))),
            ("y # comment", Some(ConfigValue::Bool(true))),
            ("42", Some(ConfigValue::Int(42))),
            ("-7", Some(ConfigValue::Int(-7))),
            ("+7", Some(ConfigValue::Int(7))),
            (" 5", Some(ConfigValue::Int(5))),
            ("0x0000", Some(ConfigValue::Hex("0x0000".to_owned()))),
            ("0XaB", Some(ConfigValue::Hex("0XaB".to_owned()))),
            ("\"\"", string("")),
            ("\"esp32\"", string("esp32")),
            (r#""he said \"hi\"""#, string(r#"he said "hi""#)),
            (r#""C:\\tmp""#, string(r"C:\tmp")),
            (r#""\n\q""#, string("nq")),
            (r#""c4" # trailing comment"#, string("c4")),
            (r#""a" "b""#, string("a")),
            ("\"unterminated", None),
            (r#""ends in backslash\"#, None),
            ("unquoted", None),
            ("", None),
            ("12 # comment", Some(ConfigValue::Int(12))),
            ("0x1F\t# comment # more", Some(ConfigValue::Hex("0x1F".to_owned()))),
            ("n  #", Some(ConfigValue::Bool(false))),
            ("12#comment", None),
            ("# comment only", None),
            ("0x", None),
            ("99999999999999999999", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_value(text), expected, "{text}");
        }
    }

    #[test]
    fn rendered_strings_read_back_exactly() {
        for text in ["", r"\", r#"""#, r#"\\""\"#, r#"{"a":"b\"c","d":"e\\f"}"#, "ünïcødé ✓ 𝄞"] {
            let line = render_assignment(&key("CONFIG_X"), &ConfigValue::String(text.to_owned())).unwrap();
            let value_text = line.strip_prefix("CONFIG_X=").unwrap();
            assert_eq!(parse_value(value_text), Some(ConfigValue::String(text.to_owned())), "{line}");
        }
    }
}
