//! Provisioning, showing and flashing against a real registry server: the server's public URL
//! goes into the firmware, no local firmware folder is made, and a role that may not finish a
//! workflow is refused before anything changes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use bench::BenchSettings;
use bench::flash::{FlashJobError, FlashRequest, flash_and_record};
use bench::provision::{ProvisionRequest, TokenSource, provision};
use factory_core::{Chip, OperatorToken};
use flasher::{FlashOptions, FlashPlan, PortInfo};
use registry::{HttpRegistry, MintRequest, NodeMetadata, Registry};
use tempfile::TempDir;

const BINARY: &str = env!("CARGO_BIN_EXE_node-factory");
const SERVER_PUBLIC_URL: &str = "https://ota.factory.example";
const SDKCONFIG: &str = "CONFIG_IDF_TARGET=\"esp32c3\"\nCONFIG_FREERTOS_HZ=100\n";

/// A `node-factory serve` process on 127.0.0.1 with an operator of each role.
struct Server {
    folder: TempDir,
    process: Child,
    url: String,
    technician: OperatorToken,
    support: OperatorToken,
}

impl Server {
    fn start() -> Server {
        let folder = TempDir::new().unwrap();
        let database = folder.path().join("registry.sqlite3");
        let add = |name: &str, role: &str| -> OperatorToken {
            let output =
                command(&database).args(["operators", "add", name, "--role", role]).output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            OperatorToken::parse(String::from_utf8(output.stdout).unwrap().trim()).unwrap()
        };
        let technician = add("tom", "technician");
        let support = add("sue", "support");

        let mut process = command(&database)
            .args(["--public-url", SERVER_PUBLIC_URL])
            .args(["--firmware-dir", folder.path().join("server-firmware").to_str().unwrap()])
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = BufReader::new(process.stdout.take().unwrap())
            .lines()
            .take(5)
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("registry server listening on ").map(str::to_owned))
            .expect("the server prints its address");
        Server { folder, process, url, technician, support }
    }

    fn registry(&self, token: &OperatorToken) -> HttpRegistry {
        HttpRegistry::new(&self.url, token.clone()).unwrap()
    }

    fn run(&self, token: &OperatorToken, args: &[&str]) -> Output {
        Command::new(BINARY)
            .env_clear()
            .env("NODE_FACTORY_REGISTRY", &self.url)
            .env("NODE_FACTORY_TOKEN", token.expose_secret())
            .env("FIRMWARE_DIR", self.local_firmware_dir())
            .args(args)
            .output()
            .unwrap()
    }

    fn local_firmware_dir(&self) -> PathBuf {
        self.folder.path().join("bench-firmware")
    }

    fn sdkconfig(&self, name: &str) -> PathBuf {
        let path = self.folder.path().join(name);
        std::fs::write(&path, SDKCONFIG).unwrap();
        path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }
}

fn command(database: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("NODE_FACTORY_REGISTRY", database)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

fn mint_one(registry: &dyn Registry) -> registry::MintedRegistration {
    let request = MintRequest {
        count: 1,
        target_chip: Some(Chip::Esp32c3),
        metadata: NodeMetadata::None,
        idempotency_key: None,
    };
    registry.mint_batch(&request).unwrap().remove(0)
}

#[test]
fn remote_provision_uses_server_public_url() {
    let server = Server::start();
    let registry = server.registry(&server.technician);
    let minted = mint_one(&registry);
    let sdkconfig = server.sdkconfig("sdkconfig");
    let settings = BenchSettings { firmware_dir: server.local_firmware_dir(), ..BenchSettings::default() };
    let request = ProvisionRequest {
        node_id: minted.registration.node_id.clone(),
        config_files: vec![sdkconfig.clone()],
        token: TokenSource::Provided(minted.ota_token.clone()),
        rotate_download_id: false,
        mark_provisioned: true,
    };

    let outcome = provision(&registry, &settings, &request).unwrap();

    let expected = format!("{SERVER_PUBLIC_URL}/firmware/{}/manifest.json", minted.registration.download_id);
    assert_eq!(outcome.manifest_url, expected);
    assert!(std::fs::read_to_string(&sdkconfig).unwrap().contains(&expected));
    assert_eq!(outcome.firmware_folder, None);
    assert!(!server.local_firmware_dir().exists(), "no local firmware folder is made for a server");
    assert!(
        server.folder.path().join("server-firmware").join(minted.registration.download_id.as_str()).is_dir(),
        "the server made the folder when the registration was provisioned"
    );
}

#[test]
fn remote_show_and_provision_commands() {
    let server = Server::start();
    let minted = mint_one(&server.registry(&server.technician));
    let node_id = minted.registration.node_id.as_str();
    let sdkconfig = server.sdkconfig("sdkconfig");

    let other_url = server.run(
        &server.technician,
        &[
            "--public-url",
            "http://127.0.0.1:8080",
            "provision",
            node_id,
            "--config",
            sdkconfig.to_str().unwrap(),
        ],
    );
    assert_eq!(other_url.status.code(), Some(2), "{}", String::from_utf8_lossy(&other_url.stderr));
    assert!(String::from_utf8_lossy(&other_url.stderr).contains(SERVER_PUBLIC_URL));
    assert_eq!(std::fs::read_to_string(&sdkconfig).unwrap(), SDKCONFIG, "nothing was written");

    let shown = server.run(&server.technician, &["show", node_id]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains(&format!("{SERVER_PUBLIC_URL}/firmware/")), "{shown}");
    assert!(!shown.contains("firmware folder"), "{shown}");
}

#[test]
fn remote_provision_refused_before_writing() {
    let server = Server::start();
    let minted = mint_one(&server.registry(&server.technician));
    let sdkconfig = server.sdkconfig("sdkconfig");
    let support = server.registry(&server.support);
    let request = ProvisionRequest {
        node_id: minted.registration.node_id.clone(),
        config_files: vec![sdkconfig.clone()],
        token: TokenSource::Rotate,
        rotate_download_id: false,
        mark_provisioned: true,
    };

    let error = provision(&support, &BenchSettings::default(), &request).unwrap_err();

    assert_eq!(error.code(), "forbidden", "{error}");
    assert!(error.to_string().contains("provision registrations"), "{error}");
    assert_eq!(std::fs::read_to_string(&sdkconfig).unwrap(), SDKCONFIG);
    let stored = support.get(&minted.registration.node_id).unwrap();
    assert!(stored.token_hash.matches(minted.ota_token.expose_secret()), "the token was not rotated");
}

#[test]
fn remote_flash_refused_before_board() {
    let server = Server::start();
    let minted = mint_one(&server.registry(&server.technician));
    let request = FlashRequest {
        node_id: minted.registration.node_id.clone(),
        port: PortInfo::explicit("/dev/node-factory-no-such-port"),
        plan: FlashPlan::from_region_args(&["0x10000:/nonexistent/app.bin".to_owned()]).unwrap(),
        options: FlashOptions::default(),
    };

    let error = flash_and_record(&server.registry(&server.support), request, &mut |_| {}).unwrap_err();

    assert!(matches!(error, FlashJobError::Registry(_)), "{error}");
    assert_eq!(error.code(), "forbidden", "{error}");
    assert!(error.to_string().contains("record flash attempts"), "{error}");
}
