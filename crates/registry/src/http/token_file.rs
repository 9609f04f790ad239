//! Reading an operator token from a file that only its owner can read.

use std::path::Path;

use factory_core::OperatorToken;

use crate::RegistryError;

/// Reads an operator token from `path`, which must hold the token alone (surrounding
/// whitespace is ignored). On Unix the file must not be readable or writable by group or
/// others (mode 0600 or 0400), because anyone who can read it can act as the operator.
pub fn read_token_file(path: &Path) -> Result<OperatorToken, RegistryError> {
    let invalid = |reason: String| RegistryError::invalid("token_file", reason);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;

        let metadata = std::fs::metadata(path)
            .map_err(|error| invalid(format!("cannot read {}: {error}", path.display())))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(invalid(format!(
                "{} has mode {mode:04o}, so other users can read or change the operator token; run `chmod 600 {}` and ask an admin for a new token if others may have seen it",
                path.display(),
                path.display()
            )));
        }
    }

    let text = std::fs::read_to_string(path)
        .map_err(|error| invalid(format!("cannot read {}: {error}", path.display())))?;
    OperatorToken::parse(text.trim()).map_err(|_| {
        invalid(format!(
            "{} does not hold an operator token; it should contain one line starting with {}",
            path.display(),
            OperatorToken::PREFIX
        ))
    })
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn write_token(mode: u32) -> (tempfile::TempDir, std::path::PathBuf, OperatorToken) {
        let folder = tempfile::TempDir::new().unwrap();
        let path = folder.path().join("token");
        let token = OperatorToken::generate();
        std::fs::write(&path, format!("{}\n", token.expose_secret())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (folder, path, token)
    }

    #[test]
    fn token_file_owner_only_is_read() {
        for mode in [0o600, 0o400] {
            let (_folder, path, token) = write_token(mode);
            assert_eq!(read_token_file(&path).unwrap(), token, "mode {mode:o}");
        }
    }

    #[test]
    fn token_file_open_to_others_is_rejected() {
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let (_folder, path, token) = write_token(mode);
            let error = read_token_file(&path).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("chmod 600"), "mode {mode:o}: {message}");
            assert!(!message.contains(token.expose_secret()), "the token leaked into {message}");
        }
    }

    #[test]
    fn token_file_with_other_text_is_rejected() {
        let (_folder, path, _token) = write_token(0o600);
        std::fs::write(&path, "not a token").unwrap();
        assert_eq!(read_token_file(&path).unwrap_err().code(), "invalid_input");
    }
}
