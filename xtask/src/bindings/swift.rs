//! The Swift part of the `bindings` suite: `swift build` and `swift test` of
//! `bindings/swift` against a `party-mock` process.
//!
//! Swift 6 runs on Debian trixie (it needs glibc 2.38), not on the host's release: the
//! first run builds a trixie root with `debootstrap` under the target folder and
//! installs `swiftlang` into it; later runs reuse it (skipped when its `usr/bin/swift`
//! exists). Every command that touches the root runs in a mount namespace of its own
//! (`unshare --mount`): `/proc`, `/dev` and the bind mounts of the checkout and the
//! target folder exist there only and vanish with the process, whatever happens to it.
//! The Rust library is built on the host (the suite's debug build); the root shares the
//! host's loopback, so the tests reach the mock on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::debian_root::{self, is_root};
use crate::mock::wait_bounded;
use crate::process::{run_bounded, workspace_root};

/// The Debian release whose `swiftlang` package is the toolchain.
const RELEASE: &str = "trixie";
/// Packages `debootstrap` adds to its minimal base.
const BASE_PACKAGES: &str = "ca-certificates";
/// The Swift toolchain (compiler, SwiftPM, XCTest, Foundation) and the C library headers
/// the C module of the bindings needs.
const PACKAGES: &[&str] = &["swiftlang", "libc6-dev"];

/// `swiftlang` is a 532 MB download.
const APT_TIME: Duration = Duration::from_secs(1200);
/// `swift build` of the package and of its tests (about a minute warm).
const BUILD_TIME: Duration = Duration::from_secs(900);
/// `swift test`: every scenario.
const TEST_TIME: Duration = Duration::from_secs(300);

/// XCTest's summary of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) executed: u32,
    pub(crate) failures: u32,
}

/// Prepares the toolchain when missing, then builds the package and runs its tests
/// against the mock at `host`, linking `library` (the Rust library).
pub(crate) fn run(
    target: &Path,
    library: &Path,
    host: &str,
    tls: &super::TlsMock,
) -> Result<Counts, String> {
    eprintln!("==> Swift against party-mock on {host}");
    let started = Instant::now();
    let home = target.join("swift");
    let root = home.join(RELEASE);
    prepare(&home, &root)?;
    eprintln!(
        "--> the Swift toolchain is ready ({:.1?})",
        started.elapsed()
    );

    let checkout = workspace_root();
    let mut binds = vec![checkout.clone()];
    if !target.starts_with(&checkout) {
        binds.push(target.to_path_buf());
    }
    let package = checkout.join("bindings").join("swift");
    let scratch = home.join("build");
    let swift = |verb: &str| {
        let mut command = in_root(&root, &binds);
        command
            .arg(format!("PARTY_MOCK_HOST={host}"))
            .arg(format!("PARTY_MOCK_TLS_HOST={}", tls.host))
            .arg(format!("PARTY_MOCK_CA_PEM={}", tls.ca_pem.display()))
            .arg(format!("PARTYSOCKET_FFI_LIB={}", library.display()))
            .args(["env", "-C"])
            .arg(&package)
            .args(["swift", verb, "--scratch-path"])
            .arg(&scratch);
        command
    };
    let mut build = swift("build");
    build.arg("--build-tests");
    run_bounded(&mut build, BUILD_TIME).map_err(|err| format!("swift build: {err}"))?;
    let counts = run_tests(&mut swift("test"))?;
    eprintln!(
        "--> Swift: XCTest executed {} tests, {} failed ({:.1?} in all)",
        counts.executed,
        counts.failures,
        started.elapsed()
    );
    if counts.failures > 0 {
        return Err(format!(
            "the Swift suite failed: {} of {} tests",
            counts.failures, counts.executed
        ));
    }
    Ok(counts)
}

/// Runs `swift test` with its output streamed, and reads XCTest's last summary line.
fn run_tests(command: &mut Command) -> Result<Counts, String> {
    eprintln!("--> {command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start swift test: {err}"))?;
    let summary = Arc::new(Mutex::new(None));
    let mut readers = Vec::new();
    let streams: [Option<Box<dyn std::io::Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let summary = Arc::clone(&summary);
        readers.push(thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if let Some(counts) = parse_summary(&line) {
                    *summary.lock().unwrap_or_else(|p| p.into_inner()) = Some(counts);
                }
            }
        }));
    }
    let status = wait_bounded(&mut child, TEST_TIME);
    if status.is_none() {
        // `unshare --kill-child` takes the chroot's processes with it.
        let _ = child.kill();
        let _ = child.wait();
    }
    for reader in readers {
        let _ = reader.join();
    }
    let summary = *summary.lock().unwrap_or_else(|p| p.into_inner());
    match (status, summary) {
        (None, _) => Err(format!("the Swift suite ran longer than {TEST_TIME:?}")),
        (Some(_), Some(counts)) if counts.executed == 0 => {
            Err("XCTest executed no tests in bindings/swift".to_owned())
        }
        (Some(status), Some(counts)) if status.success() || counts.failures > 0 => Ok(counts),
        (Some(status), Some(counts)) => Err(format!(
            "swift test exited with {status} after {} tests",
            counts.executed
        )),
        (Some(status), None) => Err(format!(
            "swift test exited with {status} and printed no XCTest summary"
        )),
    }
}

/// `Executed 10 tests, with 0 failures (0 unexpected) in 4.2 (4.2) seconds`.
fn parse_summary(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("Executed ")?;
    let (executed, rest) = rest.split_once(' ')?;
    let rest = rest
        .strip_prefix("tests, with ")
        .or_else(|| rest.strip_prefix("test, with "))?;
    let (failures, rest) = rest.split_once(' ')?;
    rest.starts_with("failure").then_some(())?;
    Some(Counts {
        executed: executed.parse().ok()?,
        failures: failures.parse().ok()?,
    })
}

/// Builds the trixie root with Swift in it, unless its `usr/bin/swift` exists.
fn prepare(home: &Path, root: &Path) -> Result<(), String> {
    let swift = root.join("usr/bin/swift");
    // A link to an absolute path inside the root: it does not resolve from outside.
    let installed = || std::fs::symlink_metadata(&swift).is_ok();
    if installed() {
        eprintln!("--> the {RELEASE} root with Swift is cached");
        return Ok(());
    }
    if !is_root() {
        return Err(
            "preparing the Swift toolchain needs root (debootstrap, chroot, unshare), as on CI"
                .into(),
        );
    }
    debian_root::ensure_base(home, root, RELEASE, BASE_PACKAGES, "usr/bin/apt-get")?;
    run_bounded(in_root(root, &[]).args(["apt-get", "update"]), APT_TIME)
        .map_err(|err| format!("apt-get update in the {RELEASE} root: {err}"))?;
    eprintln!(
        "--> installing {} in the {RELEASE} root",
        PACKAGES.join(" ")
    );
    run_bounded(
        in_root(root, &[])
            .args(["apt-get", "install", "-y", "--no-install-recommends"])
            .args(PACKAGES),
        APT_TIME,
    )
    .map_err(|err| format!("apt-get install in the {RELEASE} root: {err}"))?;
    // The downloaded packages are not needed again.
    let _ = run_bounded(in_root(root, &[]).args(["apt-get", "clean"]), APT_TIME);
    if installed() {
        Ok(())
    } else {
        Err(format!(
            "swiftlang is installed but {} is missing",
            swift.display()
        ))
    }
}

fn in_root(root: &Path, binds: &[PathBuf]) -> Command {
    debian_root::in_root(root, binds, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xctest_summaries_parse() {
        assert_eq!(
            parse_summary(
                "\t Executed 11 tests, with 2 failures (0 unexpected) in 4.2 (4.2) seconds"
            ),
            Some(Counts {
                executed: 11,
                failures: 2
            })
        );
        assert_eq!(
            parse_summary("Executed 1 test, with 0 failures (0 unexpected) in 0.1 (0.1) seconds"),
            Some(Counts {
                executed: 1,
                failures: 0
            })
        );
        assert_eq!(parse_summary("Test Suite 'All tests' passed"), None);
        assert_eq!(parse_summary("Executed many tests"), None);
    }
}
