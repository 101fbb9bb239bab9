//! The management API (EDC management API v3 compatible).

use axum::Router;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
