//! The `tsunagu` binary's library half: configuration, wiring and the subcommands, kept in a
//! library so that end-to-end tests start connectors exactly as `tsunagu serve` does.
//!
//! This is the only crate that knows the whole configuration; inner crates get narrow typed
//! parameters. It must hold no protocol or domain logic of its own.

#![allow(clippy::print_stdout)] // The CLI's output is its user interface.

pub mod bench;
pub mod config;
pub mod demo;
mod management;
pub mod network;
pub mod node;
pub mod operator;
pub mod passport_dsp;
pub mod pcf_catenax;
pub mod pcf_chain;
pub mod pcf_dsp;
pub mod pcf_seed;
pub mod verify;
