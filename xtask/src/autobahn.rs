//! `cargo xtask test autobahn`: WebSocket conformance with the Autobahn|Testsuite fuzzing
//! server, our native socket against bare tokio-tungstenite in the same run.
//!
//! `wstest` runs on Python 2.7 only, which current Debian lacks: the first run builds a
//! Debian 11 (bullseye) root with `debootstrap` under the target folder and installs the
//! pinned Python packages into it; later runs reuse it. Every command that touches the
//! root runs in its own mount namespace (`unshare --mount`), so `/proc` and `/dev` are
//! mounted there only and vanish with the process, whatever happens to it. The server
//! listens on 127.0.0.1 only. Cases 1.* to 7.* and 10.* run; 9.* (performance) and
//! 12.*/13.* (permessage-deflate, which neither client offers) are excluded.
//!
//! The run fails on any FAILED case of ours, and on any NON-STRICT case of ours that
//! the baseline does not also have.

use std::collections::BTreeMap;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::debian_root::{self, copy, is_root, write};
use crate::mock::{ServerProcess, target_dir};
use crate::process::{cargo, run_bounded};

/// The Debian release that still ships Python 2.7.
const RELEASE: &str = "bullseye";
/// Packages `debootstrap` adds to its minimal base.
const BASE_PACKAGES: &str = "python2.7,python2,ca-certificates";
/// What the Python packages need to build their C extensions, installed in the root.
const BUILD_PACKAGES: &[&str] = &[
    "python-setuptools",
    "python2-dev",
    "gcc",
    "libc6-dev",
    "libffi-dev",
    "libssl-dev",
];
/// The last pip that runs on Python 2.7 (Debian disables `ensurepip`).
const PIP_VERSION: &str = "20.3.4";
/// A resolving set of versions for `autobahntestsuite` on Python 2.7; installed with
/// each line both required and pinned as a constraint.
const CONSTRAINTS: &str = "\
attrs==21.4.0
autobahn==0.10.9
autobahntestsuite==25.10.1
Automat==22.10.0
cffi==1.15.1
constantly==15.1.0
cryptography==3.3.2
enum34==1.1.10
hyperlink==21.0.0
idna==2.10
incremental==16.10.1
ipaddress==1.0.23
Jinja2==2.11.3
klein==17.10.0
linecache2==1.0.0
MarkupSafe==1.1.1
pyasn1==0.5.1
pyasn1-modules==0.3.0
pycparser==2.21
PyHamcrest==1.10.1
pyOpenSSL==19.1.0
service-identity==18.1.0
six==1.16.0
traceback2==1.4.0
Twisted==19.10.0
txaio==2.1.0
typing==3.10.0.0
ujson==2.0.3
unittest2==1.1.0
Werkzeug==1.0.1
wsaccel==0.6.6
zope.interface==4.6.0
";

/// Starts `wstest -m fuzzingserver -s SPEC` with every listening socket it opens (the
/// WebSocket port and the report web server) bound to 127.0.0.1.
const SERVER_SCRIPT: &str = r#"import sys
from twisted.internet import reactor
import autobahn.twisted.websocket as websocket
import autobahntestsuite.fuzzing as fuzzing

listen_tcp = reactor.listenTCP
def listen_tcp_loopback(port, factory, backlog=50, interface=''):
    return listen_tcp(port, factory, backlog=backlog, interface='127.0.0.1')
reactor.listenTCP = listen_tcp_loopback

listen_ws = websocket.listenWS
def listen_ws_loopback(factory, contextFactory=None, backlog=50, interface=''):
    return listen_ws(factory, contextFactory, backlog=backlog, interface='127.0.0.1')
websocket.listenWS = listen_ws_loopback
fuzzing.listenWS = listen_ws_loopback

from autobahntestsuite import wstest
sys.argv = ['wstest', '-m', 'fuzzingserver', '-s', sys.argv[1], '--webport', '0']
wstest.run()
"#;

/// Where the suite's files live inside the root.
const SRV: &str = "srv/autobahn";
/// The agent names the clients report under.
const OURS: &str = "partysocket";
const BASELINE: &str = "tokio-tungstenite";
/// The behaviours the server reports, in the order they are printed.
const BEHAVIOURS: &[&str] = &[
    "OK",
    "NON-STRICT",
    "INFORMATIONAL",
    "UNIMPLEMENTED",
    "FAILED",
];

const APT_TIME: Duration = Duration::from_secs(600);
const PIP_TIME: Duration = Duration::from_secs(900);
const BUILD_TIME: Duration = Duration::from_secs(900);
const SERVER_START: Duration = Duration::from_secs(60);
/// One client's whole run (247 cases take about ten seconds; a case that hangs is
/// given up by the client after five).
const CLIENT_TIME: Duration = Duration::from_secs(1500);
const REPORT_TIME: Duration = Duration::from_secs(180);

/// `cargo xtask test autobahn`.
pub(crate) fn run() -> Result<(), String> {
    let started = Instant::now();
    let home = target_dir()?.join("autobahn");
    let root = home.join(RELEASE);
    prepare(&home, &root)?;
    let prepared = started.elapsed();
    eprintln!("--> the fuzzing server is ready ({prepared:.1?})");

    run_bounded(
        &mut cargo(&[
            "build",
            "-p",
            "partysocket-autobahn",
            "--bin",
            "autobahn-client",
        ]),
        BUILD_TIME,
    )?;
    let client = target_dir()?
        .join("debug")
        .join(format!("autobahn-client{}", std::env::consts::EXE_SUFFIX));

    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let srv = root.join(SRV);
    let reports = srv.join("reports");
    if reports.exists() {
        fs::remove_dir_all(&reports)
            .map_err(|err| format!("cannot remove {}: {err}", reports.display()))?;
    }
    let spec = serde_json::json!({
        "url": format!("ws://127.0.0.1:{port}"),
        "outdir": format!("/{SRV}/reports/clients"),
        "cases": ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"],
        "exclude-cases": ["9.*", "12.*", "13.*"],
        "exclude-agent-cases": {},
    });
    write(&srv.join("fuzzingserver.json"), &spec.to_string())?;
    write(&srv.join("serve.py"), SERVER_SCRIPT)?;

    let log = home.join("fuzzingserver.log");
    let mut server = ServerProcess::spawn(
        "the Autobahn fuzzing server",
        in_root(&root)
            .args(["python2", "-u"])
            .arg(format!("/{SRV}/serve.py"))
            .arg(format!("/{SRV}/fuzzingserver.json")),
        Some(&log),
    )?;
    let outcome = drive(&mut server, addr, &client);
    // Stopped by its PID whatever the clients did.
    server.stop();
    let client_failures = outcome?;

    let index = srv.join("reports").join("clients").join("index.json");
    let text = fs::read_to_string(&index)
        .map_err(|err| format!("cannot read the report {}: {err}", index.display()))?;
    let verdict = judge(&text);
    eprintln!(
        "--> autobahn: {:.1?} in all ({prepared:.1?} preparing the server)",
        started.elapsed()
    );
    match (verdict, client_failures.is_empty()) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err(client_failures.join("\n")),
        (Err(err), true) => Err(err),
        (Err(err), false) => Err(format!("{err}\n{}", client_failures.join("\n"))),
    }
}

/// Waits for the server, runs both clients, and has the server write its reports;
/// returns what went wrong with the clients (the report still judges their cases).
fn drive(
    server: &mut ServerProcess,
    addr: SocketAddr,
    client: &Path,
) -> Result<Vec<String>, String> {
    server.wait_until_serving(addr, SERVER_START)?;
    eprintln!("--> fuzzing server pid {} on {addr}", server.pid());
    let addr = addr.to_string();
    let mut failures = Vec::new();
    for agent in [OURS, BASELINE] {
        let began = Instant::now();
        match run_bounded(Command::new(client).args([&addr, agent]), CLIENT_TIME) {
            Ok(()) => eprintln!("--> {agent}: every case ran ({:.1?})", began.elapsed()),
            Err(err) => failures.push(err),
        }
    }
    run_bounded(
        Command::new(client).args([&addr, "update-reports"]),
        REPORT_TIME,
    )?;
    Ok(failures)
}

/// The behaviour of every case, per agent, from the server's `index.json`.
type Results = BTreeMap<String, BTreeMap<CaseId, (String, String)>>;

/// A case id such as `6.4.3`, ordered by its numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CaseId(Vec<u32>);

impl CaseId {
    fn parse(text: &str) -> Option<CaseId> {
        text.split('.')
            .map(|part| part.parse().ok())
            .collect::<Option<Vec<u32>>>()
            .map(CaseId)
    }
}

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

fn parse_report(text: &str) -> Result<Results, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|err| format!("index.json is not JSON: {err}"))?;
    let agents = json
        .as_object()
        .ok_or("index.json is not an object of agents")?;
    let mut results = Results::new();
    for (agent, cases) in agents {
        let cases = cases
            .as_object()
            .ok_or_else(|| format!("index.json: agent {agent} has no cases"))?;
        let mut parsed = BTreeMap::new();
        for (id, case) in cases {
            let id = CaseId::parse(id)
                .ok_or_else(|| format!("index.json: {agent} has a case id {id:?}"))?;
            let field = |name: &str| {
                case.get(name)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            };
            parsed.insert(id, (field("behavior"), field("behaviorClose")));
        }
        results.insert(agent.clone(), parsed);
    }
    Ok(results)
}

/// Prints the counts for both clients and the cases where ours differs; fails on a
/// FAILED case of ours or a NON-STRICT one the baseline does not share.
fn judge(text: &str) -> Result<(), String> {
    let results = parse_report(text)?;
    let ours = results
        .get(OURS)
        .ok_or_else(|| format!("the report has no results for {OURS}"))?;
    let baseline = results
        .get(BASELINE)
        .ok_or_else(|| format!("the report has no results for {BASELINE}"))?;

    let mut table = format!("{:<18}", "client");
    for behaviour in BEHAVIOURS {
        table.push_str(&format!(" {behaviour:>13}"));
    }
    table.push_str(&format!(" {:>6}\n", "cases"));
    for (agent, cases) in [(BASELINE, baseline), (OURS, ours)] {
        table.push_str(&format!("{agent:<18}"));
        for behaviour in BEHAVIOURS {
            let count = cases.values().filter(|(b, _)| b == behaviour).count();
            table.push_str(&format!(" {count:>13}"));
        }
        table.push_str(&format!(" {:>6}\n", cases.len()));
    }
    eprintln!("--> Autobahn|Testsuite, cases 1.* to 7.* and 10.*:\n{table}");

    let mut differing = Vec::new();
    let mut problems = Vec::new();
    for (id, (behaviour, close)) in ours {
        let theirs = baseline.get(id);
        if theirs != Some(&(behaviour.clone(), close.clone())) {
            let (their_behaviour, their_close) = theirs
                .map(|(b, c)| (b.as_str(), c.as_str()))
                .unwrap_or(("absent", "absent"));
            differing.push(format!(
                "  {id}: {OURS} {behaviour} (close {close}), {BASELINE} {their_behaviour} (close {their_close})"
            ));
        }
        let baseline_non_strict = theirs.is_some_and(|(b, _)| b == "NON-STRICT");
        if behaviour == "FAILED" || (behaviour == "NON-STRICT" && !baseline_non_strict) {
            problems.push(format!("{id} ({behaviour})"));
        }
    }
    for id in baseline.keys().filter(|id| !ours.contains_key(id)) {
        differing.push(format!("  {id}: {OURS} absent"));
        problems.push(format!("{id} (not run by {OURS})"));
    }
    if differing.is_empty() {
        eprintln!("--> {OURS} behaves like {BASELINE} in every case");
    } else {
        eprintln!(
            "--> cases where {OURS} differs from {BASELINE} ({}):\n{}",
            differing.len(),
            differing.join("\n")
        );
    }
    if baseline.is_empty() {
        return Err("the report lists no cases".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{OURS} is less conformant than {BASELINE} in {} case(s): {}",
            problems.len(),
            problems.join(", ")
        ))
    }
}

/// Builds the bullseye root with `wstest` in it, unless a finished one is there.
fn prepare(home: &Path, root: &Path) -> Result<(), String> {
    // The marker records what was installed: other versions mean installing again.
    let wanted = format!(
        "{BASE_PACKAGES}\n{}\npip=={PIP_VERSION}\n{CONSTRAINTS}",
        BUILD_PACKAGES.join(",")
    );
    let ready = home.join(format!("{RELEASE}.ready"));
    let wstest = root.join("usr/local/bin/wstest");
    if fs::read_to_string(&ready).ok().as_deref() == Some(wanted.as_str()) && wstest.is_file() {
        eprintln!("--> the {RELEASE} root with wstest is cached");
        return Ok(());
    }
    if !is_root() {
        return Err(
            "preparing the fuzzing server needs root (debootstrap, chroot, unshare), as on CI"
                .into(),
        );
    }
    debian_root::ensure_base(home, root, RELEASE, BASE_PACKAGES, "usr/bin/python2.7")?;
    // The host's CA bundle, for pip inside the root.
    let bundle = std::env::var_os("PIP_CERT")
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    copy(&bundle, &root.join("etc/ssl/certs/host-ca.crt"))?;

    run_bounded(in_root(root).args(["apt-get", "update"]), APT_TIME)
        .map_err(|err| format!("apt-get update in the {RELEASE} root: {err}"))?;
    run_bounded(
        in_root(root)
            .args(["apt-get", "install", "-y", "--no-install-recommends"])
            .args(BUILD_PACKAGES),
        APT_TIME,
    )
    .map_err(|err| format!("apt-get install in the {RELEASE} root: {err}"))?;

    // pip for Python 2.7, fetched by the host's pip as a wheel and run from itself.
    let wheels = root.join(SRV).join("wheels");
    fs::create_dir_all(&wheels)
        .map_err(|err| format!("cannot create {}: {err}", wheels.display()))?;
    run_bounded(
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--python-version", "27", "--dest"])
            .arg(&wheels)
            .arg(format!("pip=={PIP_VERSION}")),
        PIP_TIME,
    )
    .map_err(|err| format!("downloading the pip {PIP_VERSION} wheel: {err}"))?;
    let wheel = format!("/{SRV}/wheels/pip-{PIP_VERSION}-py2.py3-none-any.whl");
    run_bounded(
        in_root(root)
            .arg("python2")
            .arg(format!("{wheel}/pip"))
            .args(["install", "--no-index"])
            .arg(&wheel),
        PIP_TIME,
    )
    .map_err(|err| format!("installing pip {PIP_VERSION} in the {RELEASE} root: {err}"))?;

    let constraints = format!("/{SRV}/constraints.txt");
    write(&root.join(SRV).join("constraints.txt"), CONSTRAINTS)?;
    run_bounded(
        in_root(root)
            .args(["python2", "-m", "pip", "install", "-c"])
            .arg(&constraints)
            .arg("-r")
            .arg(&constraints),
        PIP_TIME,
    )
    .map_err(|err| format!("pip install autobahntestsuite in the {RELEASE} root: {err}"))?;
    if !wstest.is_file() {
        return Err(format!("pip finished but {} is missing", wstest.display()));
    }
    write(&ready, &wanted)
}

/// A command run inside `root` (see [`debian_root::in_root`]), with pip told to use the
/// host's CA bundle and whatever index or proxy the host's pip is told to use.
fn in_root(root: &Path) -> Command {
    let mut env: Vec<String> = [
        "PIP_CERT=/etc/ssl/certs/host-ca.crt",
        "PIP_DEFAULT_TIMEOUT=60",
        "PIP_DISABLE_PIP_VERSION_CHECK=1",
        "PIP_NO_CACHE_DIR=1",
    ]
    .map(str::to_owned)
    .into();
    for name in ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"] {
        if let Ok(value) = std::env::var(name) {
            env.push(format!("{name}={value}"));
        }
    }
    debian_root::in_root(root, &[], &env)
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|err| format!("cannot find a free port: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_fails_on_a_non_strict_case_the_baseline_lacks() {
        let report = |ours: &str| {
            format!(
                r#"{{"tokio-tungstenite": {{"1.1.1": {{"behavior": "OK", "behaviorClose": "OK"}},
                   "6.4.3": {{"behavior": "NON-STRICT", "behaviorClose": "OK"}}}},
                   "partysocket": {{"1.1.1": {{"behavior": "{ours}", "behaviorClose": "OK"}},
                   "6.4.3": {{"behavior": "NON-STRICT", "behaviorClose": "OK"}}}}}}"#
            )
        };
        assert!(judge(&report("OK")).is_ok());
        assert!(judge(&report("NON-STRICT")).is_err());
        assert!(judge(&report("FAILED")).is_err());
        assert!(judge(r#"{"tokio-tungstenite": {}}"#).is_err());
    }

    #[test]
    fn case_ids_sort_by_number() {
        let mut ids = [
            CaseId::parse("10.1.1").unwrap(),
            CaseId::parse("2.10").unwrap(),
            CaseId::parse("2.9").unwrap(),
        ];
        ids.sort();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["2.9", "2.10", "10.1.1"]);
    }
}
