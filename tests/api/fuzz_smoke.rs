//! The stable stand-in for `cargo fuzz` (which needs nightly; see `fuzz/` and `scripts/fuzz`):
//! feeds the fuzz targets' entry points a fixed-seed stream of random and mutated inputs for a
//! short budget, so every CI run tries a few thousand hostile files. Seeds are valid files of
//! every accepted format plus whatever is in `fuzz/corpus/<target>/` (crashes `cargo fuzz`
//! found and minimised belong there).
//!
//! `FUZZ_SMOKE_SECS` sets the budget (default 20 s); `FUZZ_SMOKE_SEED` changes the stream;
//! `FUZZ_SEED_DIR` makes the test write its built-in seeds there (how `scripts/fuzz` fills the
//! corpus before a long nightly run).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use picscripter::media::probe::{self, MAX_PIXELS, MAX_SIDE, ProbeError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SMOKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(secs)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Valid files of every format the probe accepts, and a few it refuses on purpose.
fn media_seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("seed.jpg", crate::media::jpeg(16, 12, 1)),
        ("seed.png", crate::media::png(9, 7, 2)),
        ("seed.webp", crate::media::webp(8, 8)),
        ("seed.gif", crate::media::gif(5, 4)),
        ("seed.mp4", crate::media::mp4_video(32, 24, 3, 40, "mp42")),
        ("seed.mov", crate::media::mp4_video(24, 32, 2, 40, "qt  ")),
        ("bomb.png", crate::media::png_bomb()),
        (
            "drawing.svg",
            b"<?xml version=\"1.0\"?><svg></svg>".to_vec(),
        ),
    ]
}

/// One mutation, of the kinds that find bugs in parsers: flipped bits, boundary bytes,
/// cut-offs, inserted junk, huge length fields, repeated chunks and splices of two files.
fn mutate(rng: &mut StdRng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] = [0x00, 0xFF, 0x7F, 0x80, 0x01][rng.random_range(0..5)];
            }
            2 if len > 0 => out.truncate(rng.random_range(0..len)),
            3 => {
                let i = rng.random_range(0..=len);
                let junk: Vec<u8> = (0..rng.random_range(1..32)).map(|_| rng.random()).collect();
                out.splice(i..i, junk);
            }
            4 if len >= 4 => {
                // A big-endian length field claiming far more than there is.
                let i = rng.random_range(0..=len - 4);
                let v: u32 = [u32::MAX, 0x7FFF_FFFF, 0x0001_0000, 0][rng.random_range(0..4)];
                out[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            5 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..len.min(a + 256));
                let chunk = out[a..=b].to_vec();
                out.splice(b..b, chunk);
            }
            6 if !other.is_empty() => {
                let cut = rng.random_range(0..=out.len());
                let from = rng.random_range(0..other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            _ => {}
        }
    }
    out
}

/// One input may take this long (a debug build) before it counts as a hang, as libFuzzer's
/// `-timeout` would.
const HANG: Duration = Duration::from_secs(30);

/// Runs `check` on inputs from `seeds` until the budget is spent; a panic or a hang fails the
/// test and leaves the input under `target/fuzz-smoke/` to replay.
fn drive(target: &str, seeds: Vec<Vec<u8>>, check: fn(&[u8])) -> usize {
    let seed = std::env::var("FUZZ_SMOKE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    let mut rng = StdRng::seed_from_u64(seed);
    let deadline = Instant::now() + budget();
    let mut runs = 0;
    // Every seed as it is first, then mutations and plain random bytes.
    let mut next = seeds.clone().into_iter();
    while Instant::now() < deadline || runs < seeds.len() {
        let input = match next.next() {
            Some(s) => s,
            None if rng.random_ratio(1, 10) => (0..rng.random_range(0..512))
                .map(|_| rng.random())
                .collect(),
            None => {
                let a = &seeds[rng.random_range(0..seeds.len())];
                let b = &seeds[rng.random_range(0..seeds.len())];
                mutate(&mut rng, a, b)
            }
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let data = input.clone();
        std::thread::spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(|| check(&data))).is_ok());
        });
        let outcome = match rx.recv_timeout(HANG) {
            Ok(true) => None,
            Ok(false) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Some("panicked"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Some("hung"),
        };
        if let Some(what) = outcome {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-smoke");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{target}-seed{seed}-run{runs}.bin"));
            std::fs::write(&file, &input).unwrap();
            panic!(
                "{target} {what} on input {runs} (seed {seed}); saved to {}",
                file.display()
            );
        }
        runs += 1;
    }
    runs
}

#[test]
fn probing_random_and_damaged_files_never_panics_and_never_accepts_a_bomb() {
    let named = media_seeds();
    if let Ok(dir) = std::env::var("FUZZ_SEED_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &named {
            std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &named[..6] {
        assert!(
            probe::probe_bytes(bytes, name).is_ok(),
            "the seed {name} is a valid file"
        );
    }
    let mut seeds: Vec<Vec<u8>> = named.into_iter().map(|(_, b)| b).collect();
    seeds.extend(corpus("media_probe"));

    let runs = drive("media_probe", seeds, |data| {
        match probe::probe_bytes(data, "upload.bin") {
            Ok(p) if p.format.kind() == picscripter::entities::enums::MediaKind::Image => {
                assert!(p.width >= 1 && p.height >= 1);
                assert!(p.width <= MAX_SIDE && p.height <= MAX_SIDE);
                assert!(u64::from(p.width) * u64::from(p.height) <= MAX_PIXELS);
            }
            Ok(p) => assert!(p.width >= 1 && p.height >= 1),
            Err(ProbeError::Refused(r)) => assert!(!r.to_string().is_empty()),
            Err(other) => panic!("in-memory probing failed outside a refusal: {other}"),
        }
    });
    assert!(runs > 0);
}
