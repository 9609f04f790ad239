//! Export of freshly minted registrations as JSON or CSV: the one place their tokens are kept.

use chrono::SecondsFormat;
use registry::MintedRegistration;
use serde::Serialize;
use serde_json::Value;

/// One exported registration, with the field names the older provisioning scripts printed.
#[derive(Debug, Serialize)]
pub struct ExportedRegistration<'a> {
    pub node_id: &'a str,
    pub download_id: &'a str,
    pub ota_token: &'a str,
    pub ota_token_hash: &'a str,
    pub created_at: String,
    pub target_chip: Option<&'static str>,
    pub hardware_metadata: Option<Value>,
}

fn exported(minted: &MintedRegistration) -> ExportedRegistration<'_> {
    let registration = &minted.registration;
    ExportedRegistration {
        node_id: registration.node_id.as_str(),
        download_id: registration.download_id.as_str(),
        ota_token: minted.ota_token.expose_secret(),
        ota_token_hash: registration.token_hash.as_str(),
        created_at: registration.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        target_chip: registration.target_chip.map(|chip| chip.idf_target()),
        hardware_metadata: registration
            .hardware_metadata
            .as_ref()
            .map(|metadata| Value::Object(metadata.as_object().clone())),
    }
}

/// Formats the registrations as a pretty-printed JSON array.
pub fn to_json(minted: &[MintedRegistration]) -> String {
    let rows: Vec<_> = minted.iter().map(exported).collect();
    serde_json::to_string_pretty(&rows).expect("exported registrations always serialize")
}

/// CSV with a header row. Cells are neutralised so a spreadsheet never runs them as formulas.
pub fn to_csv(minted: &[MintedRegistration]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "node_id",
            "download_id",
            "ota_token",
            "ota_token_hash",
            "created_at",
            "target_chip",
            "hardware_metadata",
        ])
        .expect("writing to memory cannot fail");
    for entry in minted.iter().map(exported) {
        let metadata = entry.hardware_metadata.as_ref().map(Value::to_string).unwrap_or_default();
        let cells = [
            entry.node_id,
            entry.download_id,
            entry.ota_token,
            entry.ota_token_hash,
            &entry.created_at,
            entry.target_chip.unwrap_or(""),
            &metadata,
        ];
        writer
            .write_record(cells.iter().map(|cell| neutralise_cell(cell).into_owned()))
            .expect("writing to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory cannot fail"))
        .expect("CSV of UTF-8 text is UTF-8")
}

/// Prefixes a cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or
/// carriage return first) with an apostrophe, which spreadsheets show as text.
pub fn neutralise_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralise_cell_cases() {
        let cases = [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@cmd", "'@cmd"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("abc", "abc"),
            ("", ""),
            ("a=b", "a=b"),
        ];
        for (cell, expected) in cases {
            assert_eq!(neutralise_cell(cell), expected, "{cell:?}");
        }
    }
}
