//! The official `partysocket` client in Node (with `ws`), run from the fidelity
//! project's `bench-client.mjs` in its own process.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Setup;
use crate::report::{Report, Target, median, per_second, ratio};
use crate::throughput::{MEASURE, Payload, ROUNDS, STALL, WARMUP, WINDOW};

/// How long one Node run may take.
const NODE_TIME: Duration = Duration::from_secs(240);

/// Runs `node [flags] bench-client.mjs args...` in `project`, bounded in time, and
/// parses the one JSON line it prints.
pub(crate) fn run_script(
    project: &Path,
    node_flags: &[&str],
    args: &[String],
) -> Result<serde_json::Value, String> {
    let mut child = Command::new("node")
        .args(node_flags)
        .arg("bench-client.mjs")
        .args(args)
        .current_dir(project)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start node: {err}"))?;
    let mut stdout = child.stdout.take().ok_or("node: stdout is not piped")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + NODE_TIME;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                // Only this child, by its PID.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("bench-client.mjs ran longer than {NODE_TIME:?}"));
            }
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("bench-client.mjs failed ({status})"));
    }
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|err| format!("bench-client.mjs printed {line:?}: {err}"))
}

/// `throughput_vs_js_64b`: the 64 B echo throughput of the JS client, against ours from
/// the throughput group of the same run.
pub(crate) async fn throughput(setup: &Setup, report: &mut Report) {
    let Some(project) = setup.js_project.clone() else {
        report.note(
            "throughput_vs_js_64b not measured: no --js-project (run `cargo xtask bench`)"
                .to_owned(),
        );
        return;
    };
    let payload = Payload::SMALL;
    println!(
        "throughput 64b, JS client: {WINDOW} in flight, {ROUNDS} rounds of {} ms",
        MEASURE.as_millis()
    );
    let args: Vec<String> = vec![
        "throughput".to_owned(),
        setup.host.clone(),
        payload.size.to_string(),
        WINDOW.to_string(),
        WARMUP.as_millis().to_string(),
        MEASURE.as_millis().to_string(),
        ROUNDS.to_string(),
        STALL.as_millis().to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || run_script(&project, &[], &args))
        .await
        .map_err(|err| err.to_string())
        .and_then(|result| result);
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            report.broken(format!("JS throughput: {err}"));
            return;
        }
    };
    let rounds = output["rounds"].as_array().cloned().unwrap_or_default();
    let mut rates = Vec::new();
    let mut cpu = Vec::new();
    for (index, round) in rounds.iter().enumerate() {
        if let Some(rate) = round["rate"].as_f64() {
            println!(
                "  JS round {index}: {} (cpu: client {:.0}%)",
                per_second(rate),
                round["cpu"].as_f64().unwrap_or(f64::NAN) * 100.0
            );
            rates.push(rate);
            cpu.extend(round["cpu"].as_f64());
        } else {
            report.broken(format!("JS throughput round {index} stalled: {round}"));
            return;
        }
    }
    if rates.is_empty() {
        report.broken("JS throughput: no rounds".to_owned());
        return;
    }
    let js = median(&rates);
    report.value("throughput_64b_js_msgs_per_sec", js);
    if !cpu.is_empty() {
        report.value(
            "throughput_64b_js_client_cpu",
            cpu.iter().sum::<f64>() / cpu.len() as f64,
        );
    }
    let Some(ours) = report.get("throughput_64b_msgs_per_sec") else {
        report.note("throughput_vs_js_64b needs the throughput group in the same run".to_owned());
        return;
    };
    let vs_js = ratio(ours, js);
    if let Some(vs_js) = vs_js {
        report.value("throughput_vs_js_64b", vs_js);
    }
    report.row(
        "throughput_vs_js_64b",
        per_second(ours),
        per_second(js),
        vs_js,
        Target::AtLeast(8.0),
    );
}
