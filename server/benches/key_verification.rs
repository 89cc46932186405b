//! In-process API key verification, the work every REST call does before its handler.
//! Target (APIs issue): p50 ≤ 5 µs. Run: `cargo bench -p gatehouse --bench key_verification`.

use app::api_keys::{
    KeySlot,
    ssr::{
        format,
        ring::{CachedKey, KeyRing, Snapshot},
        sealing,
    },
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn ring_with(keys: &[&str]) -> KeyRing {
    let ring = KeyRing::default();
    ring.replace(Snapshot {
        enabled: true,
        keys: keys
            .iter()
            .enumerate()
            .map(|(i, k)| CachedKey {
                id: i as i64,
                slot: if i % 2 == 0 {
                    KeySlot::Primary
                } else {
                    KeySlot::Secondary
                },
                digest: sealing::digest(k),
                // The third key is a replaced one in its grace period: the worst case has three.
                expires_at: (i == 2).then_some(i64::MAX),
            })
            .collect(),
        ..Snapshot::default()
    });
    ring
}

fn verification(c: &mut Criterion) {
    let keys = [format::generate(), format::generate(), format::generate()];
    let ring = ring_with(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    let wrong = format::generate();
    let now = 1_800_000_000;
    c.bench_function("verify a valid key", |b| {
        b.iter(|| ring.verify(black_box(&keys[1]), now))
    });
    c.bench_function("verify a well-formed wrong key", |b| {
        b.iter(|| ring.verify(black_box(&wrong), now))
    });
    c.bench_function("verify a malformed key", |b| {
        b.iter(|| ring.verify(black_box("gatehouse_not-a-key"), now))
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
