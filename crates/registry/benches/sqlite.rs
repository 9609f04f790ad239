//! Speed of the SQLite registry: minting batches of 10,000 and listing from 100,000.
//!
//! Run with `cargo bench -p registry --bench sqlite`. Each case runs several times on a fresh
//! temporary file and prints the median and the slowest run.

use std::time::{Duration, Instant};

use factory_core::{Chip, RegistrationStatus};
use registry::{ListQuery, MAX_LIST_LIMIT, MintRequest, NodeMetadata, Registry, SqliteRegistry};

const RUNS: usize = 7;

fn main() {
    let folder = tempfile::TempDir::new().expect("a temporary folder");

    let mint_times = (0..RUNS)
        .map(|run| {
            let registry = SqliteRegistry::open(&folder.path().join(format!("mint-{run}.sqlite3"))).unwrap();
            time(|| mint(&registry, 10_000, Some(Chip::Esp32c3)))
        })
        .collect();
    report("mint 10,000 in one batch", mint_times);

    let registry = SqliteRegistry::open(&folder.path().join("list.sqlite3")).unwrap();
    for chip in [Chip::Esp32, Chip::Esp32c3, Chip::Esp32s3] {
        for _ in 0..3 {
            mint(&registry, 11_111, Some(chip));
        }
    }
    mint(&registry, 1, None);
    let provisioned = registry.list(&ListQuery { limit: 20_000, ..Default::default() }).unwrap();
    for registration in &provisioned.items {
        registry.mark_provisioned(&registration.node_id, chrono::Utc::now()).unwrap();
    }
    assert_eq!(registry.counts().unwrap().total, 100_000);

    let all = ListQuery { limit: MAX_LIST_LIMIT, ..Default::default() };
    report("list all 100,000", (0..RUNS).map(|_| time(|| expect_rows(&registry, &all, 100_000))).collect());

    let available = ListQuery {
        status: Some(RegistrationStatus::Available),
        limit: MAX_LIST_LIMIT,
        ..Default::default()
    };
    report(
        "list 80,000 available of 100,000",
        (0..RUNS).map(|_| time(|| expect_rows(&registry, &available, 80_000))).collect(),
    );

    let page = ListQuery {
        status: Some(RegistrationStatus::Available),
        target_chip: Some(Chip::Esp32s3),
        offset: 20_000,
        limit: 200,
        ..Default::default()
    };
    report(
        "one page of 200 filtered by status and chip",
        (0..RUNS).map(|_| time(|| expect_rows(&registry, &page, 200))).collect(),
    );

    let search = ListQuery { search: Some("zz".to_owned()), limit: 1000, ..Default::default() };
    report(
        "search by substring over 100,000",
        (0..RUNS).map(|_| time(|| drop(registry.list(&search).unwrap()))).collect(),
    );
}

fn mint(registry: &dyn Registry, count: u32, chip: Option<Chip>) {
    let request =
        MintRequest { count, target_chip: chip, metadata: NodeMetadata::None, idempotency_key: None };
    assert_eq!(registry.mint_batch(&request).unwrap().len(), count as usize);
}

fn expect_rows(registry: &dyn Registry, query: &ListQuery, expected: usize) {
    assert_eq!(registry.list(query).unwrap().items.len(), expected);
}

fn time(body: impl FnOnce()) -> Duration {
    let start = Instant::now();
    body();
    start.elapsed()
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let slowest = times[times.len() - 1];
    println!(
        "{name:<45} median {:>8.1} ms   slowest {:>8.1} ms   ({} runs)",
        ms(median),
        ms(slowest),
        times.len()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
