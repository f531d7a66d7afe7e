//! The `native` suite: the tokio driver against the in-process mock, and the examples.

use crate::process::{cargo, run as run_command};

/// Examples that run on their own against the bundled server, with their arguments.
/// (`chat` reads the terminal and is only built.)
const EXAMPLES: &[&[&str]] = &[
    &["quickstart"],
    &["game", "--", "--seconds", "1"],
    &["presence", "--", "--seconds", "1"],
];

/// Runs the driver's unit, integration and doc tests with every feature, builds every
/// example, and runs those that need no terminal; each must exit 0.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket",
        "--all-features",
    ]))?;
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket-examples",
        "--examples",
    ]))?;
    for example in EXAMPLES {
        let mut args = vec!["run", "--locked", "--quiet", "--example"];
        args.extend_from_slice(example);
        run_command(&mut cargo(&args))?;
    }
    Ok(())
}
