//! `node-factory list`: list registrations.

use clap::{Args, ValueEnum};
use factory_core::{Chip, Registration, RegistrationStatus};
use registry::{ListQuery, MAX_LIST_LIMIT, Registry};
use serde_json::json;

use super::format_time;
use crate::GlobalArgs;
use crate::failure::Failure;
use crate::table;

#[derive(Args)]
pub struct ListArgs {
    /// Only registrations in this status.
    #[arg(long, value_parser = parse_status)]
    status: Option<RegistrationStatus>,

    /// Only registrations for this chip.
    #[arg(long, value_parser = super::generate::parse_chip)]
    chip: Option<Chip>,

    /// Only registrations whose node ID, download ID, house or flashed MAC contains this text.
    #[arg(long)]
    search: Option<String>,

    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Table,
    Json,
    Csv,
}

fn parse_status(text: &str) -> Result<RegistrationStatus, String> {
    text.parse()
}

pub fn run(global: &GlobalArgs, args: &ListArgs) -> Result<(), Failure> {
    let registry = global.open_registry(crate::RegistryAccess::Existing)?;
    let query = ListQuery {
        status: args.status,
        target_chip: args.chip,
        search: args.search.clone(),
        limit: MAX_LIST_LIMIT,
        ..ListQuery::default()
    };
    let registrations = list_all(registry.as_ref(), query)?;

    let output = match args.format {
        ListFormat::Table => render_table(&registrations),
        ListFormat::Json => {
            let rows: Vec<_> = registrations.iter().map(row_json).collect();
            serde_json::to_string_pretty(&rows).expect("rows always serialize") + "\n"
        }
        ListFormat::Csv => render_csv(&registrations),
    };
    print!("{output}");
    Ok(())
}

/// Fetches every page of a query.
fn list_all(registry: &dyn Registry, mut query: ListQuery) -> Result<Vec<Registration>, Failure> {
    let mut registrations = Vec::new();
    loop {
        let page = registry.list(&query)?;
        let received = page.items.len() as u64;
        registrations.extend(page.items);
        if received == 0 || registrations.len() as u64 >= page.total {
            return Ok(registrations);
        }
        query.offset += received;
    }
}

const COLUMNS: [&str; 7] =
    ["node_id", "download_id", "target_chip", "status", "assigned_to", "provisioned_at", "created_at"];

fn cells(registration: &Registration) -> Vec<String> {
    vec![
        registration.node_id.to_string(),
        registration.download_id.to_string(),
        registration.target_chip.map(|chip| chip.to_string()).unwrap_or_default(),
        registration.status().to_string(),
        registration.assignment.as_ref().map(ToString::to_string).unwrap_or_default(),
        registration.provisioned_at.map(format_time).unwrap_or_default(),
        format_time(registration.created_at),
    ]
}

fn render_table(registrations: &[Registration]) -> String {
    let header = ["NODE ID", "DOWNLOAD ID", "CHIP", "STATUS", "ASSIGNED TO", "PROVISIONED AT", "CREATED AT"];
    let rows: Vec<Vec<String>> = registrations.iter().map(cells).collect();
    table::render(&header, &rows)
}

fn render_csv(registrations: &[Registration]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = COLUMNS.iter().chain(["hardware_metadata"].iter());
    writer.write_record(header).expect("writing to memory cannot fail");
    for registration in registrations {
        let metadata = registration.hardware_metadata.as_ref().map(|metadata| metadata.to_compact_json());
        let row: Vec<String> = cells(registration)
            .into_iter()
            .chain([metadata.unwrap_or_default()])
            .map(|cell| bench::export::neutralise_cell(&cell).into_owned())
            .collect();
        writer.write_record(row).expect("writing to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory cannot fail"))
        .expect("UTF-8 in, UTF-8 out")
}

fn row_json(registration: &Registration) -> serde_json::Value {
    json!({
        "node_id": registration.node_id,
        "download_id": registration.download_id,
        "target_chip": registration.target_chip,
        "status": registration.status(),
        "assigned_to": registration.assignment.as_ref().map(ToString::to_string),
        "assignment": registration.assignment,
        "provisioned_at": registration.provisioned_at.map(format_time),
        "created_at": format_time(registration.created_at),
        "hardware_metadata": registration.hardware_metadata,
    })
}
