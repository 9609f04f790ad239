//! Flash plans: what to write where, read from an ESP-IDF build folder, an ELF file or explicit
//! `ADDRESS:FILE` pairs. A plan names files; it reads none of them until it is checked.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use factory_core::Chip;
use serde_json::{Map, Value};

use crate::error::FlashError;

/// The file name ESP-IDF writes into every build folder to describe how to flash it.
pub const FLASHER_ARGS_FILE: &str = "flasher_args.json";

/// A flash plan: the regions (or the ELF) to write and what the plan itself declares about the
/// board. Build one with [`FlashPlan::from_build_folder`], [`FlashPlan::from_elf`] or
/// [`FlashPlan::from_regions`]; check it with [`FlashPlan::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashPlan {
    /// The plan's origin.
    pub source: PlanSource,
    /// The images to write.
    pub content: PlanContent,
    /// The chip the plan declares, with the evidence for it.
    pub declared_chip: Option<ChipClaim>,
    /// The flash size the plan declares, in bytes; `None` for `detect`/`keep` or no declaration.
    pub flash_size: Option<u64>,
    /// The flash mode the plan declares (`dio`, `qio`, ...). Informational: espflash does not patch
    /// the bootloader header of raw images.
    pub flash_mode: Option<String>,
    /// The flash frequency the plan declares (`40m`, `80m`). Informational, like `flash_mode`.
    pub flash_freq: Option<String>,
}

/// The origin of a plan, for messages and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanSource {
    /// An ESP-IDF build folder and its `flasher_args.json`.
    BuildFolder { folder: PathBuf, flasher_args: PathBuf },
    /// An ELF file converted with espflash's ESP-IDF image format.
    Elf { path: PathBuf },
    /// Explicit `ADDRESS:FILE` pairs.
    Regions,
}

/// The images a plan writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanContent {
    /// Raw images at fixed offsets.
    Regions(Vec<PlannedRegion>),
    /// An application ELF, which espflash turns into a bootloader, a partition table and an app
    /// image. The bundled bootloader depends on the connected chip's crystal, so the final bytes
    /// are known only after connecting.
    Elf(ElfImage),
}

/// One raw image of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRegion {
    /// Flash offset in bytes.
    pub offset: u32,
    /// The image file. Relative paths of a build folder plan are already joined to the folder.
    pub path: PathBuf,
    /// The part this image plays (`bootloader`, `partition-table`, `app`, `otadata`, ...), when
    /// the plan names it.
    pub role: Option<String>,
}

/// The inputs of an ELF plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElfImage {
    /// The application ELF.
    pub path: PathBuf,
    /// A second-stage bootloader `.bin` to use instead of the one bundled with espflash.
    pub bootloader: Option<PathBuf>,
    /// A partition table (`.csv` or `.bin`) to use instead of espflash's default single-app table.
    pub partition_table: Option<PathBuf>,
}

/// A chip named by some piece of evidence, for example the `chip` field of a `flasher_args.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipClaim {
    pub chip: Chip,
    /// The source of the claim, phrased to start a sentence ("the chip field of FILE").
    pub evidence: String,
}

impl FlashPlan {
    /// Reads the `flasher_args.json` of an ESP-IDF build folder. `folder` is the build folder
    /// itself or a project folder that contains `build/`.
    pub fn from_build_folder(folder: &Path) -> Result<FlashPlan, FlashError> {
        let direct = folder.join(FLASHER_ARGS_FILE);
        let nested = folder.join("build").join(FLASHER_ARGS_FILE);
        if !direct.is_file() && nested.is_file() {
            return FlashPlan::from_flasher_args(&nested);
        }
        FlashPlan::from_flasher_args(&direct)
    }

    /// Reads a `flasher_args.json`; file paths inside it are relative to its folder.
    pub fn from_flasher_args(json_path: &Path) -> Result<FlashPlan, FlashError> {
        let text = fs::read_to_string(json_path).map_err(|error| FlashError::FileMissing {
            path: json_path.to_owned(),
            role: FLASHER_ARGS_FILE.to_owned(),
            detail: error.to_string(),
        })?;
        let folder = json_path.parent().map(Path::to_owned).unwrap_or_default();
        parse_flasher_args(&text, json_path, &folder)
    }

    /// Plans to flash an application ELF. The chip comes from the ELF's `build_info.CHIP_NAME`
    /// metadata when the ELF has it, and otherwise from the job's expected chip.
    pub fn from_elf(image: ElfImage) -> FlashPlan {
        FlashPlan {
            source: PlanSource::Elf { path: image.path.clone() },
            content: PlanContent::Elf(image),
            declared_chip: None,
            flash_size: None,
            flash_mode: None,
            flash_freq: None,
        }
    }

    /// Plans to write the given images; relative paths are taken as they are (relative to the
    /// working directory).
    pub fn from_regions(regions: Vec<PlannedRegion>) -> FlashPlan {
        FlashPlan {
            source: PlanSource::Regions,
            content: PlanContent::Regions(regions),
            declared_chip: None,
            flash_size: None,
            flash_mode: None,
            flash_freq: None,
        }
    }

    /// Parses `ADDRESS:FILE` arguments such as `0x10000:app.bin` or `65536:app.bin`.
    pub fn from_region_args<S: AsRef<str>>(args: &[S]) -> Result<FlashPlan, FlashError> {
        let regions =
            args.iter().map(|arg| arg.as_ref().parse()).collect::<Result<Vec<PlannedRegion>, _>>()?;
        Ok(FlashPlan::from_regions(regions))
    }

    /// Describes the plan for messages: the build folder, the ELF path or "explicit regions".
    pub fn describe(&self) -> String {
        match &self.source {
            PlanSource::BuildFolder { folder, .. } => format!("build folder {}", folder.display()),
            PlanSource::Elf { path } => format!("ELF {}", path.display()),
            PlanSource::Regions => "explicit regions".to_owned(),
        }
    }
}

impl FromStr for PlannedRegion {
    type Err = FlashError;

    /// Parses `ADDRESS:FILE`. The address is hexadecimal with `0x` or decimal. Only the first `:`
    /// separates, so a Windows path such as `0x0:C:\fw\boot.bin` keeps its drive letter.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |detail: String| FlashError::plan_invalid(format!("region `{text}`"), detail);

        let (address, path) = text
            .split_once(':')
            .ok_or_else(|| invalid("expected ADDRESS:FILE, for example 0x10000:app.bin".to_owned()))?;
        let offset = parse_offset(address).map_err(invalid)?;
        if path.trim().is_empty() {
            return Err(invalid("the file after the `:` is missing, for example 0x10000:app.bin".to_owned()));
        }
        Ok(PlannedRegion { offset, path: PathBuf::from(path.trim()), role: None })
    }
}

impl fmt::Display for PlannedRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.role {
            Some(role) => write!(f, "{role} ({}) at {:#x}", self.path.display(), self.offset),
            None => write!(f, "{} at {:#x}", self.path.display(), self.offset),
        }
    }
}

/// Parses a flash offset: `0x` or `0X` followed by hexadecimal digits in either case, or decimal.
pub fn parse_offset(text: &str) -> Result<u32, String> {
    let trimmed = text.trim();
    let parsed = match trimmed.strip_prefix("0x").or_else(|| trimmed.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => trimmed.parse::<u32>(),
    };
    parsed.map_err(|_| {
        format!("`{trimmed}` is not a flash offset; write it as hexadecimal with 0x (0x10000) or as decimal (65536)")
    })
}

/// Parses an esptool flash size (`4MB`, `512KB`); `detect` and `keep` give `None`.
pub fn parse_flash_size(text: &str) -> Result<Option<u64>, String> {
    let folded = text.trim().to_ascii_uppercase();
    if folded == "DETECT" || folded == "KEEP" {
        return Ok(None);
    }
    let (number, unit) = if let Some(number) = folded.strip_suffix("MB") {
        (number, 1024 * 1024)
    } else if let Some(number) = folded.strip_suffix("KB") {
        (number, 1024)
    } else {
        return Err(format!("`{text}` is not a flash size; expected for example 4MB, 512KB or detect"));
    };
    let count: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a flash size; expected for example 4MB, 512KB or detect"))?;
    Ok(Some(count * unit))
}

/// The flash settings of a `flasher_args.json`, before validation.
#[derive(Default)]
struct FlashSettingsText {
    mode: Option<String>,
    size: Option<String>,
    freq: Option<String>,
}

/// Parses the text of a `flasher_args.json`. Accepts what ESP-IDF 4.0 to 5.5 write: the
/// `partition_table` and `partition-table` keys, `encrypted` as a boolean or a string, esptool v4
/// (`--flash_mode`) and v5 (`--flash-mode`) spellings, and offsets in either hex case.
pub(crate) fn parse_flasher_args(
    text: &str,
    json_path: &Path,
    folder: &Path,
) -> Result<FlashPlan, FlashError> {
    let file = json_path.display().to_string();
    let root: Value = serde_json::from_str(text).map_err(|error| {
        FlashError::plan_invalid(&file, format!("not valid JSON ({error}); rebuild the firmware"))
    })?;
    let root = root
        .as_object()
        .ok_or_else(|| FlashError::plan_invalid(&file, "the top level is not a JSON object"))?;

    let mut regions = parse_flash_files(root, &file, folder)?;
    apply_role_entries(root, &file, folder, &mut regions)?;
    reject_encrypted_files(root, &file)?;
    regions.sort_by_key(|region| region.offset);

    let settings = parse_flash_settings(root, &file)?;
    let flash_size = match &settings.size {
        Some(size) => parse_flash_size(size)
            .map_err(|detail| FlashError::plan_invalid(format!("{file}: flash size"), detail))?,
        None => None,
    };

    let declared_chip = parse_chip_field(root, &file)?;

    Ok(FlashPlan {
        source: PlanSource::BuildFolder { folder: folder.to_owned(), flasher_args: json_path.to_owned() },
        content: PlanContent::Regions(regions),
        declared_chip,
        flash_size,
        flash_mode: settings.mode,
        flash_freq: settings.freq,
    })
}

fn parse_flash_files(
    root: &Map<String, Value>,
    file: &str,
    folder: &Path,
) -> Result<Vec<PlannedRegion>, FlashError> {
    let location = format!("{file}: flash_files");
    let flash_files = root
        .get("flash_files")
        .ok_or_else(|| {
            FlashError::plan_invalid(
                &location,
                "the field is missing; rebuild the firmware with idf.py build",
            )
        })?
        .as_object()
        .ok_or_else(|| {
            FlashError::plan_invalid(&location, "expected an object of \"OFFSET\": \"FILE\" entries")
        })?;
    if flash_files.is_empty() {
        return Err(FlashError::plan_invalid(&location, "no files to flash"));
    }

    let mut regions = Vec::with_capacity(flash_files.len());
    for (offset_text, path_value) in flash_files {
        let entry_location = format!("{location}: \"{offset_text}\"");
        let offset =
            parse_offset(offset_text).map_err(|detail| FlashError::plan_invalid(&entry_location, detail))?;
        let path = path_value.as_str().ok_or_else(|| {
            FlashError::plan_invalid(&entry_location, format!("expected a file name, found {path_value}"))
        })?;
        regions.push(PlannedRegion { offset, path: folder.join(path), role: None });
    }
    Ok(regions)
}

/// Names the regions after the role entries (`"bootloader": { "offset", "file" }` and so on), and
/// rejects a role entry that contradicts `flash_files`, because then it is unclear which image
/// belongs where.
fn apply_role_entries(
    root: &Map<String, Value>,
    file: &str,
    folder: &Path,
    regions: &mut [PlannedRegion],
) -> Result<(), FlashError> {
    for (key, value) in root {
        let Some(entry) = value.as_object() else { continue };
        let (Some(offset_value), Some(path_value)) = (entry.get("offset"), entry.get("file")) else {
            continue;
        };

        let location = format!("{file}: {key}");
        let offset_text = offset_value.as_str().ok_or_else(|| {
            FlashError::plan_invalid(
                format!("{location}.offset"),
                format!("expected a string, found {offset_value}"),
            )
        })?;
        let offset = parse_offset(offset_text)
            .map_err(|detail| FlashError::plan_invalid(format!("{location}.offset"), detail))?;
        let path_text = path_value.as_str().ok_or_else(|| {
            FlashError::plan_invalid(
                format!("{location}.file"),
                format!("expected a string, found {path_value}"),
            )
        })?;
        let path = folder.join(path_text);

        if let Some(encrypted) = entry.get("encrypted") {
            let encrypted = parse_json_bool(encrypted)
                .map_err(|detail| FlashError::plan_invalid(format!("{location}.encrypted"), detail))?;
            if encrypted {
                return Err(FlashError::plan_invalid(
                    format!("{location}.encrypted"),
                    "the image is marked for flash encryption, which this flasher does not write; build without \
                     CONFIG_SECURE_FLASH_ENC_ENABLED or flash this board with idf.py",
                ));
            }
        }

        let region = regions.iter_mut().find(|region| region.offset == offset).ok_or_else(|| {
            FlashError::plan_invalid(
                &location,
                format!("names {path_text} at {offset:#x}, but flash_files has nothing at that offset; rebuild the firmware"),
            )
        })?;
        if region.path != path {
            return Err(FlashError::plan_invalid(
                &location,
                format!(
                    "names {path_text} at {offset:#x}, but flash_files puts {} there; rebuild the firmware",
                    region.path.strip_prefix(folder).unwrap_or(&region.path).display()
                ),
            ));
        }
        region.role = Some(key.replace('_', "-"));
    }
    Ok(())
}

/// Rejects the encrypted file lists that flash-encryption builds add, for the same reason as an
/// `encrypted: true` role entry.
fn reject_encrypted_files(root: &Map<String, Value>, file: &str) -> Result<(), FlashError> {
    for key in ["encrypted_flash_files", "encrypted-flash-files"] {
        if let Some(Value::Object(files)) = root.get(key)
            && !files.is_empty()
        {
            return Err(FlashError::plan_invalid(
                format!("{file}: {key}"),
                "the build asks for flash encryption, which this flasher does not write; build without \
                 CONFIG_SECURE_FLASH_ENC_ENABLED or flash this board with idf.py",
            ));
        }
    }
    Ok(())
}

/// Reads `true`/`false` as a JSON boolean or as the strings ESP-IDF 4.4 and later write.
fn parse_json_bool(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("expected true or false, found {other}")),
    }
}

/// Takes the flash settings from `write_flash_args` (what esptool would be given) and falls back to
/// the `flash_settings` object for each setting the arguments leave out.
fn parse_flash_settings(root: &Map<String, Value>, file: &str) -> Result<FlashSettingsText, FlashError> {
    let mut settings = FlashSettingsText::default();

    if let Some(args_value) = root.get("write_flash_args") {
        let location = format!("{file}: write_flash_args");
        let args = args_value
            .as_array()
            .ok_or_else(|| FlashError::plan_invalid(&location, "expected a list of esptool arguments"))?;
        let args: Vec<&str> = args
            .iter()
            .map(|arg| {
                arg.as_str().ok_or_else(|| {
                    FlashError::plan_invalid(&location, format!("expected strings, found {arg}"))
                })
            })
            .collect::<Result<_, _>>()?;
        read_esptool_args(&args, &mut settings)
            .map_err(|detail| FlashError::plan_invalid(&location, detail))?;
    }

    if let Some(object) = root.get("flash_settings").and_then(Value::as_object) {
        let field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
        settings.mode = settings.mode.or_else(|| field("flash_mode"));
        settings.size = settings.size.or_else(|| field("flash_size"));
        settings.freq = settings.freq.or_else(|| field("flash_freq"));
    }
    Ok(settings)
}

/// Reads the flash settings out of esptool arguments, in the v4 (`--flash_mode dio`), v5
/// (`--flash-mode dio`), `--flag=value` and short (`-fm dio`) spellings. Other arguments are
/// ignored because they do not describe the image.
fn read_esptool_args(args: &[&str], settings: &mut FlashSettingsText) -> Result<(), String> {
    let mut index = 0;
    while index < args.len() {
        let (flag, inline_value) = match args[index].split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (args[index], None),
        };
        let slot = match flag.replace('_', "-").as_str() {
            "--flash-mode" | "-fm" => Some(&mut settings.mode),
            "--flash-size" | "-fs" => Some(&mut settings.size),
            "--flash-freq" | "-ff" => Some(&mut settings.freq),
            _ => None,
        };
        if let Some(slot) = slot {
            let value = match inline_value {
                Some(value) => value,
                None => {
                    index += 1;
                    *args.get(index).ok_or_else(|| format!("`{flag}` has no value after it"))?
                }
            };
            *slot = Some(value.to_owned());
        }
        index += 1;
    }
    Ok(())
}

fn parse_chip_field(root: &Map<String, Value>, file: &str) -> Result<Option<ChipClaim>, FlashError> {
    let Some(chip_value) = root.get("extra_esptool_args").and_then(|extra| extra.get("chip")) else {
        return Ok(None);
    };
    let location = format!("{file}: extra_esptool_args.chip");
    let chip_text = chip_value.as_str().ok_or_else(|| {
        FlashError::plan_invalid(&location, format!("expected a chip name, found {chip_value}"))
    })?;
    let chip = chip_text.parse::<Chip>().map_err(|_| {
        FlashError::plan_invalid(
            &location,
            format!("`{chip_text}` is not a chip Node Factory provisions (esp32, esp32c3, esp32s3); rebuild for one of them"),
        )
    })?;
    Ok(Some(ChipClaim { chip, evidence: format!("the chip field of {file}") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FlashPlan, FlashError> {
        parse_flasher_args(text, Path::new("/b/flasher_args.json"), Path::new("/b"))
    }

    fn regions(plan: &FlashPlan) -> &[PlannedRegion] {
        match &plan.content {
            PlanContent::Regions(regions) => regions,
            PlanContent::Elf(_) => panic!("expected regions"),
        }
    }

    #[test]
    fn offsets_parse_hex_and_decimal() {
        let cases = [
            ("0x0", 0),
            ("0x1000", 0x1000),
            ("0XD000", 0xd000),
            ("0xd000", 0xd000),
            ("65536", 0x10000),
            (" 0x8000 ", 0x8000),
        ];
        for (text, offset) in cases {
            assert_eq!(parse_offset(text), Ok(offset), "{text}");
        }
        for text in ["", "0x", "x10", "0x1_000", "-1", "0x100000000", "ten"] {
            let message = parse_offset(text).unwrap_err();
            assert!(message.contains("not a flash offset"), "{message}");
        }
    }

    #[test]
    fn flash_sizes_parse() {
        assert_eq!(parse_flash_size("4MB"), Ok(Some(4 * 1024 * 1024)));
        assert_eq!(parse_flash_size("16mb"), Ok(Some(16 * 1024 * 1024)));
        assert_eq!(parse_flash_size("512KB"), Ok(Some(512 * 1024)));
        assert_eq!(parse_flash_size("detect"), Ok(None));
        assert_eq!(parse_flash_size("keep"), Ok(None));
        assert!(parse_flash_size("4M").is_err());
        assert!(parse_flash_size("fourMB").is_err());
    }

    #[test]
    fn region_text_parses() {
        let region: PlannedRegion = "0x10000:app.bin".parse().unwrap();
        assert_eq!(region, PlannedRegion { offset: 0x10000, path: "app.bin".into(), role: None });

        let region: PlannedRegion = "4096:build/boot.bin".parse().unwrap();
        assert_eq!(region.offset, 0x1000);

        let region: PlannedRegion = r"0x0:C:\fw\boot.bin".parse().unwrap();
        assert_eq!(region.path, PathBuf::from(r"C:\fw\boot.bin"));
    }

    #[test]
    fn region_text_errors_name_the_argument() {
        for text in ["app.bin", "0x10000:", "0xZZ:app.bin", ":app.bin"] {
            let error = text.parse::<PlannedRegion>().unwrap_err();
            assert_eq!(error.code(), crate::ErrorCode::PlanInvalid);
            assert!(error.to_string().contains(&format!("region `{text}`")), "{error}");
        }
    }

    #[test]
    fn esptool_v5_spellings_are_read() {
        let plan = parse(
            r#"{ "write_flash_args": ["--flash-mode", "qio", "--flash-size=8MB", "-ff", "80m", "--compress"],
                 "flash_files": { "0x0": "bootloader/bootloader.bin", "0x10000": "app.bin" } }"#,
        )
        .unwrap();
        assert_eq!(plan.flash_mode.as_deref(), Some("qio"));
        assert_eq!(plan.flash_size, Some(8 * 1024 * 1024));
        assert_eq!(plan.flash_freq.as_deref(), Some("80m"));
        assert_eq!(plan.declared_chip, None);
        assert_eq!(regions(&plan)[0].path, PathBuf::from("/b/bootloader/bootloader.bin"));
    }

    #[test]
    fn flash_settings_fill_in_missing_args() {
        let plan = parse(
            r#"{ "write_flash_args": ["--flash_mode", "dio"],
                 "flash_settings": { "flash_mode": "qio", "flash_size": "2MB", "flash_freq": "40m" },
                 "flash_files": { "0x10000": "app.bin" } }"#,
        )
        .unwrap();
        assert_eq!(plan.flash_mode.as_deref(), Some("dio"));
        assert_eq!(plan.flash_size, Some(2 * 1024 * 1024));
        assert_eq!(plan.flash_freq.as_deref(), Some("40m"));
    }

    #[test]
    fn role_entries_label_regions_and_accept_string_booleans() {
        let plan = parse(
            r#"{ "flash_files": { "0X8000": "pt.bin", "0x10000": "app.bin" },
                 "partition-table": { "offset": "0x8000", "file": "pt.bin", "encrypted": "false" },
                 "app": { "offset": "0x10000", "file": "app.bin", "encrypted": false } }"#,
        )
        .unwrap();
        let roles: Vec<Option<&str>> = regions(&plan).iter().map(|region| region.role.as_deref()).collect();
        assert_eq!(roles, [Some("partition-table"), Some("app")]);
    }

    #[test]
    fn encrypted_images_are_rejected() {
        let error = parse(
            r#"{ "flash_files": { "0x10000": "app.bin" },
                 "app": { "offset": "0x10000", "file": "app.bin", "encrypted": "true" } }"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("app.encrypted"), "{error}");

        let error = parse(r#"{ "flash_files": { "0x10000": "app.bin" }, "app": { "offset": "0x10000", "file": "app.bin", "encrypted": "maybe" } }"#)
            .unwrap_err();
        assert!(error.to_string().contains("expected true or false"), "{error}");
    }

    #[test]
    fn contradicting_role_entry_is_rejected() {
        let error = parse(
            r#"{ "flash_files": { "0x10000": "app.bin" }, "app": { "offset": "0x10000", "file": "other.bin" } }"#,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("/b/flasher_args.json: app"), "{message}");
        assert!(message.contains("flash_files puts app.bin there"), "{message}");

        let error =
            parse(r#"{ "flash_files": { "0x10000": "app.bin" }, "otadata": { "offset": "0xd000", "file": "ota.bin" } }"#)
                .unwrap_err();
        assert!(error.to_string().contains("nothing at that offset"), "{error}");
    }

    #[test]
    fn malformed_files_name_the_field() {
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "top level is not a JSON object"),
            ("{}", "flash_files: the field is missing"),
            (r#"{ "flash_files": {} }"#, "no files to flash"),
            (r#"{ "flash_files": { "0xG": "a.bin" } }"#, "flash_files: \"0xG\""),
            (r#"{ "flash_files": { "0x0": 5 } }"#, "expected a file name"),
            (
                r#"{ "flash_files": { "0x0": "a.bin" }, "write_flash_args": ["--flash_size"] }"#,
                "has no value",
            ),
            (
                r#"{ "flash_files": { "0x0": "a.bin" }, "write_flash_args": ["--flash_size", "huge"] }"#,
                "not a flash size",
            ),
            (
                r#"{ "flash_files": { "0x0": "a.bin" }, "extra_esptool_args": { "chip": "esp32s2" } }"#,
                "extra_esptool_args.chip",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.code(), crate::ErrorCode::PlanInvalid, "{text}");
            let message = error.to_string();
            assert!(message.contains("/b/flasher_args.json"), "{message}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn missing_flasher_args_is_file_missing() {
        let folder = tempfile::tempdir().unwrap();
        let error = FlashPlan::from_build_folder(folder.path()).unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::FileMissing);
        assert!(error.to_string().contains("flasher_args.json"), "{error}");
    }
}
