//! The publishing check: `cargo package` of the three library crates, verified (each
//! packaged crate is unpacked and built on its own, its path dependencies resolved
//! against the other packaged crates).

use crate::process::{cargo, run as run_command};

/// The crates a user depends on, in dependency order.
pub(crate) const CRATES: &[&str] = &["partysocket", "partysocket-wasm", "partysocket-leptos"];

/// Packages and verifies [`CRATES`] in one invocation, so that `partysocket-wasm` and
/// `partysocket-leptos` build against the packaged `partysocket` and not the registry.
pub(crate) fn run() -> Result<(), String> {
    eprintln!("==> package");
    let mut args = vec!["package", "--locked"];
    for name in CRATES {
        args.extend_from_slice(&["--package", name]);
    }
    // The check is about what the packages contain and whether they build, so it runs on
    // the working tree as it is (before a commit too); publishing itself (`cargo
    // publish`) still refuses uncommitted changes.
    args.push("--allow-dirty");
    run_command(&mut cargo(&args))
}
