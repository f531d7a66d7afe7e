//! `cargo xtask`: the project's automation.
//!
//! `cargo xtask test` installs what the suites need and runs every check and suite;
//! `cargo xtask test <suite>` runs one suite; `cargo xtask test quick` runs the lints and
//! the `core` and `native` suites, which install no system packages. Every install step is idempotent and
//! cheap when its tool is already present, so the same command works on a fresh
//! machine and on a warm one.

use std::process::ExitCode;

mod autobahn;
mod bench;
mod bevy_suite;
mod bindings;
mod cli_suite;
mod core_suite;
mod debian_root;
mod fuzz;
mod interop;
mod leptos;
mod leptos_chat;
mod lint;
mod loopback;
mod markdown;
mod mock;
mod native_suite;
mod package;
mod process;
mod size;
mod soak;
mod static_site;
mod wasm;
mod wasm_bytes;

/// One named test suite.
struct Suite {
    name: &'static str,
    about: &'static str,
    run: fn() -> Result<(), String>,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "core",
        about: "sans-IO core: unit, ported upstream and property tests; wasm32 build",
        run: core_suite::run,
    },
    Suite {
        name: "native",
        about: "tokio driver against the in-process mock; the examples run",
        run: native_suite::run,
    },
    Suite {
        name: "interop",
        about: "native client scenarios against a real `partykit dev` server",
        run: interop::run,
    },
    Suite {
        name: "mock",
        about: "party-mock tests; partysocket (JS) against partykit dev and party-mock",
        run: mock::run,
    },
    Suite {
        name: "soak",
        about: "a 30-second fault soak: 50 sockets, random faults, nothing queued lost",
        run: soak::suite,
    },
    Suite {
        name: "wasm",
        about: "partysocket-wasm in headless Chromium against the party-mock binary",
        run: wasm::run,
    },
    Suite {
        name: "bindings",
        about: "UniFFI: generated sources current, C header, Kotlin and Python against party-mock",
        run: bindings::run,
    },
    Suite {
        name: "leptos",
        about: "partysocket-leptos hook tests in headless Chromium; the leptos-chat page end to end",
        run: leptos::run,
    },
    Suite {
        name: "cli",
        about: "the `partysocket` command line against the mock: pipes, a restart, a 401, fetch; then against party-mock",
        run: cli_suite::run,
    },
    Suite {
        name: "bevy",
        about: "partysocket-bevy: two headless apps exchange moves across a restart; the headless game runs; the plugin builds for wasm32 and a Bevy app joins a room in headless Chromium",
        run: bevy_suite::run,
    },
    Suite {
        name: "autobahn",
        about: "Autobahn|Testsuite (1.* to 7.*, 10.*): ours at least as conformant as bare tokio-tungstenite",
        run: autobahn::run,
    },
];

fn usage() -> String {
    let mut text = String::from(
        "usage: cargo xtask <command>\n\ncommands:\n  test           lints, docs and every suite\n  test quick     lints, core and native: no system packages, no root\n  test <suite>   one suite\n  lint           Markdown, fmt, clippy, doc, README snippet and packaging checks only\n  markdown [FILE...]\n                 code fences balanced and tables unbroken (default: the repository's)\n  bindings       regenerate the Kotlin, Swift and Python sources in bindings/\n  bench          speed and memory, as ratios against baselines\n  size [demo|leptos]\n                 browser download size of partysocket-wasm vs the JS partysocket, and\n                 what partysocket-leptos adds to a Leptos page (default: both)\n  serve leptos-chat   build the Leptos chat example and serve it on 127.0.0.1\n  serve leptos-chat-ssr\n                 the same page server-rendered (leptos_axum) and hydrated\n  fuzz [--seconds N]\n                 every cargo-fuzz target for N seconds (default 60; nightly)\n  soak [--seconds N] [--sockets N] [--seed N]\n                 the fault soak (default 120 s, 50 sockets)\n\nsuites:\n",
    );
    for suite in SUITES {
        text.push_str(&format!("  {:<9} {}\n", suite.name, suite.about));
    }
    text
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] => run_all(),
        ["test", "quick"] => run_quick(),
        ["test", name] => match SUITES.iter().find(|suite| suite.name == *name) {
            Some(suite) => run_suite(suite),
            None => Err(format!("unknown suite `{name}`\n\n{}", usage())),
        },
        ["lint"] => lint::run(),
        ["markdown"] => markdown::run(),
        ["markdown", files @ ..] => markdown::check_files(files),
        ["bindings"] => bindings::generate(),
        ["bench"] => bench::run(),
        ["size"] => size::run(size::Part::All),
        ["size", "demo"] => size::run(size::Part::Demo),
        ["size", "leptos"] => size::run(size::Part::Leptos),
        ["soak", rest @ ..] => soak::run(rest),
        ["fuzz", rest @ ..] => fuzz::run(rest),
        ["serve", "leptos-chat"] => leptos_chat::serve(),
        ["serve", "leptos-chat-ssr"] => leptos_chat::serve_ssr(),
        // Not for people: how `loopback::run` re-enters this program in its namespace.
        ["loopback-only", step] => loopback::run_step(step),
        ["help" | "--help" | "-h"] => {
            print!("{}", usage());
            Ok(())
        }
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_suite(suite: &Suite) -> Result<(), String> {
    eprintln!("==> suite {}", suite.name);
    (suite.run)().map_err(|err| format!("suite `{}` failed: {err}", suite.name))
}

/// The suites `quick` runs after the lints: they need Rust alone (and the wasm32 target,
/// which rustup adds), no system package and no root.
const QUICK: &[&str] = &["core", "native"];

fn run_quick() -> Result<(), String> {
    lint::run()?;
    for name in QUICK {
        let suite = SUITES
            .iter()
            .find(|suite| suite.name == *name)
            .ok_or_else(|| format!("no suite `{name}`"))?;
        run_suite(suite)?;
    }
    eprintln!("==> quick: lint, {} passed", QUICK.join(", "));
    Ok(())
}

fn run_all() -> Result<(), String> {
    lint::run()?;
    let mut failed = Vec::new();
    for suite in SUITES {
        if let Err(err) = run_suite(suite) {
            eprintln!("xtask: {err}");
            failed.push(suite.name);
        }
    }
    if failed.is_empty() {
        eprintln!("==> all suites passed");
        Ok(())
    } else {
        Err(format!("failed suites: {}", failed.join(", ")))
    }
}
