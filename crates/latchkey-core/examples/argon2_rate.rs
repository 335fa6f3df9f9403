//! Raw argon2id verifications per second at latchkey's parameters, on as
//! many threads as cores: the ceiling a login rate is compared with
//! (`scripts/bench.sh`, the login row).
//!
//! `cargo run --release -p latchkey-core --example argon2_rate -- [SECONDS] [THREADS]`

// A benchmark outside the server: it times itself by the wall clock.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use latchkey_core::password::{Password, PasswordHash};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    let threads: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let password = Password::presented("correct horse battery staple".into());
    let hash = PasswordHash::compute(&password, [7; 16]);
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while Instant::now() < until {
                        assert!(hash.verify(&password));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let rate = done as f64 / started.elapsed().as_secs_f64();
    println!("argon2id verify: {rate:.1}/s on {threads} threads ({done} in {seconds} s)");
}
