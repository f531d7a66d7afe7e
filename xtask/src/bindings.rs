//! `cargo xtask bindings` regenerates the Kotlin, Swift and Python sources from the
//! built `partysocket-ffi` library into `bindings/`. The `bindings` suite checks that
//! the committed sources are what the library generates, checks the C header with
//! `gcc`, runs the crate's own tests, and runs the Kotlin (JVM) and Python suites
//! against a `party-mock` process.
//! Swift is generated and checked, not compiled: no Swift toolchain here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::mock::{spawn_mock, target_dir, wait_bounded};
use crate::process::{cargo, run as run_command, workspace_root};

/// The Kotlin compiler, from npm: a full JVM compiler with the standard library,
/// kotlinx-coroutines and kotlin-test in its `lib/`.
const KOTLIN_COMPILER: &str = "kotlin-compiler";
const KOTLIN_VERSION: &str = "2.4.20";
/// Debian's JNA (package `libjna-java`), which the generated Kotlin calls through.
const JNA_JAR: &str = "/usr/share/java/jna.jar";
/// pytest, from PyPI into a virtual environment under the target folder.
const PYTEST: &str = "pytest>=8,<9";

/// How long one install step may take.
const INSTALL_TIME: Duration = Duration::from_secs(600);
/// How long compiling the Kotlin sources may take.
const KOTLIN_COMPILE_TIME: Duration = Duration::from_secs(600);
/// How long one language's test run may take.
const SUITE_TIME: Duration = Duration::from_secs(300);

/// Where each generated file goes: its path in the generator's output folder, and in
/// the repository.
const OUTPUTS: &[(&str, &str)] = &[
    (
        "partysocket/ffi/partysocket_ffi.kt",
        "bindings/kotlin/src/main/kotlin/partysocket/ffi/partysocket_ffi.kt",
    ),
    (
        "PartySocketFFI.swift",
        "bindings/swift/Sources/PartySocketFFI/PartySocketFFI.swift",
    ),
    (
        "CPartySocketFFI.h",
        "bindings/swift/Sources/CPartySocketFFI/include/CPartySocketFFI.h",
    ),
    (
        "CPartySocketFFI.modulemap",
        "bindings/swift/Sources/CPartySocketFFI/include/module.modulemap",
    ),
    ("partysocket_ffi.py", "bindings/python/partysocket_ffi.py"),
];

/// `cargo xtask bindings`: build, generate, and write the sources into `bindings/`.
pub(crate) fn generate() -> Result<(), String> {
    let target = target_dir()?;
    build()?;
    let out = generate_into(&target)?;
    let root = workspace_root();
    for (generated, committed) in OUTPUTS {
        let destination = root.join(committed);
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent)
                .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        fs::copy(out.join(generated), &destination)
            .map_err(|err| format!("cannot write {}: {err}", destination.display()))?;
        eprintln!("--> wrote {committed}");
    }
    Ok(())
}

/// The `bindings` suite.
pub(crate) fn run() -> Result<(), String> {
    let target = target_dir()?;
    let tools = target.join("bindings-tools");
    fs::create_dir_all(&tools)
        .map_err(|err| format!("cannot create {}: {err}", tools.display()))?;
    // Installs first, so a missing tool fails before the build.
    let kotlin = ensure_kotlin_compiler(&tools)?;
    ensure_jna()?;
    let python = ensure_pytest(&tools)?;

    build()?;
    let out = generate_into(&target)?;
    check_committed(&out)?;
    check_header(&out)?;
    // The Rust side: options, a panicking and a failing listener, close and drop. The
    // generator is named too, so UniFFI is built with the same features as above.
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket-ffi",
        "--package",
        "uniffi-bindgen",
    ]))?;

    let (mut mock, addr) = spawn_mock()?;
    let host = addr.to_string();

    let kotlin_result = run_kotlin(&kotlin, &target, &host);
    let python_result = run_python(&python, &target, &host);
    mock.stop();
    match (kotlin_result, python_result) {
        (Ok(()), Ok(())) => {
            eprintln!(
                "bindings: generated sources current, header checked, Kotlin and Python suites passed (Swift: generated only, not compiled here)"
            );
            Ok(())
        }
        (kotlin, python) => Err([kotlin.err(), python.err()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// Builds the library, the generator and the mock server in one cargo invocation, so
/// their shared dependencies are built once and with one set of features.
fn build() -> Result<(), String> {
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket-ffi",
        "--package",
        "uniffi-bindgen",
        "--package",
        "party-mock",
    ]))
}

/// The built library, as the generated code loads it (`libpartysocket_ffi.so`).
fn library(target: &Path) -> PathBuf {
    target.join("debug").join(format!(
        "{}partysocket_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Runs the built generator on the built library into `target/bindings/generated`.
fn generate_into(target: &Path) -> Result<PathBuf, String> {
    let out = target.join("bindings").join("generated");
    if out.exists() {
        fs::remove_dir_all(&out).map_err(|err| format!("cannot clear {}: {err}", out.display()))?;
    }
    let bindgen = target
        .join("debug")
        .join(format!("uniffi-bindgen{}", std::env::consts::EXE_SUFFIX));
    run_command(
        Command::new(bindgen)
            .args(["generate", "--no-format", "--library"])
            .arg(library(target))
            .args([
                "--language",
                "kotlin",
                "--language",
                "swift",
                "--language",
                "python",
                "--out-dir",
            ])
            .arg(&out)
            .current_dir(workspace_root()),
    )?;
    Ok(out)
}

/// Fails, naming the files, when the committed sources differ from fresh ones.
fn check_committed(out: &Path) -> Result<(), String> {
    let root = workspace_root();
    let mut stale = Vec::new();
    for (generated, committed) in OUTPUTS {
        let fresh = fs::read(out.join(generated))
            .map_err(|err| format!("the generator wrote no {generated}: {err}"))?;
        if fs::read(root.join(committed)).ok().as_deref() != Some(fresh.as_slice()) {
            stale.push(*committed);
        }
    }
    if stale.is_empty() {
        eprintln!(
            "--> the {} committed generated files are current",
            OUTPUTS.len()
        );
        Ok(())
    } else {
        Err(format!(
            "generated bindings differ from the committed ones: {}; run `cargo xtask bindings` and commit the result",
            stale.join(", ")
        ))
    }
}

/// `gcc -fsyntax-only` on the generated C header, as a C compiler on a device sees it
/// (Clang's nullability annotations defined away).
fn check_header(out: &Path) -> Result<(), String> {
    run_command(
        Command::new("gcc")
            .args(["-fsyntax-only", "-x", "c", "-D_Nullable=", "-D_Nonnull="])
            .arg(out.join("CPartySocketFFI.h")),
    )
}

/// Runs `command` with a time limit (see [`crate::process::run_bounded`]); errors
/// name `what` was being done.
fn run_bounded(command: &mut Command, limit: Duration, what: &str) -> Result<(), String> {
    crate::process::run_bounded(command, limit).map_err(|err| format!("{what}: {err}"))
}

/// The npm Kotlin compiler under `tools/kotlin`, installed when missing; returns the
/// package folder.
fn ensure_kotlin_compiler(tools: &Path) -> Result<PathBuf, String> {
    let prefix = tools.join("kotlin");
    let package = prefix.join("node_modules").join(KOTLIN_COMPILER);
    let manifest = fs::read_to_string(package.join("package.json")).unwrap_or_default();
    if manifest.contains(&format!("\"version\": \"{KOTLIN_VERSION}\""))
        && package.join("lib").join("kotlin-stdlib.jar").exists()
    {
        eprintln!("--> {KOTLIN_COMPILER} {KOTLIN_VERSION} is installed");
        return Ok(package);
    }
    fs::create_dir_all(&prefix)
        .map_err(|err| format!("cannot create {}: {err}", prefix.display()))?;
    run_bounded(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("{KOTLIN_COMPILER}@{KOTLIN_VERSION}")),
        INSTALL_TIME,
        "npm install kotlin-compiler",
    )?;
    Ok(package)
}

/// Debian's JNA, installed with apt when missing (as root, as on CI).
fn ensure_jna() -> Result<(), String> {
    if Path::new(JNA_JAR).exists() {
        eprintln!("--> JNA is installed");
        return Ok(());
    }
    run_bounded(
        Command::new("apt-get").arg("update"),
        INSTALL_TIME,
        "apt-get update (installing JNA needs root)",
    )?;
    run_bounded(
        Command::new("apt-get").args(["install", "-y", "libjna-java"]),
        INSTALL_TIME,
        "apt-get install libjna-java",
    )?;
    if Path::new(JNA_JAR).exists() {
        Ok(())
    } else {
        Err(format!("libjna-java is installed but {JNA_JAR} is missing"))
    }
}

/// A virtual environment with pytest under `tools/venv`; returns its Python.
fn ensure_pytest(tools: &Path) -> Result<PathBuf, String> {
    let venv = tools.join("venv");
    let bin = venv.join("bin");
    let python = bin.join("python");
    if bin.join("pytest").exists() {
        eprintln!("--> pytest is installed");
        return Ok(python);
    }
    let create = || {
        run_bounded(
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            INSTALL_TIME,
            "python3 -m venv",
        )
    };
    if create().is_err() {
        // Debian's own Python ships `venv` without `ensurepip` in a separate package.
        eprintln!("--> installing python3-venv with apt");
        run_bounded(
            Command::new("apt-get").arg("update"),
            INSTALL_TIME,
            "apt-get update",
        )?;
        run_bounded(
            Command::new("apt-get").args(["install", "-y", "python3-venv"]),
            INSTALL_TIME,
            "apt-get install python3-venv",
        )?;
        create()?;
    }
    run_bounded(
        Command::new(&python).args(["-m", "pip", "install", "--quiet", PYTEST]),
        INSTALL_TIME,
        "pip install pytest",
    )?;
    Ok(python)
}

/// Every `.kt` file under `dir`.
fn kotlin_sources(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        fs::read_dir(dir).map_err(|err| format!("cannot read {}: {err}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|err| format!("cannot read {}: {err}", dir.display()))?
            .path();
        if path.is_dir() {
            kotlin_sources(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "kt") {
            found.push(path);
        }
    }
    Ok(())
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

/// Compiles the generated code, the wrapper and the tests into one jar (skipped when
/// the jar is newer than every source), then runs the tests on the JVM.
fn run_kotlin(compiler: &Path, target: &Path, host: &str) -> Result<(), String> {
    eprintln!("==> Kotlin (JVM) against party-mock on {host}");
    let project = workspace_root().join("bindings").join("kotlin");
    let mut sources = Vec::new();
    kotlin_sources(&project.join("src"), &mut sources)?;
    sources.sort();
    let lib = compiler.join("lib");
    let classpath = |extra: &[PathBuf]| {
        let mut entries: Vec<PathBuf> = extra.to_vec();
        entries.extend(
            [
                "kotlin-stdlib.jar",
                "kotlinx-coroutines-core-jvm.jar",
                "kotlin-test.jar",
            ]
            .map(|jar| lib.join(jar)),
        );
        entries.push(PathBuf::from(JNA_JAR));
        std::env::join_paths(entries).map_err(|err| format!("bad classpath: {err}"))
    };
    let jar = target.join("bindings").join("kotlin").join("tests.jar");
    let jar_time = modified(&jar);
    let current = jar_time.is_some_and(|built| {
        sources
            .iter()
            .all(|source| modified(source).is_some_and(|changed| changed <= built))
    });
    if current {
        eprintln!("--> {} is current", jar.display());
    } else {
        let _ = fs::remove_file(&jar);
        run_bounded(
            Command::new(compiler.join("bin").join("kotlinc"))
                .arg("-nowarn")
                .arg("-classpath")
                .arg(classpath(&[])?)
                .arg("-d")
                .arg(&jar)
                .args(&sources),
            KOTLIN_COMPILE_TIME,
            "kotlinc",
        )?;
    }
    run_bounded(
        Command::new("java")
            .arg(format!(
                "-Djna.library.path={}",
                target.join("debug").display()
            ))
            .arg("-classpath")
            .arg(classpath(std::slice::from_ref(&jar))?)
            .arg("partysocket.tests.MainKt")
            .arg(host),
        SUITE_TIME,
        "the Kotlin suite",
    )
}

/// Stages the generated module, the wrapper and the library side by side, then runs
/// pytest on `bindings/python/tests`.
fn run_python(python: &Path, target: &Path, host: &str) -> Result<(), String> {
    eprintln!("==> Python against party-mock on {host}");
    let project = workspace_root().join("bindings").join("python");
    let stage = target.join("bindings").join("python");
    fs::create_dir_all(&stage)
        .map_err(|err| format!("cannot create {}: {err}", stage.display()))?;
    let entries = fs::read_dir(&project)
        .map_err(|err| format!("cannot read {}: {err}", project.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|err| format!("cannot read {}: {err}", project.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "py") {
            let name = path.file_name().unwrap_or_default();
            fs::copy(&path, stage.join(name))
                .map_err(|err| format!("cannot stage {}: {err}", path.display()))?;
        }
    }
    let library = library(target);
    let name = library.file_name().unwrap_or_default();
    fs::copy(&library, stage.join(name))
        .map_err(|err| format!("cannot stage {}: {err}", library.display()))?;

    eprintln!("--> pytest {}", project.join("tests").display());
    let mut child = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(project.join("tests"))
        .env("PYTHONPATH", &stage)
        .env("PARTY_MOCK_HOST", host)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .spawn()
        .map_err(|err| format!("cannot start pytest: {err}"))?;
    match wait_bounded(&mut child, SUITE_TIME) {
        Some(status) if status.success() => Ok(()),
        // pytest's exit code 5: no tests were collected, which must not pass.
        Some(status) if status.code() == Some(5) => {
            Err("pytest collected no tests in bindings/python/tests".to_owned())
        }
        Some(status) => Err(format!("the Python suite failed ({status})")),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("the Python suite ran longer than {SUITE_TIME:?}"))
        }
    }
}
