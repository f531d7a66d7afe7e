//! The README's Rust snippets as doctests: `cargo test --doc` compiles every one of them
//! (and runs those not marked `no_run`), with warnings denied, so a snippet that stops
//! compiling, or ignores a `#[must_use]` result, fails. (Dead code is allowed: a snippet
//! may define a component that the reader's app mounts.) `cargo xtask lint` refuses a
//! README Rust fence marked `ignore`.

#![doc(test(attr(deny(warnings), allow(dead_code))))]

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
