//! `party_mock::MockServer`s on a thread and runtime of their own, for the figure that
//! must control the server (reconnect) and for `cargo bench` without a server process.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

/// What the server thread is asked to do.
enum Control {
    /// Stop (dropping every connection), stay down, listen again; answer with the
    /// moment listening resumed.
    Restart {
        server: usize,
        down: Duration,
        done: oneshot::Sender<Result<Instant, String>>,
    },
}

/// Mock servers on their own thread; shut down on drop.
pub(crate) struct InProcess {
    hosts: Vec<String>,
    control: Option<mpsc::UnboundedSender<Control>>,
    thread: Option<JoinHandle<()>>,
}

/// How long the server may take to shut down on drop.
const SHUTDOWN: Duration = Duration::from_secs(5);

impl InProcess {
    /// Starts `count` servers (each on its own port), their thread pinned to `cpu` when
    /// given.
    pub(crate) fn start(count: usize, cpu: Option<u32>) -> Result<InProcess, String> {
        let (control, mut requests) = mpsc::unbounded_channel::<Control>();
        let (started, host) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("party-mock".to_owned())
            .spawn(move || {
                if let Some(cpu) = cpu {
                    crate::system::pin_current_thread(cpu);
                }
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = started.send(Err(err.to_string()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let config = party_mock::MockConfig {
                        log_messages: false,
                        ..party_mock::MockConfig::default()
                    };
                    let mut servers = Vec::new();
                    for _ in 0..count {
                        match party_mock::MockServer::start(config.clone()).await {
                            Ok(server) => servers.push(server),
                            Err(err) => {
                                let _ = started.send(Err(err.to_string()));
                                return;
                            }
                        }
                    }
                    let _ = started.send(Ok(servers.iter().map(|server| server.host()).collect()));
                    while let Some(request) = requests.recv().await {
                        match request {
                            Control::Restart { server, down, done } => {
                                let Some(server) = servers.get(server) else {
                                    let _ = done.send(Err("no such server".to_owned()));
                                    continue;
                                };
                                server.stop().await;
                                tokio::time::sleep(down).await;
                                let result = server.restart().await.map(|()| Instant::now());
                                let _ = done.send(result.map_err(|err| err.to_string()));
                            }
                        }
                    }
                    for server in servers {
                        let _ = tokio::time::timeout(SHUTDOWN, server.shutdown()).await;
                    }
                });
            })
            .map_err(|err| format!("cannot start the server thread: {err}"))?;
        let hosts = host
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the in-process server did not start".to_owned())??;
        Ok(InProcess {
            hosts,
            control: Some(control),
            thread: Some(thread),
        })
    }

    /// Server `server`'s `127.0.0.1:PORT`.
    pub(crate) fn host(&self, server: usize) -> &str {
        &self.hosts[server]
    }

    /// Stops server `server` (every connection drops), keeps it down for `down`,
    /// listens again on the same port; returns the moment it listens again.
    pub(crate) async fn restart(&self, server: usize, down: Duration) -> Result<Instant, String> {
        let (done, answer) = oneshot::channel();
        self.control
            .as_ref()
            .ok_or("the server is shut down")?
            .send(Control::Restart { server, down, done })
            .map_err(|_| "the server thread ended".to_owned())?;
        tokio::time::timeout(down + Duration::from_secs(10), answer)
            .await
            .map_err(|_| "the server did not restart within 10 s".to_owned())?
            .map_err(|_| "the server thread ended".to_owned())?
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; it shuts the server down (bounded).
        self.control.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
