//! The `wasm` suite: `partysocket-wasm` in headless Chromium against the `party-mock`
//! binary. Installs what is missing first: the wasm32 target, the wasm-bindgen CLI
//! matching `Cargo.lock`, and Chromium with chromedriver.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::mock::start_mock_with;
use crate::process::{cargo, ensure_rust_target, output, run_bounded, workspace_root};

/// The browser target.
pub(crate) const TARGET: &str = "wasm32-unknown-unknown";
/// Where Debian's packages put the browser and its driver.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// `cargo install wasm-bindgen-cli` takes about 3 minutes on 2 cores.
const CLI_INSTALL_TIME: Duration = Duration::from_secs(1500);
/// `apt-get update` and the install take about 30 seconds.
const APT_TIME: Duration = Duration::from_secs(600);
/// Building and running both browser test binaries.
const TEST_TIME: Duration = Duration::from_secs(1500);
/// How long the runner may take for one test binary (its default, 20 s, is too short
/// for the fault tests).
const BROWSER_TIMEOUT_SECS: &str = "240";

/// The party whose connections answer the browser heartbeat's `ping` with `pong`: the
/// heartbeat tests need a server that cooperates, and `partykit dev` (which the mock
/// imitates by default) has none. The other parties see `ping` like any message.
const HEARTBEAT_PARTY: &str = "echo";

/// Installs what is missing, starts `party-mock` (with the auto-response the heartbeat
/// tests need), runs the browser tests with its address compiled in, and stops it.
pub(crate) fn run() -> Result<(), String> {
    library_takes_a_range()?;
    let (_bindgen, runner) = browser_test_tools()?;

    let (mut mock, addr) = start_mock_with(&["--websocket-auto-response", HEARTBEAT_PARTY])?;

    let result = run_bounded(
        &mut browser_tests(
            &["--package", "partysocket-wasm", "--all-features"],
            &addr.to_string(),
            &runner,
            BROWSER_TIMEOUT_SECS,
        ),
        TEST_TIME,
    );
    mock.stop();
    result?;
    // The crate documentation's browser example keeps compiling (doc tests do not run
    // for wasm32; built for the host, they are compiled, not run).
    run_bounded(
        &mut cargo(&[
            "test",
            "--locked",
            "--package",
            "partysocket-wasm",
            "--all-features",
            "--doc",
        ]),
        TEST_TIME,
    )
}

/// The libraries an application depends on name `wasm-bindgen` by a semver range: an
/// `=` pin there would force that version on every app (the exact version lives in
/// `Cargo.lock`, for the CLI and the test tooling).
fn library_takes_a_range() -> Result<(), String> {
    for manifest in [
        "partysocket-wasm/Cargo.toml",
        "partysocket-leptos/Cargo.toml",
    ] {
        let path = workspace_root().join(manifest);
        let text = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        if let Some(line) = pinned_in_dependencies(&text) {
            return Err(format!(
                "{manifest} pins `{line}` in [dependencies]: use a range (\"0.2.x\"), so that applications may take a newer wasm-bindgen"
            ));
        }
    }
    Ok(())
}

/// The first `wasm-bindgen = "=..."` line of a manifest's `[dependencies]` table.
fn pinned_in_dependencies(manifest: &str) -> Option<&str> {
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        let pinned = line
            .strip_prefix("wasm-bindgen")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::trim_start)
            .is_some_and(|value| value.starts_with("\"=") || value.contains("version = \"="));
        if in_dependencies && pinned {
            return Some(line);
        }
    }
    None
}

/// The `wasm-bindgen` version in `Cargo.lock`, which the CLI must match exactly.
pub(crate) fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock = workspace_root().join("Cargo.lock");
    let text = std::fs::read_to_string(&lock)
        .map_err(|err| format!("cannot read {}: {err}", lock.display()))?;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == r#"name = "wasm-bindgen""# {
            let version = lines
                .next()
                .and_then(|line| line.trim().strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'));
            if let Some(version) = version {
                return Ok(version.to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, else `~/.cargo/bin`.
fn cargo_bin_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// `name` on the `PATH`, else in cargo's bin folder.
fn find_tool(name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain(cargo_bin_dir())
        .map(|dir| dir.join(&file))
        .find(|candidate| candidate.is_file())
}

/// The `wasm-bindgen` CLI of the locked version (installing it when missing or
/// different); returns its path. The test runner is installed beside it.
pub(crate) fn ensure_wasm_bindgen_cli() -> Result<PathBuf, String> {
    let version = locked_wasm_bindgen_version()?;
    let wanted = format!("wasm-bindgen {version}");
    if let Some(path) = find_tool("wasm-bindgen") {
        let found = output(Command::new(&path).arg("--version")).unwrap_or_default();
        if found.trim() == wanted && find_tool("wasm-bindgen-test-runner").is_some() {
            eprintln!("--> {wanted} is installed");
            return Ok(path);
        }
        eprintln!("--> found {:?}, need {wanted}: installing", found.trim());
    }
    // Without --locked: the CLI's own lock file wants a release the registry may lack.
    run_bounded(
        &mut cargo(&["install", "wasm-bindgen-cli", "--version", &version]),
        CLI_INSTALL_TIME,
    )?;
    find_tool("wasm-bindgen").ok_or_else(|| {
        "wasm-bindgen-cli was installed but `wasm-bindgen` is not on the PATH nor in cargo's bin folder".into()
    })
}

/// Chromium and chromedriver from Debian's packages, installed when either is missing.
pub(crate) fn ensure_chromium() -> Result<(), String> {
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        return Ok(());
    }
    eprintln!("--> installing Chromium and chromedriver with apt-get");
    let hint =
        "the browser tests need `chromium` and `chromium-driver` (Debian), installed as root";
    run_bounded(Command::new("apt-get").arg("update"), APT_TIME)
        .map_err(|err| format!("{err}; {hint}"))?;
    run_bounded(
        Command::new("apt-get")
            .args(["install", "-y", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        APT_TIME,
    )
    .map_err(|err| format!("{err}; {hint}"))?;
    if Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file() {
        Ok(())
    } else {
        Err(format!(
            "apt-get finished but {CHROMIUM} or {CHROMEDRIVER} is missing"
        ))
    }
}

/// `cargo test` of `args` (a package, its features and tests) for wasm32 in headless
/// Chromium: the tests reach `party-mock` at `mock_host`, each bounded by `timeout_secs`.
pub(crate) fn browser_tests(
    args: &[&str],
    mock_host: &str,
    runner: &Path,
    timeout_secs: &str,
) -> Command {
    let mut all = vec!["test", "--locked"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--target", TARGET]);
    let mut command = cargo(&all);
    command
        .env("PARTY_MOCK_HOST", mock_host)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", timeout_secs);
    command
}

/// Installs what browser tests need (the wasm target, the wasm-bindgen CLI matching
/// `Cargo.lock`, Chromium and chromedriver); returns the CLI and its test runner.
pub(crate) fn browser_test_tools() -> Result<(PathBuf, PathBuf), String> {
    ensure_rust_target(TARGET)?;
    let bindgen = ensure_wasm_bindgen_cli()?;
    ensure_chromium()?;
    let runner = bindgen.with_file_name(format!(
        "wasm-bindgen-test-runner{}",
        std::env::consts::EXE_SUFFIX
    ));
    Ok((bindgen, runner))
}

#[cfg(test)]
mod tests {
    use super::pinned_in_dependencies;

    #[test]
    fn an_exact_pin_in_dependencies_is_found_and_dev_dependencies_may_pin() {
        let pinned = "[dependencies]\nwasm-bindgen = \"=0.2.130\"\n";
        assert_eq!(
            pinned_in_dependencies(pinned),
            Some("wasm-bindgen = \"=0.2.130\"")
        );
        let table = "[dependencies]\nwasm-bindgen = { version = \"=0.2.130\" }\n";
        assert!(pinned_in_dependencies(table).is_some());
        let ranged = "[dependencies]\nwasm-bindgen = \"0.2.130\"\n[dev-dependencies]\nwasm-bindgen = \"=0.2.130\"\n";
        assert_eq!(pinned_in_dependencies(ranged), None);
    }
}
