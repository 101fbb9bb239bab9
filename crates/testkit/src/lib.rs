//! Test-only helpers shared by the tsunagu crates' test suites.
//!
//! Why this crate exists: several crates need the same test plumbing, and each
//! copy of it would drift. It provides
//!
//! * [`spec_dir`] / [`require_spec`]: where the read-only bundle of standards
//!   artefacts (`../shared/spec` next to the workspace, or `$TSUNAGU_SPEC_DIR`)
//!   lives, and a uniform way to skip a test when it is absent (a user's fresh
//!   clone does not have it);
//! * [`DspSchemas`] / [`dsp_examples`]: the official Eclipse Dataspace Protocol
//!   2025-1 JSON Schemas, compiled once, with every `$ref` served from the bundle
//!   (never from the network) and the known `#definitions/X` defect normalised;
//! * [`DcpSchemas`] / [`dcp_examples`]: the official Decentralized Claims
//!   Protocol 1.0.1 JSON Schemas, compiled the same way (the bundle's context
//!   schema `$id` mismatch and the missing Presentation Exchange schemas are
//!   absorbed in memory);
//! * [`TempPostgres`] / [`shared_postgres`] / [`fresh_postgres_database`]: a
//!   throwaway PostgreSQL cluster in a temporary directory, so store tests can
//!   run against a real server without any setup on the machine beyond the
//!   PostgreSQL server binaries;
//! * [`require_python`] / [`run_python_json`]: interoperability tests against independent
//!   Python implementations, skipped (or failed, with `TSUNAGU_REQUIRE_INTEROP=1`) when the
//!   library is missing;
//! * [`UnreachablePeer`]: the outbound side of a connector that talks to nobody.
//!
//! It does IO, spawns processes, uses `anyhow` and prints skip messages to
//! stderr, none of which is acceptable in shipped code: **it must only ever be
//! a `[dev-dependencies]` entry, never a normal dependency of a shipped crate.**
//!
//! Skip convention: a test that cannot run prints one exact line and returns
//! early, e.g.
//!
//! ```no_run
//! # fn t() {
//! let Some(spec) = tsunagu_testkit::require_spec() else { return };
//! let schemas = tsunagu_testkit::DspSchemas::load(&spec).unwrap();
//! # }
//! ```

mod dcp;
mod dsp;
mod peer;
mod postgres;
mod python;
mod spec;

pub use dcp::{DcpSchemas, dcp_examples};
pub use dsp::{DspSchemas, dsp_examples};
pub use peer::UnreachablePeer;
pub use postgres::{TempPostgres, fresh_postgres_database, shared_postgres};
pub use python::{python_can_import, require_python, run_python_json};
pub use spec::{require_spec, spec_dir, workspace_root};
