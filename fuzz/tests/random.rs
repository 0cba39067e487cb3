//! The `bundle` target on pseudo-random inputs, on stable: what `ci.sh` runs where there is
//! no nightly toolchain to fuzz with, and a quick check everywhere else. The inputs are the
//! same on every run (a fixed seed); the run stops after `INPUTS` of them or `BUDGET`,
//! whichever comes first, so it stays a few seconds on a slow machine. A failing input is
//! saved under the target directory, to be copied into `regressions/bundle/` once fixed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const INPUTS: usize = 20_000;
const BUDGET: Duration = Duration::from_secs(5);

/// xorshift64*: small, fixed, good enough to pick bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

/// One input of the target's format (`src/bundle.rs`), shaped toward bundles that get past
/// the header: the checksum resealed seven times in eight, raw bytes one time in sixteen,
/// then one or two edits (up to eight now and then), most of them in the rule program and the automaton, at small
/// offsets (where the fields are) or anywhere, seldom truncating.
fn input(rng: &mut Rng) -> Vec<u8> {
    let mut setup = rng.byte() & !3;
    setup |= match rng.next() % 16 {
        0 => 3,
        1 => 0,
        _ => 1,
    };
    let mut d = vec![setup];
    let edits = 1 + if rng.next().is_multiple_of(4) { rng.next() % 8 } else { rng.next() % 2 };
    for _ in 0..edits {
        let mut op = rng.byte() & !0x1f;
        op |= match rng.next() % 16 {
            0 => 3,
            k => [0, 1, 2, 4, 5, 6, 7][k as usize % 7],
        };
        op |= match rng.next() % 8 {
            0 => 0,
            1 | 2 => 1,
            7 => 3,
            _ => 2,
        } << 3;
        let offset: u16 = match rng.next() % 4 {
            0 => (rng.next() % 32) as u16,
            1 => (rng.next() % 512) as u16,
            _ => rng.next() as u16,
        };
        d.push(op);
        d.extend_from_slice(&offset.to_le_bytes());
        for _ in 0..rng.next() % 9 {
            d.push(rng.byte());
        }
    }
    d
}

#[test]
fn bundle_on_random_edits() {
    let start = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    while runs < INPUTS && start.elapsed() < BUDGET {
        let data = input(&mut rng);
        if catch_unwind(AssertUnwindSafe(|| fanzha_fuzz::bundle::run(&data))).is_err() {
            let path =
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bundle-random-{runs}"));
            std::fs::write(&path, &data).unwrap();
            panic!("input {runs} failed; saved to {}: {data:02x?}", path.display());
        }
        runs += 1;
    }
    assert!(runs >= 100, "only {runs} inputs in {BUDGET:?}");
    println!("bundle: {runs} random inputs in {:.1?}", start.elapsed());
}
