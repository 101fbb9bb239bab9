//! How long the server takes to produce the public passport page: view (presentation of the
//! SD-JWT, verification, the access check) plus rendering, without HTTP.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::attributes::AccessGroup;
use crate::html::{self, Lang, Page};
use crate::identifier::PassportId;
use crate::service::{PassportService, ServiceError};

/// Render times of one run.
#[derive(Debug, Clone, Serialize)]
pub struct PageBench {
    pub iterations: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub page_bytes: usize,
    /// Making the public view from the signed passport (presenting the SD-JWT, verifying it,
    /// checking the fields), which the server does once per passport version: median.
    pub uncached_view_p50: Duration,
}

/// Renders the public page of `id` `iterations` times, reading the passport from the store
/// each time as a request would, and reports the percentiles. `now` is the clock
/// (`Instant::now`), passed in like the LCA-CO2 app's benchmark.
pub async fn bench_page(
    service: &PassportService,
    id: PassportId,
    iterations: usize,
    mut now: impl FnMut() -> Instant,
) -> Result<PageBench, ServiceError> {
    let mut times = Vec::with_capacity(iterations);
    let mut page_bytes = 0;
    for index in 0..iterations.max(1) {
        let started = now();
        let (stored, view) = service
            .view(id, AccessGroup::Public)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))?;
        let lang = if index % 2 == 0 { Lang::En } else { Lang::Ja };
        let body = html::render(&Page {
            lang,
            passport: &stored,
            view: &view,
            readings: &[],
            caller: None,
            operator_did: service.operator_did(),
        });
        times.push(now().saturating_duration_since(started));
        page_bytes = body.len();
    }
    times.sort();
    let pick = |times: &[Duration], q: f64| {
        times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1]
    };
    let stored = service
        .passport(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.to_string()))?;
    let mut fresh = Vec::new();
    for _ in 0..(iterations / 10).clamp(1, 200) {
        let started = now();
        service.fresh_view(&stored, AccessGroup::Public)?;
        fresh.push(now().saturating_duration_since(started));
    }
    fresh.sort();
    Ok(PageBench {
        iterations: times.len(),
        p50: pick(&times, 0.50),
        p99: pick(&times, 0.99),
        max: times[times.len() - 1],
        page_bytes,
        uncached_view_p50: pick(&fresh, 0.50),
    })
}
