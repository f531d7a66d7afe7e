//! Structure checks for the repository's Markdown: what a code host renders differently
//! from what the author meant.
//!
//! - Code fences are balanced: every fence that opens is closed, and no line inside a
//!   block looks like the opening of another one (` ```rust ` inside a block means the
//!   block before it was never closed; everything after it renders as code).
//! - Tables are unbroken: every row starts and ends with `|` and has as many cells as
//!   the header, the header is followed by its delimiter row, and no row follows a
//!   blank line (a blank line ends a table; the rows after it render as text).
//! - In the README, no Rust fence is `ignore`d: `readme-doctests` compiles them all.

use std::path::Path;

use crate::process::workspace_root;

/// The Markdown files whose structure `cargo xtask lint` checks.
const FILES: &[&str] = &[
    "README.md",
    "BENCHMARKS.md",
    "bindings/README.md",
    "tests/README.md",
    "partysocket/CHANGELOG.md",
    "partysocket-wasm/CHANGELOG.md",
    "partysocket-leptos/CHANGELOG.md",
];

/// Checks every file in [`FILES`]; the error lists each problem with its file and line.
pub(crate) fn run() -> Result<(), String> {
    check_files(FILES)
}

/// Checks `files` (relative to the workspace root, or absolute): `cargo xtask markdown
/// FILE...`. A file named `README.md` also has its Rust fences checked.
pub(crate) fn check_files(files: &[&str]) -> Result<(), String> {
    eprintln!("==> markdown structure");
    let root = workspace_root();
    let mut problems = Vec::new();
    for file in files {
        let path = root.join(file);
        let readme = path.file_name().is_some_and(|name| name == "README.md")
            && path.parent() == Some(root.as_path());
        problems.extend(
            check_file(&path, readme)
                .into_iter()
                .map(|problem| format!("{file}:{problem}")),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("broken Markdown:\n  {}", problems.join("\n  ")))
    }
}

fn check_file(path: &Path, every_rust_fence_compiled: bool) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => check(&text, every_rust_fence_compiled),
        Err(err) => vec![format!("0: cannot read {}: {err}", path.display())],
    }
}

/// An open code block: its fence and where it started.
struct Fence {
    marker: char,
    len: usize,
    line: usize,
}

/// A fence line: its marker (`` ` `` or `~`), how many, and the info string after it.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    let marker = trimmed.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let len = trimmed.chars().take_while(|c| *c == marker).count();
    (len >= 3).then(|| (marker, len, trimmed[len..].trim()))
}

/// The problems in one Markdown text, each as `line: what is wrong`.
pub(crate) fn check(text: &str, every_rust_fence_compiled: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut open: Option<Fence> = None;
    // The header's cell count and whether the delimiter row was seen, while in a table.
    let mut table: Option<(usize, bool)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(block) = &open {
            match fence(line) {
                Some((marker, len, info))
                    if marker == block.marker && len >= block.len && info.is_empty() =>
                {
                    open = None;
                }
                // A longer fence may show a shorter one as content (a fence in a fence).
                Some((marker, len, info))
                    if marker == block.marker && len >= block.len && !info.is_empty() =>
                {
                    problems.push(format!(
                        "{number}: a fence opening `{info}` inside the code block opened at \
                         line {}: close that block first",
                        block.line
                    ));
                }
                _ => {}
            }
            continue;
        }
        if let Some((marker, len, info)) = fence(line) {
            if every_rust_fence_compiled
                && info.split(',').next() == Some("rust")
                && info.split(',').any(|word| word.trim() == "ignore")
            {
                problems.push(format!(
                    "{number}: `{info}`: README snippets are compiled by readme-doctests; \
                     use `no_run` instead of `ignore`"
                ));
            }
            open = Some(Fence {
                marker,
                len,
                line: number,
            });
            table = None;
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('|') {
            let cells = cell_count(trimmed);
            if !trimmed.ends_with('|') || trimmed.len() == 1 {
                problems.push(format!("{number}: a table row must end with `|`"));
            }
            match &mut table {
                None if is_delimiter(trimmed) => {
                    problems.push(format!(
                        "{number}: a delimiter row without a header row above it"
                    ));
                    table = Some((cells, true));
                }
                // A header; the next row must be its delimiter.
                None => table = Some((cells, false)),
                Some((header, delimited)) => {
                    if !*delimited && !is_delimiter(trimmed) {
                        problems.push(format!(
                            "{number}: the table's second row must be its delimiter \
                             (`| --- |`); a blank line may have cut the table above"
                        ));
                    }
                    *delimited = true;
                    if cells != *header {
                        problems.push(format!(
                            "{number}: {cells} cells in a table whose header has {header} \
                             (an unescaped `|` in a cell?)"
                        ));
                    }
                }
            }
        } else {
            if let Some((_, false)) = table {
                problems.push(format!(
                    "{}: a table header without a delimiter row",
                    number - 1
                ));
            }
            table = None;
        }
    }
    if let Some((_, false)) = table {
        problems.push(format!(
            "{}: a table header without a delimiter row",
            text.lines().count()
        ));
    }
    if let Some(block) = open {
        problems.push(format!(
            "{}: the code block opened here is never closed",
            block.line
        ));
    }
    problems
}

/// Cells in a row: the unescaped `|` between its outer pipes (a missing closing pipe,
/// reported on its own, does not also count as a missing cell).
fn cell_count(row: &str) -> usize {
    let mut pipes = 0usize;
    let mut escaped = false;
    for c in row.chars() {
        if c == '|' && !escaped {
            pipes += 1;
        }
        escaped = c == '\\' && !escaped;
    }
    let outer = if row.len() > 1 && row.ends_with('|') {
        2
    } else {
        1
    };
    (pipes + 1).saturating_sub(outer).max(1)
}

fn is_delimiter(row: &str) -> bool {
    row.trim_matches('|').split('|').all(|cell| {
        let cell = cell.trim();
        !cell.is_empty() && cell.trim_matches(':').chars().all(|c| c == '-') && cell.contains('-')
    })
}

#[cfg(test)]
mod tests {
    use super::check;

    const TABLE: &str = "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |\n";

    #[test]
    fn a_well_formed_text_passes() {
        let text = format!(
            "# Title\n\n```rust,no_run\nfn main() {{}}\n```\n\n{TABLE}\nText.\n\n````md\n```sh\nls\n```\n````\n"
        );
        assert_eq!(check(&text, true), Vec::<String>::new());
    }

    #[test]
    fn an_unclosed_fence_is_found() {
        // The old README: the Swift block stops inside a `switch` and swallows the rest.
        let text = "```swift\nswitch event {\n\n## Leptos\n\n```tsx\nconst a = 1;\n```\n\n```rust,no_run\nfn main() {}\n```\n";
        let problems = check(text, true);
        assert!(
            problems.iter().any(|p| p
                .starts_with("6: a fence opening `tsx` inside the code block opened at line 1")),
            "{problems:?}"
        );
        let problems = check("text\n```sh\nls\n", false);
        assert_eq!(problems, ["2: the code block opened here is never closed"]);
    }

    #[test]
    fn a_blank_line_inside_a_table_is_found() {
        // The old README's test-suite table: a blank line before its last rows.
        let text =
            "| suite | what |\n| --- | --- |\n| core | x |\n\n| leptos | y |\n| wasm | z |\n";
        let problems = check(text, false);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("6: the table's second row must be its delimiter")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_row_with_a_wrong_cell_count_is_found() {
        let text = "| a | b |\n| --- | --- |\n| `x | y` | z |\n| 1 |\n| 2 | 3\n";
        let problems = check(text, false);
        assert_eq!(
            problems,
            [
                "3: 3 cells in a table whose header has 2 (an unescaped `|` in a cell?)",
                "4: 1 cells in a table whose header has 2 (an unescaped `|` in a cell?)",
                "5: a table row must end with `|`",
            ]
        );
        assert_eq!(
            check("| a \\| b | c |\n| --- | --- |\n", false),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_header_without_a_delimiter_is_found() {
        assert_eq!(
            check("| a | b |\ntext\n", false),
            ["1: a table header without a delimiter row"]
        );
        assert_eq!(
            check("| a | b |\n", false),
            ["1: a table header without a delimiter row"]
        );
    }

    #[test]
    fn an_ignored_rust_fence_in_the_readme_is_found() {
        let text = "```rust,ignore\nfn main() {}\n```\n";
        assert_eq!(check(text, false), Vec::<String>::new());
        assert_eq!(
            check(text, true),
            [
                "1: `rust,ignore`: README snippets are compiled by readme-doctests; use `no_run` instead of `ignore`"
            ]
        );
    }
}
