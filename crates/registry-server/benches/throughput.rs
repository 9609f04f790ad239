//! Throughput of the registry server over HTTP on 127.0.0.1: minting 10,000 registrations
//! in one request, and twenty benches each reserving, recording a flash and marking
//! provisioned in a loop, first as fast as they can and then at a fixed rate of cycles.
//!
//! Run with `cargo bench -p registry-server --bench throughput`. The server runs in this
//! process on its own Tokio runtime with a SQLite file in a temporary folder. The clients
//! are `HttpRegistry` instances on their own threads, so clients and server share the CPU.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chrono::Utc;
use factory_core::{Chip, OperatorToken};
use registry::{
    FlashOutcome, HttpRegistry, MintRequest, NewFlashRecord, NodeMetadata, RegionDigest, Registry,
    ReserveRequest,
};
use registry_server::{BoundServer, Role, ServeConfig, operators_add};

const MINT_RUNS: usize = 5;
const MINT_COUNT: u32 = 10_000;
const BENCHES: usize = 20;
const CYCLES_PER_BENCH: usize = 400;
/// The offered load of the paced run, in cycles per second across all benches: above the
/// 1,000 cycles per second a busy factory needs, and below the saturation throughput.
const PACED_CYCLES_PER_SECOND: f64 = 1_200.0;

fn main() {
    let folder = tempfile::TempDir::new().expect("a temporary folder");
    let database = folder.path().join("registry.sqlite3");
    let token = operators_add(&database, "bench", Role::Technician).expect("an operator");
    let mut config = ServeConfig::new(database);
    config.options.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    let address = start_server(config);
    let url = format!("http://{address}");

    let mint_times = mint_runs(&url, &token);
    report("mint 10,000 in one request", &mint_times, MINT_COUNT as usize);

    let (cycle_times, request_times, elapsed) = provisioning_cycles(&url, &token, None);
    report_cycles("as fast as possible", &cycle_times, &request_times, elapsed);

    let interval = Duration::from_secs_f64(BENCHES as f64 / PACED_CYCLES_PER_SECOND);
    let (cycle_times, request_times, elapsed) = provisioning_cycles(&url, &token, Some(interval));
    report_cycles(
        &format!("paced at {PACED_CYCLES_PER_SECOND:.0} cycles/s"),
        &cycle_times,
        &request_times,
        elapsed,
    );
}

fn report_cycles(label: &str, cycle_times: &[f64], request_times: &[f64], elapsed: Duration) {
    let cycles = cycle_times.len();
    println!(
        "reserve + record flash + mark provisioned, {BENCHES} concurrent benches, {label}: {cycles} cycles in {:.2} s = {:.0} cycles/s ({:.0} requests/s)",
        elapsed.as_secs_f64(),
        cycles as f64 / elapsed.as_secs_f64(),
        (cycles * 3) as f64 / elapsed.as_secs_f64(),
    );
    println!(
        "  per cycle:   p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(cycle_times, 0.50),
        percentile(cycle_times, 0.99),
        percentile(cycle_times, 1.0)
    );
    println!(
        "  per request: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(request_times, 0.50),
        percentile(request_times, 0.99),
        percentile(request_times, 1.0)
    );
}

/// Starts the server on a runtime thread that lives until the process ends.
fn start_server(config: ServeConfig) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let server = BoundServer::bind(&config).await.expect("the server binds");
            sender.send(server.local_addr()).expect("the main thread waits");
            server.run(std::future::pending()).await.expect("the server runs");
        });
    });
    receiver.recv().expect("the server starts")
}

fn mint_runs(url: &str, token: &OperatorToken) -> Vec<Duration> {
    let registry = HttpRegistry::new(url, token.clone()).expect("a client");
    (0..MINT_RUNS)
        .map(|_| {
            let request = MintRequest {
                count: MINT_COUNT,
                target_chip: Some(Chip::Esp32c3),
                metadata: NodeMetadata::None,
                idempotency_key: None,
            };
            let started = Instant::now();
            let minted = registry.mint_batch(&request).expect("minting succeeds");
            let elapsed = started.elapsed();
            assert_eq!(minted.len(), MINT_COUNT as usize);
            elapsed
        })
        .collect()
}

/// Runs the benches' loops and returns every cycle's time, every request's time, and the
/// wall time of the whole run.
///
/// With an `interval`, each bench starts a cycle every `interval` on a fixed schedule, and a
/// cycle's time runs from its scheduled start, so a cycle that had to wait for the one before
/// it counts its wait too.
fn provisioning_cycles(
    url: &str,
    token: &OperatorToken,
    interval: Option<Duration>,
) -> (Vec<f64>, Vec<f64>, Duration) {
    let barrier = Arc::new(Barrier::new(BENCHES + 1));
    let threads: Vec<_> = (0..BENCHES)
        .map(|bench| {
            let registry = HttpRegistry::new(url, token.clone()).expect("a client");
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let schedule_start = Instant::now();
                let mut cycles = Vec::with_capacity(CYCLES_PER_BENCH);
                let mut requests = Vec::with_capacity(CYCLES_PER_BENCH * 3);
                for cycle in 0..CYCLES_PER_BENCH {
                    let cycle_started = match interval {
                        Some(interval) => {
                            // Spread the benches over one interval so they do not start together.
                            let offset = interval.mul_f64(bench as f64 / BENCHES as f64);
                            let scheduled = schedule_start + offset + interval * cycle as u32;
                            std::thread::sleep(scheduled.saturating_duration_since(Instant::now()));
                            scheduled
                        }
                        None => Instant::now(),
                    };
                    let mut timed = |call: &mut dyn FnMut()| {
                        let started = Instant::now();
                        call();
                        requests.push(started.elapsed().as_secs_f64() * 1000.0);
                    };

                    let mut node_id = None;
                    timed(&mut || {
                        let request = ReserveRequest {
                            target_chip: Chip::Esp32c3,
                            holder: format!("bench-{bench}"),
                            lease_seconds: None,
                        };
                        node_id = Some(
                            registry
                                .reserve_next(&request)
                                .expect("a registration is available")
                                .registration
                                .node_id,
                        );
                    });
                    let node_id = node_id.expect("reserved");
                    timed(&mut || {
                        registry.record_flash(&flash_record(&node_id, bench)).expect("recording succeeds");
                    });
                    timed(&mut || {
                        registry.mark_provisioned(&node_id, Utc::now()).expect("marking succeeds");
                    });
                    cycles.push(cycle_started.elapsed().as_secs_f64() * 1000.0);
                }
                (cycles, requests)
            })
        })
        .collect();

    barrier.wait();
    let started = Instant::now();
    let mut cycles = Vec::new();
    let mut requests = Vec::new();
    for thread in threads {
        let (bench_cycles, bench_requests) = thread.join().expect("a bench thread finishes");
        cycles.extend(bench_cycles);
        requests.extend(bench_requests);
    }
    (cycles, requests, started.elapsed())
}

fn flash_record(node_id: &factory_core::NodeId, bench: usize) -> NewFlashRecord {
    NewFlashRecord {
        node_id: node_id.clone(),
        attempted_at: Utc::now(),
        port: "/dev/ttyUSB0".to_owned(),
        bench_host: format!("bench-{bench}"),
        chip: Some(Chip::Esp32c3),
        chip_revision: Some("v0.4".to_owned()),
        mac: Some("aa:bb:cc:11:22:33".to_owned()),
        flash_size: Some(4 * 1024 * 1024),
        regions: vec![RegionDigest { offset: 0x10000, size: 1024 * 1024, sha256: "ab".repeat(32) }],
        outcome: FlashOutcome::Success,
        error_code: None,
        error_message: None,
    }
}

fn report(label: &str, times: &[Duration], items: usize) {
    let mut millis: Vec<f64> = times.iter().map(|time| time.as_secs_f64() * 1000.0).collect();
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    println!(
        "{label}: median {median:.0} ms ({:.0} registrations/s), slowest {:.0} ms, over {} runs",
        items as f64 / (median / 1000.0),
        millis[millis.len() - 1],
        millis.len()
    );
}

/// Returns the value below which `fraction` of the samples fall (nearest rank).
fn percentile(samples: &[f64], fraction: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
