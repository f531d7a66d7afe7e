//! The bench lives in `native/` (`cargo bench -p partysocket-bench --bench native`); see `BENCHMARKS.md`.
