//! The config tool's own test inputs (esp-idf-kconfig `test/`), read and edited the way the tool
//! reads them: string escapes, the deprecated-options block and repeated assignments with
//! `# default:` lines. Also the hand-written `sdkconfig.defaults` input.

mod common;

use common::{data_dir, key};
use factory_core::ConfigValue;
use sdkconfig::SdkConfig;

fn read(relative: &str) -> String {
    let path = data_dir().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()))
}

fn string(text: &str) -> Option<ConfigValue> {
    Some(ConfigValue::String(text.to_owned()))
}

fn boolean(flag: bool) -> Option<ConfigValue> {
    Some(ConfigValue::Bool(flag))
}

/// Returns the text after `default ` in the definition of `option` in a Kconfig file.
fn kconfig_default(kconfig: &str, option: &str) -> String {
    let mut lines = kconfig.lines().skip_while(|line| line.trim() != format!("config {option}"));
    lines
        .find_map(|line| line.trim().strip_prefix("default ").map(str::to_owned))
        .unwrap_or_else(|| panic!("no default for {option}"))
}

#[test]
fn string_escape_matches_kconfig_literals() {
    // Kconfig string literals use the same escapes as sdkconfig values, so the tool writes
    // these defaults into sdkconfig with exactly the text they have in the Kconfig file.
    let kconfig = read("kconfig-semantics/Kconfig.string_escape");
    let cases = [("GREETING", r#"he said "hi""#), ("WINPATH", r"C:\tmp")];

    for (option, value) in cases {
        let literal = kconfig_default(&kconfig, option);
        let name = format!("CONFIG_{option}");

        let mut config = SdkConfig::parse("");
        config.set(&key(&name), &ConfigValue::String(value.to_owned())).unwrap();
        assert_eq!(config.to_text(), format!("{name}={literal}\n"), "{option}: write");

        let loaded = SdkConfig::parse(&format!("{name}={literal}\n"));
        assert_eq!(loaded.get(&key(&name)), string(value), "{option}: read");
    }
}

#[test]
fn deprecated_block_ignored_on_read() {
    let text = read("kconfig-semantics/deprecated.sdkconfig.with_deprecated_block");
    let config = SdkConfig::parse(&text);

    assert_eq!(config.get(&key("CONFIG_FEATURE_ENABLE")), boolean(true));
    assert_eq!(config.get(&key("CONFIG_FEATURE_SPEED")), Some(ConfigValue::Int(200)));
    assert_eq!(config.get(&key("CONFIG_OLD_FEATURE_ENABLE")), None);
    assert_eq!(config.get(&key("CONFIG_OLD_SPEED")), None);
}

#[test]
fn deprecated_block_untouched_by_edits() {
    let text = read("kconfig-semantics/deprecated.sdkconfig.with_deprecated_block");
    let block_start = text.find("# Deprecated options").unwrap();
    let mut config = SdkConfig::parse(&text);

    config.set(&key("CONFIG_OLD_SPEED"), &ConfigValue::Int(300)).unwrap();
    config.set(&key("CONFIG_FEATURE_NAME"), &ConfigValue::String("node".to_owned())).unwrap();
    config.remove(&key("CONFIG_OLD_FEATURE_ENABLE"));
    let patched = config.to_text();

    let expected_body = "CONFIG_FEATURE_ENABLE=y\nCONFIG_FEATURE_SPEED=200\nCONFIG_OLD_SPEED=300\nCONFIG_FEATURE_NAME=\"node\"\n\n";
    assert_eq!(&patched[..patched.len() - (text.len() - block_start)], expected_body);
    assert!(patched.ends_with(&text[block_start..]), "{patched}");
    assert_eq!(config.get(&key("CONFIG_OLD_SPEED")), Some(ConfigValue::Int(300)));
}

#[test]
fn old_names_read_by_value_kind() {
    let config = SdkConfig::parse(&read("kconfig-semantics/deprecated.sdkconfig.old_names"));
    assert_eq!(config.get(&key("CONFIG_OLD_FEATURE_ENABLE")), boolean(true));
    assert_eq!(config.get(&key("CONFIG_OLD_SPEED")), Some(ConfigValue::Int(200)));
    assert_eq!(config.get(&key("CONFIG_OLD_NAME")), string("custom_name"));
    assert_eq!(config.get(&key("CONFIG_OLD_ADDR")), Some(ConfigValue::Hex("0xAB".to_owned())));

    let both = SdkConfig::parse(&read("kconfig-semantics/deprecated.sdkconfig.both_names"));
    assert_eq!(both.get(&key("CONFIG_OLD_FEATURE_ENABLE")), boolean(false));
    assert_eq!(both.get(&key("CONFIG_FEATURE_ENABLE")), boolean(true));
}

#[test]
fn multiset_symbols_read_as_tool() {
    // The tool's own test expects CONTROL=1, MULTIPLE_DEFAULT="d3" (the last inferred value,
    // since none is user-set) and MULTIPLE_COMMON="c3" (the last user-set value, although an
    // inferred "c4" follows).
    let config = SdkConfig::parse(&read("kconfig-semantics/sdkconfig.multiset_symbols"));
    assert_eq!(config.get(&key("CONFIG_CONTROL")), Some(ConfigValue::Int(1)));
    assert_eq!(config.get(&key("CONFIG_MULTIPLE_DEFAULT")), string("d3"));
    assert_eq!(config.get(&key("CONFIG_MULTIPLE_COMMON")), string("c3"));
}

#[test]
fn multiset_symbols_collapse_on_set() {
    let text = read("kconfig-semantics/sdkconfig.multiset_symbols");
    let mut config = SdkConfig::parse(&text);
    config.set(&key("CONFIG_MULTIPLE_COMMON"), &ConfigValue::String("mine".to_owned())).unwrap();
    let patched = config.to_text();

    let assignments: Vec<&str> =
        patched.lines().filter(|line| line.starts_with("CONFIG_MULTIPLE_COMMON=")).collect();
    assert_eq!(assignments, ["CONFIG_MULTIPLE_COMMON=\"mine\""]);
    let lines: Vec<&str> = patched.lines().collect();
    let position = lines.iter().position(|line| line.starts_with("CONFIG_MULTIPLE_COMMON=")).unwrap();
    assert_ne!(lines[position - 1], "# default:");
    assert_eq!(config.get(&key("CONFIG_MULTIPLE_COMMON")), string("mine"));

    // Of the four assignments, the first is replaced and three are removed, together with the
    // two `# default:` lines directly above the first and the last. Every other line stays.
    assert_eq!(lines.len(), text.lines().count() - 5);
    assert_eq!(config.get(&key("CONFIG_MULTIPLE_DEFAULT")), string("d3"));
}

#[test]
fn multiset_choices_read_per_symbol() {
    // Choice groups are not modelled: each symbol is read on its own. These are the symbols
    // for which that matches the tool's result, including each choice's selected symbol.
    let config = SdkConfig::parse(&read("kconfig-semantics/sdkconfig.multiset_choices"));
    let cases = [
        ("CONFIG_ALPHA_CONTROL", true),
        ("CONFIG_BETA_CONTROL", false),
        ("CONFIG_GAMMA_CONTROL", false),
        ("CONFIG_BETA_DEFAULT", false),
        ("CONFIG_GAMMA_DEFAULT", true),
        ("CONFIG_BETA_COMMON", true),
        ("CONFIG_BETA_SECOND_DEFAULT", false),
        ("CONFIG_GAMMA_SECOND_DEFAULT", true),
        ("CONFIG_GAMMA_SECOND_COMMON", true),
    ];
    for (name, expected) in cases {
        assert_eq!(config.get(&key(name)), boolean(expected), "{name}");
    }
}

#[test]
fn defaults_file_reads_and_patches() {
    let text = read("sdkconfig-defaults/esp32_lifecycle_manager.sdkconfig.defaults");
    let config = SdkConfig::parse(&text);

    assert_eq!(config.get(&key("CONFIG_ESP_CONSOLE_UART_DEFAULT")), boolean(false));
    assert_eq!(config.get(&key("CONFIG_ESPTOOLPY_FLASHSIZE_2MB")), boolean(false));
    assert_eq!(config.get(&key("CONFIG_PARTITION_TABLE_FILENAME")), string("partitions.csv"));
    assert_eq!(
        config.get(&key("CONFIG_PARTITION_TABLE_OFFSET")),
        Some(ConfigValue::Hex("0x8000".to_owned()))
    );
    assert_eq!(config.get(&key("CONFIG_FREERTOS_IDLE_TASK_STACKSIZE")), None, "commented out");

    let mut patched = config.clone();
    patched.set(&key("CONFIG_ESP_CONSOLE_UART_DEFAULT"), &ConfigValue::Bool(true)).unwrap();
    patched.set(&key("CONFIG_FREERTOS_IDLE_TASK_STACKSIZE"), &ConfigValue::Int(1024)).unwrap();
    let patched = patched.to_text();

    let expected =
        text.replacen("CONFIG_ESP_CONSOLE_UART_DEFAULT=n\n", "CONFIG_ESP_CONSOLE_UART_DEFAULT=y\n", 1);
    let body_end = expected.trim_end().len() + 1;
    let expected = format!(
        "{}CONFIG_FREERTOS_IDLE_TASK_STACKSIZE=1024\n{}",
        &expected[..body_end],
        &expected[body_end..]
    );
    assert_eq!(patched, expected);
}
