//! Locating the read-only spec bundle.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the location of the spec bundle.
const SPEC_DIR_ENV: &str = "TSUNAGU_SPEC_DIR";

/// The exact line printed when a test is skipped for lack of the bundle.
const SKIP_LINE: &str = "skipped: spec bundle not found";

/// The workspace root, computed from this crate's manifest directory
/// (`crates/testkit` → `../..`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// The spec bundle at `../shared/spec` relative to the workspace root (or
/// `$TSUNAGU_SPEC_DIR` when that is set and non-empty), if present.
pub fn spec_dir() -> Option<PathBuf> {
    let candidate = match std::env::var_os(SPEC_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("..").join("shared").join("spec"),
    };
    if candidate.is_dir() {
        Some(candidate.canonicalize().unwrap_or(candidate))
    } else {
        None
    }
}

/// Like [`spec_dir`], but prints exactly `skipped: spec bundle not found`
/// (to stderr) when the bundle is absent. Tests do:
///
/// ```no_run
/// # fn t() {
/// let Some(spec) = tsunagu_testkit::require_spec() else { return };
/// # let _ = spec;
/// # }
/// ```
pub fn require_spec() -> Option<PathBuf> {
    let dir = spec_dir();
    if dir.is_none() {
        eprintln!("{SKIP_LINE}");
    }
    dir
}
