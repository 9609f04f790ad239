//! Where a node finds its firmware: the manifest URL and the firmware folder.

use std::path::{Path, PathBuf};

use crate::{CoreError, DownloadId, truncate_for_message};

/// The public URL used when none is configured: the registry server's default address,
/// which serves OTA downloads under `/firmware/`.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// Checks that a public URL is an absolute http(s) URL without a query or fragment, and
/// returns it without a trailing slash.
pub fn validate_public_url(text: &str) -> Result<String, CoreError> {
    let reject = |reason: &str| CoreError::InvalidPublicUrl {
        value: truncate_for_message(text),
        reason: reason.to_owned(),
    };

    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| reject("expected a URL starting with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(reject("the URL has no host"));
    }
    if rest.contains(['?', '#']) || rest.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
        return Err(reject("the URL may not contain a query, a fragment, quotes or spaces"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// `<public URL>/firmware/<download ID>/manifest.json`.
pub fn manifest_url(public_url: &str, download_id: &DownloadId) -> String {
    format!("{}/firmware/{}/manifest.json", public_url.trim_end_matches('/'), download_id)
}

/// `<firmware dir>/<download ID>/`, the folder that holds a node's OTA images.
pub fn firmware_folder(firmware_dir: &Path, download_id: &DownloadId) -> PathBuf {
    firmware_dir.join(download_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_url_joins_without_double_slash() {
        let id = DownloadId::generate();
        assert_eq!(
            manifest_url("https://ota.example.com/", &id),
            format!("https://ota.example.com/firmware/{id}/manifest.json")
        );
    }

    #[test]
    fn public_url_validation() {
        assert_eq!(validate_public_url("https://ota.example.com/").unwrap(), "https://ota.example.com");
        for bad in ["ota.example.com", "ftp://x", "https://", "https://x/?a=1", "https://x y"] {
            assert!(validate_public_url(bad).is_err(), "{bad}");
        }
    }
}
