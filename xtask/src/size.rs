//! `cargo xtask size`: how many bytes a browser downloads for `partysocket-wasm`,
//! next to the official JavaScript client.
//!
//! Builds the demo app (connect, send, receive) with the `wasm-size` profile
//! (`opt-level = "z"`, LTO, one codegen unit, `panic = "abort"`), runs
//! `wasm-bindgen --target web` and, when npm can install it, `wasm-opt -Oz` from the
//! npm package `binaryen`; bundles `partysocket` from the fidelity project's packages
//! with its esbuild (`--bundle --minify`); prints raw and gzipped sizes and merges
//! `wasm_gz_bytes` and `js_gz_bytes` into `target/bench/report.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::mock::{ensure_npm_packages, fidelity_project, target_dir};
use crate::process::{cargo, ensure_rust_target, run_bounded};
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

/// Builds, measures, prints, and records the figures.
pub(crate) fn run() -> Result<(), String> {
    ensure_rust_target(TARGET)?;
    let bindgen = ensure_wasm_bindgen_cli()?;
    let target = target_dir()?;
    let out = target.join("size");
    let web = out.join("web");
    fs::create_dir_all(&web).map_err(|err| format!("cannot create {}: {err}", web.display()))?;

    run_bounded(
        &mut cargo(&[
            "build",
            "--locked",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
            "--package",
            DEMO,
        ]),
        STEP_TIME,
    )?;
    let built = target
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{DEMO_FILE}.wasm"));
    run_bounded(
        Command::new(&bindgen)
            .args([
                "--target",
                "web",
                "--remove-name-section",
                "--remove-producers-section",
                "--out-dir",
            ])
            .arg(&web)
            .arg(&built),
        STEP_TIME,
    )?;
    let bindgen_wasm = web.join(format!("{DEMO_FILE}_bg.wasm"));
    let glue = web.join(format!("{DEMO_FILE}.js"));

    let optimizer_tool = wasm_opt(&out);
    let (wasm, optimizer) = match optimizer_tool.clone() {
        Some(tool) => {
            let optimized = web.join(format!("{DEMO_FILE}_bg.opt.wasm"));
            run_bounded(
                Command::new(&tool)
                    .arg("-Oz")
                    .args(WASM_FEATURES)
                    .arg(&bindgen_wasm)
                    .arg("-o")
                    .arg(&optimized),
                STEP_TIME,
            )?;
            (optimized, "wasm-bindgen + wasm-opt -Oz")
        }
        None => (bindgen_wasm.clone(), "wasm-bindgen (wasm-opt unavailable)"),
    };

    let named = named_build(&bindgen, &built, &out, optimizer_tool.as_deref())?;

    let bundle = bundle_partysocket(&out)?;

    let wasm_size = measure(&wasm)?;
    let glue_size = measure(&glue)?;
    let js_size = measure(&bundle)?;
    let ratio = wasm_size.gzipped as f64 / js_size.gzipped as f64;
    println!("{:<58} {:>10} {:>10}", "bytes", "raw", "gzip -9");
    println!(
        "{:<58} {:>10} {:>10}",
        format!("partysocket-wasm demo .wasm ({optimizer})"),
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

    print_breakdown(&named)?;

    let report = target.join("bench").join("report.json");
    record(&report, wasm_size.gzipped, js_size.gzipped)?;
    println!(
        "recorded wasm_gz_bytes and js_gz_bytes in {}",
        report.display()
    );
    Ok(())
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

/// Adds (or replaces) the two figures in the report's JSON object, keeping the rest.
fn record(report: &Path, wasm_gz: u64, js_gz: u64) -> Result<(), String> {
    let mut figures = match fs::read_to_string(report) {
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
    figures.insert("wasm_gz_bytes".into(), wasm_gz.into());
    figures.insert("js_gz_bytes".into(), js_gz.into());
    if let Some(dir) = report.parent() {
        fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&Value::Object(figures))
        .map_err(|err| format!("cannot write the report: {err}"))?;
    fs::write(report, text + "\n")
        .map_err(|err| format!("cannot write {}: {err}", report.display()))
}
