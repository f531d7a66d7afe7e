//! The `party-mock` process: started, controlled over its `/_mock/*` HTTP surface, and
//! stopped by its PID.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `party-mock` this program started.
pub(crate) struct Mock {
    child: Child,
    pub(crate) host: String,
}

impl Mock {
    /// Starts `binary --port 0` and reads the address it prints first.
    pub(crate) fn start(binary: &str) -> Result<Mock, String> {
        let mut child = Command::new(binary)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot start {binary}: {err}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("party-mock's stdout is not piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next()
            .ok_or("party-mock exited before printing its address")?
            .map_err(|err| format!("cannot read party-mock's address: {err}"))?;
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let host = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .ok_or_else(|| format!("party-mock printed {line:?}"))?
            .to_owned();
        Ok(Mock { child, host })
    }

    /// `POST /_mock/{path}`; the JSON answer.
    pub(crate) fn post(&self, path: &str) -> Result<serde_json::Value, String> {
        self.request("POST", path)
    }

    /// `GET /_mock/{path}`; the JSON answer.
    pub(crate) fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        self.request("GET", path)
    }

    /// One control request. A restart fault takes the server down for a moment, and
    /// a request can meet it while it stops (refused, reset, or cut short): such a
    /// request is tried again, for at most 10 seconds.
    fn request(&self, method: &str, path: &str) -> Result<serde_json::Value, String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.exchange(method, path) {
                Ok(answer) => return parse(method, path, &answer),
                Err(err) if std::time::Instant::now() >= deadline => {
                    return Err(format!("{method} {path}: {err}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends the request and reads the whole answer.
    fn exchange(&self, method: &str, path: &str) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(&self.host)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let request = format!(
            "{method} /_mock/{path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.host
        );
        stream.write_all(request.as_bytes())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        if answer.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(answer)
    }
}

/// The JSON body of a 200 answer.
fn parse(method: &str, path: &str, answer: &[u8]) -> Result<serde_json::Value, String> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "{method} {path}: {}",
            head.lines().next().unwrap_or(head)
        ));
    }
    serde_json::from_str(body).map_err(|err| format!("{method} {path}: JSON: {err}"))
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
