//! Before/operation/after cases for `SdkConfig` edits, and the reading rules of `get`.

use factory_core::{ConfigKey, ConfigValue};

use super::{LineEnding, SdkConfig};

const DEPRECATED_BLOCK: &str = "# Deprecated options for backward compatibility\nCONFIG_OLD=y\nCONFIG_A=5\n# End of deprecated options\n";

enum Edit {
    Set(&'static str, ConfigValue),
    Remove(&'static str),
}

use Edit::{Remove, Set};

fn key(name: &str) -> ConfigKey {
    name.parse().unwrap()
}

fn int(number: i64) -> ConfigValue {
    ConfigValue::Int(number)
}

fn string(text: &str) -> ConfigValue {
    ConfigValue::String(text.to_owned())
}

fn apply(before: &str, edits: &[Edit]) -> String {
    let mut config = SdkConfig::parse(before);
    for edit in edits {
        match edit {
            Set(name, value) => config.set(&key(name), value).unwrap(),
            Remove(name) => {
                config.remove(&key(name));
            }
        }
    }
    config.to_text()
}

#[test]
fn edit_cases_keep_other_bytes() {
    let deprecated_after = format!("CONFIG_A=y\n\n{DEPRECATED_BLOCK}");
    let dangling_before_block = format!("CONFIG_A=y\n# default:\n\n{DEPRECATED_BLOCK}");
    let cases: Vec<(&str, &str, Vec<Edit>, String)> = vec![
        (
            "unchanged without edits",
            "# c\r\nCONFIG_A=y  \n\n\tx\r\nlast",
            vec![],
            "# c\r\nCONFIG_A=y  \n\n\tx\r\nlast".into(),
        ),
        (
            "CRLF kept on replace",
            "CONFIG_A=y\r\nCONFIG_B=1\r\n",
            vec![Set("CONFIG_B", int(2))],
            "CONFIG_A=y\r\nCONFIG_B=2\r\n".into(),
        ),
        (
            "CRLF used for new lines",
            "CONFIG_A=y\r\n",
            vec![Set("CONFIG_C", int(3))],
            "CONFIG_A=y\r\nCONFIG_C=3\r\n".into(),
        ),
        (
            "mixed endings: each line keeps its own, new lines follow the first",
            "CONFIG_A=1\nCONFIG_B=1\r\n",
            vec![Set("CONFIG_B", int(2)), Set("CONFIG_C", int(3))],
            "CONFIG_A=1\nCONFIG_B=2\r\nCONFIG_C=3\n".into(),
        ),
        (
            "no final newline: replace last line",
            "CONFIG_A=y\nCONFIG_B=1",
            vec![Set("CONFIG_B", int(2))],
            "CONFIG_A=y\nCONFIG_B=2".into(),
        ),
        (
            "no final newline: append",
            "CONFIG_A=y",
            vec![Set("CONFIG_C", int(3))],
            "CONFIG_A=y\nCONFIG_C=3".into(),
        ),
        (
            "no final newline: append with CRLF",
            "CONFIG_A=y\r\nCONFIG_B=1",
            vec![Set("CONFIG_C", int(3))],
            "CONFIG_A=y\r\nCONFIG_B=1\r\nCONFIG_C=3".into(),
        ),
        (
            "no final newline: remove last line",
            "CONFIG_A=y\nCONFIG_B=1",
            vec![Remove("CONFIG_B")],
            "CONFIG_A=y".into(),
        ),
        (
            "no final newline: edit elsewhere",
            "CONFIG_A=y\n# end",
            vec![Set("CONFIG_A", int(1))],
            "CONFIG_A=1\n# end".into(),
        ),
        (
            "empty file gets a final newline",
            "",
            vec![Set("CONFIG_A", ConfigValue::Bool(true))],
            "CONFIG_A=y\n".into(),
        ),
        (
            "is-not-set form replaced by y",
            "# CONFIG_A is not set\nCONFIG_B=1\n",
            vec![Set("CONFIG_A", ConfigValue::Bool(true))],
            "CONFIG_A=y\nCONFIG_B=1\n".into(),
        ),
        (
            "y replaced by is-not-set form",
            "CONFIG_A=y\n",
            vec![Set("CONFIG_A", ConfigValue::Bool(false))],
            "# CONFIG_A is not set\n".into(),
        ),
        (
            "=n form replaced",
            "CONFIG_A=n\n",
            vec![Set("CONFIG_A", ConfigValue::Bool(true))],
            "CONFIG_A=y\n".into(),
        ),
        (
            "duplicates: first keeps its position, later ones removed",
            "CONFIG_A=1\nCONFIG_B=y\n# CONFIG_A is not set\nCONFIG_A=3\n# tail\n",
            vec![Set("CONFIG_A", int(9))],
            "CONFIG_A=9\nCONFIG_B=y\n# tail\n".into(),
        ),
        (
            "default line above replaced assignment dropped",
            "# default:\nCONFIG_A=1\nCONFIG_B=2\n",
            vec![Set("CONFIG_A", int(5))],
            "CONFIG_A=5\nCONFIG_B=2\n".into(),
        ),
        (
            "default line above removed duplicate dropped",
            "CONFIG_A=1\n# default:\nCONFIG_A=2\n",
            vec![Set("CONFIG_A", int(3))],
            "CONFIG_A=3\n".into(),
        ),
        (
            "default line with CRLF dropped",
            "# default:\r\nCONFIG_A=1\r\n",
            vec![Set("CONFIG_A", int(3))],
            "CONFIG_A=3\r\n".into(),
        ),
        (
            "default line above another key kept",
            "# default:\nCONFIG_B=1\nCONFIG_A=1\n",
            vec![Set("CONFIG_A", int(2))],
            "# default:\nCONFIG_B=1\nCONFIG_A=2\n".into(),
        ),
        (
            "default line separated by blank line dropped",
            "# default:\n\nCONFIG_A=1\n",
            vec![Set("CONFIG_A", int(2))],
            "\nCONFIG_A=2\n".into(),
        ),
        (
            "every default line marking the assignment dropped",
            "# default:\n  # default:\n# note\nCONFIG_A=1\n",
            vec![Set("CONFIG_A", int(2))],
            "# note\nCONFIG_A=2\n".into(),
        ),
        (
            "default line consumed by another assignment kept",
            "# default:\nCONFIG_B=1\n\nCONFIG_A=1\n",
            vec![Set("CONFIG_A", int(2))],
            "# default:\nCONFIG_B=1\n\nCONFIG_A=2\n".into(),
        ),
        (
            "dangling default line dropped on append",
            "CONFIG_A=y\n# default:\n",
            vec![Set("CONFIG_B", int(1))],
            "CONFIG_A=y\nCONFIG_B=1\n".into(),
        ),
        (
            "dangling default line before deprecated block dropped on append",
            dangling_before_block.as_str(),
            vec![Set("CONFIG_B", int(1))],
            format!("CONFIG_A=y\nCONFIG_B=1\n\n{DEPRECATED_BLOCK}"),
        ),
        (
            "deprecated block untouched, append goes before it",
            deprecated_after.as_str(),
            vec![Set("CONFIG_OLD", ConfigValue::Bool(false))],
            format!("CONFIG_A=y\n# CONFIG_OLD is not set\n\n{DEPRECATED_BLOCK}"),
        ),
        (
            "key in main body and deprecated block: only main body edited",
            deprecated_after.as_str(),
            vec![Set("CONFIG_A", int(7))],
            format!("CONFIG_A=7\n\n{DEPRECATED_BLOCK}"),
        ),
        (
            "remove leaves deprecated block alone",
            deprecated_after.as_str(),
            vec![Remove("CONFIG_A")],
            format!("\n{DEPRECATED_BLOCK}"),
        ),
        (
            "deprecated block without end comment runs to end of file",
            "CONFIG_A=y\n# Deprecated options for backward compatibility\nCONFIG_OLD=y\n",
            vec![Set("CONFIG_OLD", int(1))],
            "CONFIG_A=y\nCONFIG_OLD=1\n# Deprecated options for backward compatibility\nCONFIG_OLD=y\n"
                .into(),
        ),
        (
            "append before trailing blank lines",
            "CONFIG_A=y\n\n\n",
            vec![Set("CONFIG_B", int(1))],
            "CONFIG_A=y\nCONFIG_B=1\n\n\n".into(),
        ),
        (
            "appends keep their order",
            "CONFIG_A=y\n",
            vec![Set("CONFIG_C", int(1)), Set("CONFIG_B", int(2))],
            "CONFIG_A=y\nCONFIG_C=1\nCONFIG_B=2\n".into(),
        ),
        (
            "commented-out assignment is not an assignment",
            "# CONFIG_A=512\n",
            vec![Set("CONFIG_A", int(1))],
            "# CONFIG_A=512\nCONFIG_A=1\n".into(),
        ),
        (
            "indented assignment is not an assignment",
            "  CONFIG_A=1\n",
            vec![Set("CONFIG_A", int(2))],
            "  CONFIG_A=1\nCONFIG_A=2\n".into(),
        ),
        (
            "longer key with same prefix untouched",
            "CONFIG_AB=1\n# CONFIG_AB is not set\n",
            vec![Set("CONFIG_A", int(2))],
            "CONFIG_AB=1\n# CONFIG_AB is not set\nCONFIG_A=2\n".into(),
        ),
        (
            "trailing whitespace of replaced line dropped",
            "CONFIG_A=1  \t\n",
            vec![Set("CONFIG_A", int(2))],
            "CONFIG_A=2\n".into(),
        ),
        (
            "stale metadata removed with its default line",
            "CONFIG_A=y\n# default:\nCONFIG_UL_NODE_METADATA=\"{}\"\nCONFIG_UL_NODE_METADATA=\"{\\\"a\\\":1}\"\nCONFIG_B=y\n",
            vec![Remove("CONFIG_UL_NODE_METADATA")],
            "CONFIG_A=y\nCONFIG_B=y\n".into(),
        ),
        (
            "remove missing key changes nothing",
            "CONFIG_A=y\n# c",
            vec![Remove("CONFIG_B")],
            "CONFIG_A=y\n# c".into(),
        ),
        (
            "JSON with quotes and backslashes escaped backslash first",
            "CONFIG_A=y\n",
            vec![Set("CONFIG_UL_NODE_METADATA", string(r#"{"name":"say \"hi\"","path":"C:\\tmp"}"#))],
            concat!(
                "CONFIG_A=y\n",
                r#"CONFIG_UL_NODE_METADATA="{\"name\":\"say \\\"hi\\\"\",\"path\":\"C:\\\\tmp\"}""#,
                "\n"
            )
            .into(),
        ),
    ];

    for (name, before, edits, after) in cases {
        assert_eq!(apply(before, &edits), after, "case: {name}");
    }
}

#[test]
fn parse_detects_line_ending_from_first_line() {
    let cases = [
        ("", LineEnding::Lf),
        ("CONFIG_A=y", LineEnding::Lf),
        ("a\nb\r\n", LineEnding::Lf),
        ("a\r\nb\n", LineEnding::CrLf),
    ];
    for (text, expected) in cases {
        assert_eq!(SdkConfig::parse(text).line_ending(), expected, "{text:?}");
    }
}

#[test]
fn get_follows_tool_rules() {
    let body_then_block = format!("CONFIG_A=1\n{DEPRECATED_BLOCK}");
    let block_then_body = format!("{DEPRECATED_BLOCK}CONFIG_A=3\n");
    let cancelled_by_block = format!("CONFIG_A=1\n# default:\n{DEPRECATED_BLOCK}CONFIG_A=2\n");
    let cases: Vec<(&str, &str, Option<ConfigValue>)> = vec![
        ("missing key", "CONFIG_B=1\n", None),
        ("last assignment wins", "CONFIG_A=1\nCONFIG_A=2\n", Some(int(2))),
        ("CRLF is harmless", "CONFIG_A=\"x\"\r\n", Some(string("x"))),
        ("is-not-set reads as false", "# CONFIG_A is not set\n", Some(ConfigValue::Bool(false))),
        ("=n reads as false", "CONFIG_A=n\n", Some(ConfigValue::Bool(false))),
        (
            "user-set beats later default",
            "CONFIG_A=\"c3\"\n# default:\nCONFIG_A=\"c4\"\n",
            Some(string("c3")),
        ),
        (
            "last default when nothing is user-set",
            "# default:\nCONFIG_A=1\n# default:\nCONFIG_A=2\n",
            Some(int(2)),
        ),
        ("deprecated block ignored", &body_then_block, Some(int(1))),
        ("only in deprecated block", DEPRECATED_BLOCK, None),
        ("malformed later assignment ignored", "CONFIG_A=\"x\"\nCONFIG_A=unquoted\n", Some(string("x"))),
        ("escapes read as the character", "CONFIG_A=\"a\\\\b\\\"c\\n\"\n", Some(string("a\\b\"cn"))),
        ("commented-out assignment ignored", "# CONFIG_A=512\n", None),
        ("inline comment after number ignored", "CONFIG_A=7 # note\n", Some(int(7))),
        (
            "default line marks assignment after comments",
            "CONFIG_A=1\n# default:\n# c\n\nCONFIG_A=2\n",
            Some(int(1)),
        ),
        (
            "default line consumed by other key",
            "CONFIG_A=1\n# default:\nCONFIG_B=1\nCONFIG_A=2\n",
            Some(int(2)),
        ),
        ("default line cancelled by block comments", &cancelled_by_block, Some(int(2))),
        ("assignment after deprecated block read", &block_then_body, Some(int(3))),
    ];
    for (name, text, expected) in cases {
        assert_eq!(SdkConfig::parse(text).get(&key("CONFIG_A")), expected, "case: {name}");
    }
}

#[test]
fn set_reads_back_under_tool_rules() {
    let values = [
        ConfigValue::Bool(true),
        ConfigValue::Bool(false),
        int(i64::MIN),
        ConfigValue::Hex("0x3F".to_owned()),
        string(""),
        string(r#"{"name":"a \"quoted\" word","path":"C:\\dir\\","emoji":"💡","nested":"\\\""}"#),
    ];
    for value in values {
        let mut config = SdkConfig::parse("# default:\nCONFIG_A=\"old\"\nCONFIG_A=\"older\"\n");
        config.set(&key("CONFIG_A"), &value).unwrap();
        assert_eq!(config.get(&key("CONFIG_A")), Some(value.clone()));

        let reparsed = SdkConfig::parse(&config.to_text());
        assert_eq!(reparsed.get(&key("CONFIG_A")), Some(value));
    }
}

#[test]
fn set_rejects_control_characters_without_change() {
    let before = "CONFIG_A=\"ok\"\n";
    for text in ["line\nbreak", "carriage\rreturn", "nul\0", "tab\t", "escape\u{1b}", "delete\u{7f}"] {
        let mut config = SdkConfig::parse(before);
        let error = config.set(&key("CONFIG_A"), &string(text)).unwrap_err();
        assert!(error.to_string().contains("CONFIG_A"), "{error}");
        assert!(error.to_string().contains("control character"), "{error}");
        assert_eq!(config.to_text(), before);
    }
}

#[test]
fn remove_reports_whether_key_existed() {
    let mut config = SdkConfig::parse("CONFIG_A=1\n");
    assert!(config.remove(&key("CONFIG_A")));
    assert!(!config.remove(&key("CONFIG_A")));
    assert_eq!(config.to_text(), "");
}

#[test]
fn debug_hides_contents() {
    let config = SdkConfig::parse("CONFIG_UL_OTA_BEARER_TOKEN=\"ulota_secret\"\n");
    let printed = format!("{config:?}");
    assert!(!printed.contains("ulota_secret"), "{printed}");
    assert!(printed.contains("lines: 1"), "{printed}");
}
