//! `cargo xtask size`: how many bytes a browser downloads for `partysocket-wasm`,
//! next to the official JavaScript client.
//!
//! Builds the demo app (connect, send, receive) with the `wasm-size` profile
//! (`opt-level = "z"`, LTO, one codegen unit, `panic = "abort"`), runs
//! `wasm-bindgen --target web` and, when npm can install it, `wasm-opt -Oz` from the
//! npm package `binaryen`; bundles `partysocket` from the fidelity project's packages
//! with its esbuild (`--bundle --minify`); prints raw and gzipped sizes, the sections,
//! areas and largest functions of the module, and merges `wasm_gz_bytes`,
//! `wasm_glue_gz_bytes` and `js_gz_bytes` into `target/bench/report.json`. One extra
//! line, not recorded, shows the demo built by nightly Rust with the standard library
//! rebuilt for the `immediate-abort` panic strategy (what an app that opts into nightly
//! gets); it says why it is skipped when nightly or its `rust-src` is missing.
//!
//! Then the bytes `partysocket-leptos` adds to a Leptos page: the same small page
//! (`partysocket-wasm/size-demo/leptos-page`) built on a plain `web_sys::WebSocket` and
//! on `use_party_socket`, module plus glue gzipped, recorded as
//! `leptos_plain_page_gz_bytes`, `leptos_hook_page_gz_bytes` and
//! `leptos_hook_added_gz_bytes`. The two Leptos builds take minutes: `cargo xtask size
//! demo` and `cargo xtask size leptos` run one part each. Size is not part of
//! `cargo xtask test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::mock::{ensure_npm_packages, fidelity_project, target_dir};
use crate::process::{cargo, ensure_rust_target, output, run_bounded, workspace_root};
use crate::wasm::{TARGET, ensure_wasm_bindgen_cli};

const DEMO: &str = "partysocket-wasm-size-demo";
const DEMO_FILE: &str = "partysocket_wasm_size_demo";
const PROFILE: &str = "wasm-size";
/// The npm package that ships `wasm-opt`, pinned so figures compare across runs.
const BINARYEN: &str = "binaryen@132.0.0";
/// Each build or tool step.
const STEP_TIME: Duration = Duration::from_secs(900);
/// The WebAssembly features rustc's wasm32 target emits, which `wasm-opt` must accept.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];
/// The target: the browser build gzipped is at most this many times the JS bundle's.
const TARGET_RATIO: f64 = 3.0;

/// The Leptos page measured with and without `partysocket-leptos`.
const LEPTOS_PAGE: &str = "partysocket-leptos-size-page";
const LEPTOS_PAGE_FILE: &str = "partysocket_leptos_size_page";
/// The page's feature that puts it on the hook (without it: a plain `web_sys::WebSocket`).
const LEPTOS_HOOK_FEATURE: &str = "hook";

/// Which parts `cargo xtask size` runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The demo app against the JS client, with the breakdown.
    Demo,
    /// The bytes `partysocket-leptos` adds to a Leptos page (two Leptos builds).
    Leptos,
    /// Both.
    All,
}

/// Builds, measures, prints, and records the figures of `part`.
pub(crate) fn run(part: Part) -> Result<(), String> {
    ensure_rust_target(TARGET)?;
    let bindgen = ensure_wasm_bindgen_cli()?;
    let target = target_dir()?;
    let out = target.join("size");
    fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let optimizer = wasm_opt(&out);
    let report = target.join("bench").join("report.json");
    let mut figures = Vec::new();
    if part != Part::Leptos {
        figures.extend(demo(&bindgen, &target, &out, optimizer.as_deref())?);
    }
    if part != Part::Demo {
        figures.extend(leptos_page(&bindgen, &target, &out, optimizer.as_deref())?);
    }
    record(&report, &figures)?;
    let names: Vec<&str> = figures.iter().map(|(name, _)| *name).collect();
    println!("recorded {} in {}", names.join(", "), report.display());
    Ok(())
}

/// A browser build after `wasm-bindgen --target web` and (when available) `wasm-opt -Oz`.
struct Shrunk {
    /// The built module, before `wasm-bindgen`.
    built: PathBuf,
    /// The module a browser downloads.
    wasm: PathBuf,
    /// Its JS glue.
    glue: PathBuf,
}

/// Builds `package` (with `features`) for the browser with the size profile, then runs
/// `wasm-bindgen` and `wasm-opt` into `web`.
fn build_and_shrink(
    bindgen: &Path,
    target: &Path,
    web: &Path,
    optimizer: Option<&Path>,
    (package, file): (&str, &str),
    features: &[&str],
) -> Result<Shrunk, String> {
    let mut args = vec![
        "build",
        "--locked",
        "--profile",
        PROFILE,
        "--target",
        TARGET,
        "--package",
        package,
    ];
    let features = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", &features]);
    }
    run_bounded(&mut cargo(&args), STEP_TIME)?;
    let built = target
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{file}.wasm"));
    shrink(bindgen, built, web, optimizer, file)
}

/// Runs `wasm-bindgen` and `wasm-opt` on the module `built` into `web`.
fn shrink(
    bindgen: &Path,
    built: PathBuf,
    web: &Path,
    optimizer: Option<&Path>,
    file: &str,
) -> Result<Shrunk, String> {
    fs::create_dir_all(web).map_err(|err| format!("cannot create {}: {err}", web.display()))?;
    run_bounded(
        Command::new(bindgen)
            .args([
                "--target",
                "web",
                "--remove-name-section",
                "--remove-producers-section",
                "--out-dir",
            ])
            .arg(web)
            .arg(&built),
        STEP_TIME,
    )?;
    let bindgen_wasm = web.join(format!("{file}_bg.wasm"));
    let glue = web.join(format!("{file}.js"));
    let wasm = match optimizer {
        Some(tool) => {
            let optimized = web.join(format!("{file}_bg.opt.wasm"));
            run_bounded(
                Command::new(tool)
                    .arg("-Oz")
                    .args(WASM_FEATURES)
                    .arg(&bindgen_wasm)
                    .arg("-o")
                    .arg(&optimized),
                STEP_TIME,
            )?;
            optimized
        }
        None => bindgen_wasm,
    };
    Ok(Shrunk { built, wasm, glue })
}

/// How the figures were made, for the printed table.
fn optimizer_label(optimizer: Option<&Path>) -> &'static str {
    if optimizer.is_some() {
        "wasm-bindgen + wasm-opt -Oz"
    } else {
        "wasm-bindgen (wasm-opt unavailable)"
    }
}

/// The demo app against the official JS client, and where its bytes go.
fn demo(
    bindgen: &Path,
    target: &Path,
    out: &Path,
    optimizer: Option<&Path>,
) -> Result<Vec<(&'static str, u64)>, String> {
    let shrunk = build_and_shrink(
        bindgen,
        target,
        &out.join("web"),
        optimizer,
        (DEMO, DEMO_FILE),
        &[],
    )?;
    let named = named_build(bindgen, &shrunk.built, out, optimizer)?;
    let bundle = bundle_partysocket(out)?;

    let wasm_size = measure(&shrunk.wasm)?;
    let glue_size = measure(&shrunk.glue)?;
    let js_size = measure(&bundle)?;
    let ratio = wasm_size.gzipped as f64 / js_size.gzipped as f64;
    println!("{:<58} {:>10} {:>10}", "bytes", "raw", "gzip -9");
    println!(
        "{:<58} {:>10} {:>10}",
        format!(
            "partysocket-wasm demo .wasm ({})",
            optimizer_label(optimizer)
        ),
        wasm_size.raw,
        wasm_size.gzipped
    );
    println!(
        "{:<58} {:>10} {:>10}",
        "  its JS glue (wasm-bindgen --target web)", glue_size.raw, glue_size.gzipped
    );
    println!(
        "{:<58} {:>10} {:>10}",
        "partysocket (JS, esbuild --bundle --minify)", js_size.raw, js_size.gzipped
    );
    println!(
        "wasm / JS gzipped: {ratio:.1}x (target: at most {TARGET_RATIO:.0}x, {} bytes); with the glue: {:.1}x",
        (js_size.gzipped as f64 * TARGET_RATIO) as u64,
        (wasm_size.gzipped + glue_size.gzipped) as f64 / js_size.gzipped as f64
    );

    immediate_abort_demo(bindgen, target, out, optimizer);
    print_breakdown(&named)?;
    Ok(vec![
        ("wasm_gz_bytes", wasm_size.gzipped),
        ("wasm_glue_gz_bytes", glue_size.gzipped),
        ("js_gz_bytes", js_size.gzipped),
    ])
}

/// The toolchain that can rebuild the standard library.
const NIGHTLY: &str = "nightly";

/// An extra line, not a default and not recorded: the demo with the standard library
/// rebuilt by nightly Rust (`-Zbuild-std`) with the `immediate-abort` panic strategy,
/// which leaves out panic messages, their locations and the formatting they need;
/// what an application that opts into nightly gets. Skipped, with the reason printed,
/// when nightly or its `rust-src` is missing or the build fails.
fn immediate_abort_demo(bindgen: &Path, target: &Path, out: &Path, optimizer: Option<&Path>) {
    const LABEL: &str = "  with nightly -Zbuild-std, panic = \"immediate-abort\"";
    match immediate_abort_build(bindgen, target, out, optimizer) {
        Ok((wasm, glue)) => {
            println!("{LABEL:<58} {:>10} {:>10}", wasm.raw, wasm.gzipped);
            println!(
                "{:<58} {:>10} {:>10}",
                "    its JS glue", glue.raw, glue.gzipped
            );
        }
        Err(reason) => println!("{LABEL}: skipped ({reason})"),
    }
}

/// Builds, shrinks and measures the demo as [`immediate_abort_demo`] describes.
fn immediate_abort_build(
    bindgen: &Path,
    target: &Path,
    out: &Path,
    optimizer: Option<&Path>,
) -> Result<(Size, Size), String> {
    let sysroot =
        output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "--print", "sysroot"]))
            .ok_or("no nightly toolchain: `rustup toolchain install nightly` adds it")?;
    let std_source = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/std");
    if !std_source.is_dir() {
        return Err(
            "nightly has no rust-src: `rustup component add rust-src --toolchain nightly` adds it"
                .into(),
        );
    }
    // Its own target directory: the nightly artifacts would replace the stable ones.
    let target_dir = target.join("nightly-size");
    let mut build = Command::new("rustup");
    build
        .args([
            "run",
            NIGHTLY,
            "cargo",
            "build",
            "--locked",
            "-Zbuild-std=std,panic_abort",
            "-Zpanic-immediate-abort",
            "--config",
            "profile.wasm-size.panic=\"immediate-abort\"",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
            "--package",
            DEMO,
            "--target-dir",
        ])
        .arg(&target_dir)
        .current_dir(workspace_root())
        // The stable cargo that runs xtask would otherwise choose the toolchain.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC");
    run_bounded(&mut build, STEP_TIME).map_err(|err| format!("the nightly build failed: {err}"))?;
    let built = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{DEMO_FILE}.wasm"));
    let shrunk = shrink(
        bindgen,
        built,
        &out.join("immediate-abort"),
        optimizer,
        DEMO_FILE,
    )?;
    Ok((measure(&shrunk.wasm)?, measure(&shrunk.glue)?))
}

/// The same Leptos page on a plain `web_sys::WebSocket` and on `use_party_socket`: the
/// gzipped difference (module plus glue) is what `partysocket-leptos` adds to a page.
fn leptos_page(
    bindgen: &Path,
    target: &Path,
    out: &Path,
    optimizer: Option<&Path>,
) -> Result<Vec<(&'static str, u64)>, String> {
    let page = (LEPTOS_PAGE, LEPTOS_PAGE_FILE);
    let plain = build_and_shrink(
        bindgen,
        target,
        &out.join("leptos-plain"),
        optimizer,
        page,
        &[],
    )?;
    let plain = (measure(&plain.wasm)?, measure(&plain.glue)?);
    let hook = build_and_shrink(
        bindgen,
        target,
        &out.join("leptos-hook"),
        optimizer,
        page,
        &[LEPTOS_HOOK_FEATURE],
    )?;
    let hook = (measure(&hook.wasm)?, measure(&hook.glue)?);
    println!(
        "\nthe bytes partysocket-leptos adds to a Leptos page (csr; {}):",
        optimizer_label(optimizer)
    );
    println!("{:<58} {:>10} {:>10}", "bytes", "raw", "gzip -9");
    for (label, (wasm, glue)) in [
        ("page on a plain web_sys::WebSocket", &plain),
        ("the same page on use_party_socket", &hook),
    ] {
        println!(
            "{:<58} {:>10} {:>10}",
            format!("{label} .wasm"),
            wasm.raw,
            wasm.gzipped
        );
        println!(
            "{:<58} {:>10} {:>10}",
            "  its JS glue", glue.raw, glue.gzipped
        );
    }
    let plain_total = plain.0.gzipped + plain.1.gzipped;
    let hook_total = hook.0.gzipped + hook.1.gzipped;
    let added = hook_total.saturating_sub(plain_total);
    println!(
        "partysocket-leptos adds {added} bytes gzipped (.wasm {:+}, glue {:+}): {plain_total} -> {hook_total}",
        hook.0.gzipped as i64 - plain.0.gzipped as i64,
        hook.1.gzipped as i64 - plain.1.gzipped as i64,
    );
    Ok(vec![
        ("leptos_plain_page_gz_bytes", plain_total),
        ("leptos_hook_page_gz_bytes", hook_total),
        ("leptos_hook_added_gz_bytes", added),
    ])
}

/// How many functions and areas the breakdown lists.
const TOP: usize = 25;

/// The same build with its function names kept (wasm-bindgen without
/// `--remove-name-section`, `wasm-opt -Oz --debuginfo`), so that the breakdown can say
/// which functions the bytes belong to; the figures above are measured without names.
fn named_build(
    bindgen: &Path,
    built: &Path,
    out: &Path,
    optimizer: Option<&Path>,
) -> Result<PathBuf, String> {
    let named = out.join("named");
    fs::create_dir_all(&named)
        .map_err(|err| format!("cannot create {}: {err}", named.display()))?;
    run_bounded(
        Command::new(bindgen)
            .args(["--target", "web", "--out-dir"])
            .arg(&named)
            .arg(built),
        STEP_TIME,
    )?;
    let wasm = named.join(format!("{DEMO_FILE}_bg.wasm"));
    let Some(tool) = optimizer else {
        return Ok(wasm);
    };
    let optimized = named.join(format!("{DEMO_FILE}_bg.opt.wasm"));
    run_bounded(
        Command::new(tool)
            .args(["-Oz", "--debuginfo"])
            .args(WASM_FEATURES)
            .arg(&wasm)
            .arg("-o")
            .arg(&optimized),
        STEP_TIME,
    )?;
    Ok(optimized)
}

/// Prints the sections, the areas (crate and module) and the largest functions of
/// the named build.
fn print_breakdown(named: &Path) -> Result<(), String> {
    let bytes = fs::read(named).map_err(|err| format!("cannot read {}: {err}", named.display()))?;
    let breakdown = crate::wasm_bytes::breakdown(&bytes)?;
    println!("\nwhere the bytes go (raw, before gzip; names kept for this listing):");
    for section in &breakdown.sections {
        println!("  section {:<50} {:>10}", section.name, section.bytes);
    }
    println!("  largest areas of code (crate::module):");
    for (area, bytes) in crate::wasm_bytes::by_area(&breakdown.functions)
        .iter()
        .take(TOP)
    {
        println!("    {area:<56} {bytes:>8}");
    }
    println!("  largest functions:");
    for (name, bytes) in breakdown.functions.iter().take(TOP) {
        let name: String = name.chars().take(90).collect();
        println!("    {bytes:>8}  {name}");
    }
    Ok(())
}

/// Sizes of one file.
struct Size {
    raw: u64,
    gzipped: u64,
}

/// The size of `path` and of its `gzip -9` compression.
fn measure(path: &Path) -> Result<Size, String> {
    let raw = fs::metadata(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?
        .len();
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .map_err(|err| format!("cannot run gzip: {err}"))?;
    if !out.status.success() {
        return Err(format!("gzip {} failed", path.display()));
    }
    Ok(Size {
        raw,
        gzipped: out.stdout.len() as u64,
    })
}

/// `wasm-opt` from the npm package `binaryen`, installed under `out/tools` when
/// missing; `None` (the figures are then measured without it) when npm cannot.
fn wasm_opt(out: &Path) -> Option<PathBuf> {
    let tools = out.join("tools");
    let tool = tools.join("node_modules").join(".bin").join("wasm-opt");
    if tool.is_file() {
        return Some(tool);
    }
    fs::create_dir_all(&tools).ok()?;
    let installed = run_bounded(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg(BINARYEN),
        STEP_TIME,
    );
    match installed {
        Ok(()) if tool.is_file() => Some(tool),
        _ => {
            eprintln!("--> wasm-opt could not be installed with npm; measuring without it");
            None
        }
    }
}

/// The official client, bundled and minified by the fidelity project's esbuild.
fn bundle_partysocket(out: &Path) -> Result<PathBuf, String> {
    let project = fidelity_project();
    ensure_npm_packages(&project)?;
    let modules = project.join("node_modules");
    let esbuild = modules.join(".bin").join("esbuild");
    if !esbuild.is_file() {
        return Err(format!(
            "{} is missing (partykit brings esbuild)",
            esbuild.display()
        ));
    }
    let js = out.join("js");
    fs::create_dir_all(&js).map_err(|err| format!("cannot create {}: {err}", js.display()))?;
    let entry = js.join("entry.mjs");
    fs::write(&entry, "export { default } from \"partysocket\";\n")
        .map_err(|err| format!("cannot write {}: {err}", entry.display()))?;
    let bundle = js.join("partysocket.min.js");
    run_bounded(
        Command::new(&esbuild)
            .arg(&entry)
            .args([
                "--bundle",
                "--minify",
                "--format=esm",
                "--log-level=warning",
            ])
            .arg(format!("--outfile={}", bundle.display()))
            .env("NODE_PATH", &modules),
        STEP_TIME,
    )?;
    Ok(bundle)
}

/// Adds (or replaces) `figures` in the report's JSON object, keeping the rest.
fn record(report: &Path, figures: &[(&str, u64)]) -> Result<(), String> {
    let mut map = match fs::read_to_string(report) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(format!(
                    "{} is not a JSON object; remove it or fix it",
                    report.display()
                ));
            }
        },
        Err(_) => Map::new(),
    };
    for (name, value) in figures {
        map.insert((*name).into(), (*value).into());
    }
    if let Some(dir) = report.parent() {
        fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&Value::Object(map))
        .map_err(|err| format!("cannot write the report: {err}"))?;
    fs::write(report, text + "\n")
        .map_err(|err| format!("cannot write {}: {err}", report.display()))
}
