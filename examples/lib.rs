//! Runnable examples live in this folder; see `Cargo.toml` for the list.
