//! Times the roll-up of the synthetic chain: `cargo run --release -p tsunagu-pcf --example
//! rollup_timing -- [parts] [tiers] [runs]`. `tsunagu bench pcf` is the supported entry point;
//! this example exists to measure the crate on its own. Besides wall time it reports the
//! thread's on-CPU time where Linux provides it, since a shared machine inflates wall time.

// An example program reports on standard output.
#![allow(clippy::print_stdout)]

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), if available.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let parts = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let tiers = args.next().map_or(Ok(6), |a| a.parse())?;
    let runs = args.next().map_or(Ok(5), |a| a.parse::<usize>())?;
    for run in 1..=runs {
        // The clock is read exactly twice, around the roll-up; take CPU time at the same moments.
        let cpu_marks = Cell::new(Vec::new());
        let figures = tsunagu_pcf::bench_rollup(parts, tiers, || {
            let mut marks = cpu_marks.take();
            marks.push(thread_cpu_time());
            cpu_marks.set(marks);
            Instant::now()
        })?;
        let cpu = match cpu_marks.take().as_slice() {
            [Some(start), Some(end)] => format!("{:.1} ms", (*end - *start).as_secs_f64() * 1e3),
            _ => "unknown".to_owned(),
        };
        println!(
            "run {run}: {} parts, {} tiers, {} BOM lines, {} activity items: roll-up {:.1} ms \
             wall, {cpu} on CPU (product {} kg CO2e)",
            figures.parts,
            figures.tiers,
            figures.bom_lines,
            figures.activity_items,
            figures.elapsed.as_secs_f64() * 1e3,
            figures.product_kg_co2e.round_dp(3),
        );
    }
    Ok(())
}
