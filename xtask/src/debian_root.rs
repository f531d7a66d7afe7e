//! Debian roots made with `debootstrap` under the target folder, for suites whose tools
//! this host's Debian lacks (the Autobahn fuzzing server needs Python 2.7, the Swift
//! toolchain a newer glibc). One base system per release, marked when finished and
//! reused; every command inside runs in a mount namespace of its own (`unshare
//! --mount`), so what it mounts vanishes with it, and has a time limit.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{output, run_bounded};

/// How long debootstrap may take.
const DEBOOTSTRAP_TIME: Duration = Duration::from_secs(900);
/// How long installing debootstrap on the host may take.
const APT_TIME: Duration = Duration::from_secs(600);

/// Makes `root` a minimal `release` system with `include` (comma-separated packages),
/// unless a finished one is there: the marker `home/<release>.base` and `sentinel` (a
/// path inside the root) both exist. An unfinished root is removed first (never with
/// anything mounted under it). Copies the host's `resolv.conf` in, for apt.
pub(crate) fn ensure_base(
    home: &Path,
    root: &Path,
    release: &str,
    include: &str,
    sentinel: &str,
) -> Result<(), String> {
    fs::create_dir_all(home).map_err(|err| format!("cannot create {}: {err}", home.display()))?;
    let base = home.join(format!("{release}.base"));
    if !base.is_file() || !root.join(sentinel).exists() {
        if root.exists() {
            // A base system that did not finish: start over.
            refuse_mounted(root)?;
            fs::remove_dir_all(root)
                .map_err(|err| format!("cannot remove {}: {err}", root.display()))?;
        }
        ensure_debootstrap()?;
        let mirror = debian_mirror()?;
        eprintln!("--> debootstrap {release} (about a minute)");
        run_bounded(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--kill-child", "--"])
                .args(["debootstrap", "--variant=minbase"])
                .arg(format!("--include={include}"))
                .arg(release)
                .arg(root)
                .arg(&mirror),
            DEBOOTSTRAP_TIME,
        )
        .map_err(|err| format!("debootstrap {release}: {err}"))?;
        write(&base, "")?;
    }
    copy(Path::new("/etc/resolv.conf"), &root.join("etc/resolv.conf"))
}

/// A command run inside `root` in a mount namespace of its own, with `/proc` and `/dev`
/// mounted there, each of `binds` bind-mounted at its own path, and a clean environment
/// (the host's proxy settings and `env`'s `NAME=value` pairs kept); append more pairs,
/// then the program and its arguments.
pub(crate) fn in_root(root: &Path, binds: &[PathBuf], env: &[String]) -> Command {
    // $0 is the root, $1 the number of folders to bind, then the folders, then the
    // command.
    const SCRIPT: &str = r#"root=$0; n=$1; shift
mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" || exit 1
while [ "$n" -gt 0 ]; do
    mkdir -p "$root$1" && mount --bind "$1" "$root$1" || exit 1
    shift; n=$((n - 1))
done
exec chroot "$root" "$@""#;
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "--kill-child", "--"])
        .args(["sh", "-c", SCRIPT])
        .arg(root)
        .arg(binds.len().to_string())
        .args(binds)
        .args([
            "env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
            "LANG=C.UTF-8",
            "DEBIAN_FRONTEND=noninteractive",
        ])
        .args(env);
    for name in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "no_proxy",
    ] {
        if let Ok(value) = std::env::var(name) {
            command.arg(format!("{name}={value}"));
        }
    }
    command
}

/// Installs `debootstrap` with apt when it is missing.
pub(crate) fn ensure_debootstrap() -> Result<(), String> {
    if output(Command::new("debootstrap").arg("--version")).is_some() {
        return Ok(());
    }
    eprintln!("--> installing debootstrap with apt-get");
    run_bounded(Command::new("apt-get").arg("update"), APT_TIME)
        .map_err(|err| format!("apt-get update: {err}"))?;
    run_bounded(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "debootstrap"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        APT_TIME,
    )
    .map_err(|err| format!("apt-get install debootstrap: {err}"))
}

/// The Debian mirror the host's apt uses (its first non-security source), or
/// `AUTOBAHN_DEBIAN_MIRROR` when set.
pub(crate) fn debian_mirror() -> Result<String, String> {
    if let Ok(mirror) = std::env::var("AUTOBAHN_DEBIAN_MIRROR") {
        return Ok(mirror);
    }
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        if let Some(mirror) = mirror_in(&text) {
            return Ok(mirror);
        }
    }
    Err("no Debian mirror found in apt's sources; set AUTOBAHN_DEBIAN_MIRROR to one".into())
}

/// The first Debian (not security) URI in a one-line or deb822 apt source file.
fn mirror_in(text: &str) -> Option<String> {
    let is_main = |uri: &str| {
        (uri.starts_with("http://") || uri.starts_with("https://"))
            && uri.trim_end_matches('/').ends_with("/debian")
    };
    for line in text.lines().map(str::trim) {
        if let Some(uris) = line.strip_prefix("URIs:") {
            if let Some(uri) = uris.split_whitespace().find(|uri| is_main(uri)) {
                return Some(uri.to_owned());
            }
        } else if line.starts_with("deb ") {
            let uri = line
                .split_whitespace()
                .skip(1)
                .find(|word| !word.starts_with('['))?;
            if is_main(uri) {
                return Some(uri.to_owned());
            }
        }
    }
    None
}

/// Refuses to delete `root` while anything is mounted under it.
pub(crate) fn refuse_mounted(root: &Path) -> Result<(), String> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = root.to_string_lossy();
    if let Some(line) = mounts.lines().find(|line| {
        line.split_whitespace()
            .nth(4)
            .is_some_and(|point| point.starts_with(&*prefix))
    }) {
        return Err(format!(
            "{} has a mount under it ({line}); unmount it before the next run",
            root.display()
        ));
    }
    Ok(())
}

pub(crate) fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    }
    fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display()))
}

pub(crate) fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    }
    // The root's resolv.conf may be a dangling link into the host's runtime folders.
    let _ = fs::remove_file(to);
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|err| format!("cannot copy {} to {}: {err}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822_and_one_line_sources() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n";
        assert_eq!(
            mirror_in(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let security = "Types: deb\nURIs: http://mirror.example/debian-security\n";
        assert_eq!(mirror_in(security), None);
        let line = "deb [arch=amd64] http://mirror.example/debian/ bookworm main\n";
        assert_eq!(
            mirror_in(line).as_deref(),
            Some("http://mirror.example/debian/")
        );
    }
}
