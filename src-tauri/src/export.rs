//! Writing export files of a minted batch, which hold the only copy of the OTA tokens.

use std::io::Write;
use std::path::Path;

use registry::MintedRegistration;

use crate::dto::ExportFormat;
use crate::error::{CommandError, CommandResult};

/// Renders the batch in `format` with the workflow crate's exporter, which the command line
/// also uses.
pub fn render(minted: &[MintedRegistration], format: ExportFormat) -> Vec<u8> {
    let mut text = match format {
        ExportFormat::Json => bench::export::to_json(minted),
        ExportFormat::Csv => bench::export::to_csv(minted),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.into_bytes()
}

/// Writes the export owner-only through a temporary file in the same folder, because it holds
/// the only copy of the tokens and a half-written file would lose some.
pub fn write(path: &Path, contents: &[u8]) -> CommandResult<()> {
    let failed = |error: std::io::Error| {
        CommandError::new("export_failed", format!("failed to write {}: {error}", path.display()))
    };
    let folder = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));

    let mut builder = tempfile::Builder::new();
    builder.prefix(".node-factory-export-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(folder).map_err(failed)?;
    file.write_all(contents).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_write_is_owner_only() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("batch.csv");
        write(&path, b"x").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
