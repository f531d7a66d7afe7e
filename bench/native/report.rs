//! The figures of one run: a table on stdout and a flat JSON object on disk.

use std::path::Path;
use std::process::ExitCode;

/// What a figure should reach.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// The ratio should be at least this.
    AtLeast(f64),
    /// The ratio should be at most this.
    AtMost(f64),
    /// Informational.
    None,
}

impl Target {
    fn text(self) -> String {
        match self {
            Target::AtLeast(value) => format!(">= {value}"),
            Target::AtMost(value) => format!("<= {value}"),
            Target::None => String::new(),
        }
    }

    fn met(self, ratio: f64) -> Option<bool> {
        match self {
            Target::AtLeast(value) => Some(ratio >= value),
            Target::AtMost(value) => Some(ratio <= value),
            Target::None => None,
        }
    }
}

/// One table row: our figure against its baseline.
#[derive(Debug)]
struct Row {
    figure: String,
    ours: String,
    baseline: String,
    ratio: Option<f64>,
    target: Target,
}

/// The figures, the JSON values and whatever broke.
#[derive(Debug, Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    values: Vec<(String, f64)>,
    notes: Vec<String>,
    broken: Vec<String>,
}

impl Report {
    /// A JSON value (a figure or a raw measurement behind one).
    pub(crate) fn value(&mut self, key: &str, value: f64) {
        self.values.retain(|(existing, _)| existing != key);
        self.values.push((key.to_owned(), value));
    }

    /// A JSON value recorded earlier in this run.
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.values
            .iter()
            .find_map(|(existing, value)| (existing == key).then_some(*value))
    }

    /// A table row; `ratio` is `None` when it could not be computed.
    pub(crate) fn row(
        &mut self,
        figure: &str,
        ours: String,
        baseline: String,
        ratio: Option<f64>,
        target: Target,
    ) {
        self.rows.push(Row {
            figure: figure.to_owned(),
            ours,
            baseline,
            ratio,
            target,
        });
    }

    /// A line printed under the table.
    pub(crate) fn note(&mut self, note: String) {
        println!("  note: {note}");
        self.notes.push(note);
    }

    /// A measurement that could not be made: reported, and the run fails at the end.
    pub(crate) fn broken(&mut self, what: String) {
        eprintln!("  BROKEN: {what}");
        self.broken.push(what);
    }

    /// Appends another report's rows, values, notes and failures.
    pub(crate) fn extend(&mut self, other: Report) {
        self.rows.extend(other.rows);
        for (key, value) in other.values {
            self.value(&key, value);
        }
        self.notes.extend(other.notes);
        self.broken.extend(other.broken);
    }

    /// Prints the table.
    pub(crate) fn print(&self) {
        let headers = ["figure", "ours", "baseline", "ratio", "target", ""];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|row| {
                let ratio = row
                    .ratio
                    .map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.3}"));
                let verdict = match row.ratio.and_then(|ratio| row.target.met(ratio)) {
                    Some(true) => "✓",
                    Some(false) => "✗",
                    None => "",
                };
                [
                    row.figure.clone(),
                    row.ours.clone(),
                    row.baseline.clone(),
                    ratio,
                    row.target.text(),
                    verdict.to_owned(),
                ]
            })
            .collect();
        let mut widths = headers.map(|header| header.chars().count());
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut text = String::new();
            for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let pad = width.saturating_sub(cell.chars().count());
                // The figure name left-aligned, numbers right-aligned.
                if index == 0 {
                    text.push_str(&format!("| {cell}{} ", " ".repeat(pad)));
                } else {
                    text.push_str(&format!("| {}{cell} ", " ".repeat(pad)));
                }
            }
            text.push('|');
            text
        };
        println!();
        println!("{}", line(&headers.map(str::to_owned)));
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        println!("{}", line(&rule).replace(' ', "-"));
        for row in &cells {
            println!("{}", line(row));
        }
        if !self.notes.is_empty() {
            println!();
            for note in &self.notes {
                println!("note: {note}");
            }
        }
    }

    /// Updates the flat JSON object at `path`: this run's keys are replaced or added,
    /// keys written by other tools are kept.
    pub(crate) fn write_json(&self, path: &Path) -> Result<(), String> {
        let mut object = match std::fs::read_to_string(path) {
            Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(object)) => object,
                _ => return Err(format!("{} is not a JSON object", path.display())),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
            Err(err) => return Err(err.to_string()),
        };
        for (key, value) in &self.values {
            let number = serde_json::Number::from_f64(*value)
                .ok_or_else(|| format!("{key} is not a finite number: {value}"))?;
            object.insert(key.clone(), serde_json::Value::Number(number));
        }
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|err| err.to_string())?;
        }
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(object))
            .map_err(|err| err.to_string())?;
        std::fs::write(path, text + "\n").map_err(|err| err.to_string())
    }

    /// Failure when any measurement broke; missed targets never fail the run.
    pub(crate) fn exit_code(&self) -> ExitCode {
        if self.broken.is_empty() {
            return ExitCode::SUCCESS;
        }
        eprintln!("\nbench: {} measurement(s) broke:", self.broken.len());
        for what in &self.broken {
            eprintln!("  - {what}");
        }
        ExitCode::FAILURE
    }
}

/// The median of `values` (the upper one of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `ours / baseline` when both are positive and finite.
pub(crate) fn ratio(ours: f64, baseline: f64) -> Option<f64> {
    let ratio = ours / baseline;
    (ratio.is_finite() && baseline > 0.0).then_some(ratio)
}

/// A count per second, readably: `84.1 k/s`.
/// A CPU cost per message in microseconds, or `?` when it was not measured.
pub(crate) fn micros_per_message(cost: Option<f64>) -> String {
    cost.map_or_else(|| "?".to_owned(), |cost| format!("{cost:.2} µs/msg"))
}

pub(crate) fn per_second(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M/s", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1} k/s", value / 1e3)
    } else {
        format!("{value:.1} /s")
    }
}
