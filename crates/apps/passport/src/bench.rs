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
    let pick = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(PageBench {
        iterations: times.len(),
        p50: pick(0.50),
        p99: pick(0.99),
        max: times[times.len() - 1],
        page_bytes,
    })
}
