//! What Linux reports about processes and the machine: resident memory, CPU time, the
//! hypervisor's steal time, descriptor limits; each `None` where `/proc` is unavailable.

use std::process::{Command, Stdio};
use std::time::Instant;

/// This process's resident set (`VmRSS`), in bytes.
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) a process has used, in seconds; `None` for `pid` means
/// this process.
pub(crate) fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports these in USER_HZ, which is 100 on every Linux ABI.
    Some(ticks as f64 / 100.0)
}

/// Time the hypervisor ran something else while this machine's cores wanted to run
/// (the `steal` column of `/proc/stat`, all cores together), in seconds since boot.
pub(crate) fn steal_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    // cpu user nice system idle iowait irq softirq steal ...
    let ticks: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    Some(ticks as f64 / 100.0)
}

/// How busy the client (this process) and the server were over an interval: CPU
/// seconds per wall second (1.0 = one core fully used).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// This process.
    pub(crate) client: Option<f64>,
    /// The server process, when known.
    pub(crate) server: Option<f64>,
    /// Cores' time the hypervisor took for others ([`steal_seconds`]) per wall second:
    /// on a shared host, a round with much of it ran slower than its neighbours.
    pub(crate) steal: Option<f64>,
}

/// The start of an interval over which [`Load`] is measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadMark {
    at: Instant,
    client: Option<f64>,
    server: Option<f64>,
    steal: Option<f64>,
    server_pid: Option<u32>,
}

impl LoadMark {
    /// Marks now.
    pub(crate) fn now(server_pid: Option<u32>) -> LoadMark {
        LoadMark {
            at: Instant::now(),
            client: cpu_seconds(None),
            server: server_pid.and_then(|pid| cpu_seconds(Some(pid))),
            steal: steal_seconds(),
            server_pid,
        }
    }

    /// The load since the mark.
    pub(crate) fn load(&self) -> Load {
        let wall = self.at.elapsed().as_secs_f64();
        let busy = |before: Option<f64>, after: Option<f64>| Some((after? - before?) / wall);
        Load {
            client: busy(self.client, cpu_seconds(None)),
            server: busy(
                self.server,
                self.server_pid.and_then(|pid| cpu_seconds(Some(pid))),
            ),
            steal: busy(self.steal, steal_seconds()),
        }
    }
}

/// The soft limit on open descriptors.
pub(crate) fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Pins the calling thread to `cpu` with `taskset` (best effort: nothing happens when
/// `taskset` or `/proc/thread-self` is unavailable).
pub(crate) fn pin_current_thread(cpu: u32) -> bool {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else {
        return false;
    };
    let Some(tid) = link.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), tid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
