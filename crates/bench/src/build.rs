//! Building firmware with ESP-IDF's `idf.py`, one private build folder per job.
//!
//! Jobs that build the same project at the same time must not share a build folder or an
//! `sdkconfig`, because each carries a different node's identity. So every job gets a folder
//! of its own holding its `sdkconfig` and its build output, and passes both to `idf.py` with
//! `-B DIR -D SDKCONFIG=FILE`. Those files contain the OTA token, so the folder is created
//! owner-only and removed once the board is flashed (unless the user keeps it).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use factory_core::{Chip, NodeId};

use crate::BenchError;

/// The location of `idf.py` and the ESP-IDF folder it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdfTool {
    /// The `idf.py` script.
    pub script: PathBuf,
    /// The ESP-IDF folder, passed on as `IDF_PATH` when known.
    pub idf_path: Option<PathBuf>,
}

/// Finds `idf.py`: in the configured ESP-IDF folder (or the configured script itself), else
/// in `$IDF_PATH/tools/`, else on `PATH`.
pub fn find_idf(configured: Option<&Path>) -> Result<IdfTool, BenchError> {
    let mut searched = Vec::new();

    let candidates =
        configured.map(Path::to_owned).into_iter().chain(std::env::var_os("IDF_PATH").map(PathBuf::from));
    for location in candidates {
        let script =
            if location.is_file() { location.clone() } else { location.join("tools").join("idf.py") };
        if script.is_file() {
            let idf_path = script.parent().and_then(Path::parent).map(Path::to_owned);
            return Ok(IdfTool { script, idf_path });
        }
        searched.push(script);
    }

    if let Some(path) = std::env::var_os("PATH") {
        for folder in std::env::split_paths(&path) {
            let script = folder.join("idf.py");
            if script.is_file() {
                return Ok(IdfTool { script, idf_path: None });
            }
        }
        searched.push(PathBuf::from("idf.py on PATH"));
    }
    Err(BenchError::IdfNotFound { searched })
}

/// A job's private folder: its `sdkconfig` and its build output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFolder {
    pub root: PathBuf,
    pub sdkconfig: PathBuf,
    pub build_dir: PathBuf,
}

impl BuildFolder {
    /// Creates `<jobs_dir>/<node ID>-<random>/` with owner-only permissions and copies the
    /// project's `sdkconfig` into it. A project without an `sdkconfig` starts from one that
    /// only names the chip, and ESP-IDF fills in the defaults on the first build.
    pub fn create(
        jobs_dir: &Path,
        project: &Path,
        node_id: &NodeId,
        chip: Chip,
    ) -> Result<BuildFolder, BenchError> {
        let io_error = |action, path: &Path, source| BenchError::Io { action, path: path.to_owned(), source };

        std::fs::create_dir_all(jobs_dir)
            .map_err(|error| io_error("create the jobs folder", jobs_dir, error))?;
        let prefix = format!("{node_id}-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let root = builder
            .tempdir_in(jobs_dir)
            .map_err(|error| io_error("create a build folder in", jobs_dir, error))?
            .keep();
        let folder = BuildFolder { sdkconfig: root.join("sdkconfig"), build_dir: root.join("build"), root };

        let project_sdkconfig = project.join("sdkconfig");
        let result = if project_sdkconfig.is_file() {
            std::fs::copy(&project_sdkconfig, &folder.sdkconfig).map(drop)
        } else {
            std::fs::write(&folder.sdkconfig, format!("CONFIG_IDF_TARGET=\"{}\"\n", chip.idf_target()))
        };
        if let Err(error) = result {
            folder.remove();
            return Err(io_error("copy the project's sdkconfig to", &folder.sdkconfig, error));
        }
        Ok(folder)
    }

    /// Deletes the folder and the token-bearing files in it. Failures are logged, not raised,
    /// because the flash they follow has already succeeded.
    pub fn remove(&self) {
        if let Err(error) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!(folder = %self.root.display(), %error, "failed to delete a build folder; delete it by hand, because it contains an OTA token");
        }
    }
}

/// Runs `idf.py build` for `project` into `folder` with `IDF_TARGET` set to `chip`, and hands
/// every line the build prints to `on_line`, standard output and standard error interleaved.
pub fn run_build(
    tool: &IdfTool,
    project: &Path,
    folder: &BuildFolder,
    chip: Chip,
    on_line: &mut dyn FnMut(&str),
) -> Result<(), BenchError> {
    let mut command = script_command(&tool.script);
    command
        .arg("-C")
        .arg(project)
        .arg("-B")
        .arg(&folder.build_dir)
        .arg("-D")
        .arg(format!("SDKCONFIG={}", folder.sdkconfig.display()))
        .arg("build")
        .env("IDF_TARGET", chip.idf_target())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(idf_path) = &tool.idf_path {
        command.env("IDF_PATH", idf_path);
    }

    let mut child = command.spawn().map_err(|error| BenchError::Io {
        action: "start",
        path: tool.script.clone(),
        source: error,
    })?;
    let (sender, receiver) = mpsc::channel();
    let readers =
        [forward_lines(child.stdout.take(), sender.clone()), forward_lines(child.stderr.take(), sender)];

    let mut last_lines = std::collections::VecDeque::with_capacity(LINES_IN_ERROR);
    for line in receiver {
        on_line(&line);
        if last_lines.len() == LINES_IN_ERROR {
            last_lines.pop_front();
        }
        last_lines.push_back(line);
    }
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }

    let status = child.wait().map_err(|error| BenchError::Io {
        action: "wait for",
        path: tool.script.clone(),
        source: error,
    })?;
    if !status.success() {
        return Err(BenchError::BuildFailed {
            status: status.code(),
            last_lines: Vec::from(last_lines).join("\n"),
        });
    }
    Ok(())
}

/// How many of the last output lines a build error carries.
const LINES_IN_ERROR: usize = 5;

/// Runs `idf.py` through its `#!/usr/bin/env python` line, which finds the Python of the
/// ESP-IDF environment that `export.sh` puts first on `PATH`. Windows has no such lines.
fn script_command(script: &Path) -> Command {
    if cfg!(windows) {
        let mut command = Command::new("python");
        command.arg(script);
        command
    } else {
        Command::new(script)
    }
}

fn forward_lines(
    stream: Option<impl Read + Send + 'static>,
    sender: mpsc::Sender<String>,
) -> Option<std::thread::JoinHandle<()>> {
    let stream = stream?;
    Some(std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    }))
}
