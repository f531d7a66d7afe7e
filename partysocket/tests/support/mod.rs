//! A hand-advanced clock and a recording driver for the sans-IO machine.
//!
//! Nothing here sleeps or opens a socket: a test moves time forward and plays the part
//! of the transport, and the harness records every output in order.

#![allow(dead_code, unreachable_pub)]

pub mod model;

use std::time::Duration;

use partysocket::web_time::Instant;
use partysocket::{
    CloseFrame, ConnectRequest, ConnectionState, Credentials, Event, Machine, Message, Output,
    PartySocketOptions, PartySocketOptionsBuilder, Query, QueryProvider, Transmit, TransportError,
    TransportId, UserCall,
};

/// One output, recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Resolve(TransportId),
    Connect(TransportId, ConnectRequest),
    Send(TransportId, Message),
    Ping(TransportId),
    Close(TransportId, Option<CloseFrame>),
    Event(Event),
}

pub struct Harness {
    pub machine: Machine,
    pub start: Instant,
    pub now: Instant,
    pub steps: Vec<Step>,
    pub providers: Vec<(TransportId, QueryProvider)>,
    /// Whether the connection takes every frame at once (pulled on every drain);
    /// a test of a stalled connection turns it off.
    pub writable: bool,
}

pub fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub fn options(host: &str) -> PartySocketOptionsBuilder {
    PartySocketOptions::builder(host)
        .room("my-room")
        .id("test-id")
}

impl Harness {
    pub fn new(builder: PartySocketOptionsBuilder) -> Self {
        Harness::with_options(builder.build().expect("valid options"))
    }

    pub fn with_options(options: PartySocketOptions) -> Self {
        let start = Instant::now();
        let mut harness = Harness {
            machine: Machine::with_seed(options, start, 42),
            start,
            now: start,
            steps: Vec::new(),
            providers: Vec::new(),
            writable: true,
        };
        harness.drain();
        harness
    }

    /// Records every pending output, pulling the open connection's frames first (as a
    /// driver whose connection is always writable), and answers the failure policy.
    pub fn drain(&mut self) {
        loop {
            self.pull();
            let Some(output) = self.machine.poll_output() else {
                break;
            };
            self.steps.push(match output {
                Output::UserCall(UserCall::ResolveQuery {
                    transport,
                    provider,
                }) => {
                    self.providers.push((transport, provider));
                    Step::Resolve(transport)
                }
                Output::Connect { transport, request } => Step::Connect(transport, request),
                Output::Close { transport, frame } => Step::Close(transport, frame),
                Output::Event(event) => Step::Event(event),
                Output::UserCall(UserCall::Decide(question)) => {
                    let answer = question.ask();
                    self.machine.handle_decision(answer, self.now);
                    continue;
                }
                other => panic!("an output the harness does not know: {other:?}"),
            });
        }
    }

    /// Pulls every frame the connection in use has for it, when writable.
    pub fn pull(&mut self) {
        if !self.writable {
            return;
        }
        let Some(transport) = self.machine.transport() else {
            return;
        };
        while let Some(frame) = self.machine.poll_transmit(transport) {
            self.steps.push(match frame {
                Transmit::Message(message) => Step::Send(transport, message),
                Transmit::Ping => Step::Ping(transport),
                Transmit::Close(frame) => Step::Close(transport, Some(frame)),
                other => panic!("a frame the harness does not know: {other:?}"),
            });
        }
    }

    /// Moves the clock forward by `by`, firing every timer due on the way, in order.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        let mut fired = 0;
        while let Some(at) = self.machine.poll_timeout().filter(|at| *at <= target) {
            fired += 1;
            assert!(
                fired <= 100_000,
                "timers did not settle: still due at {:?} after 100 000 firings",
                at.saturating_duration_since(self.start)
            );
            self.now = self.now.max(at);
            self.machine.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// Moves the clock to the next timer and fires it; returns how far it moved.
    pub fn advance_to_next_timer(&mut self) -> Duration {
        let at = self.machine.poll_timeout().expect("a timer is running");
        let moved = at.saturating_duration_since(self.now);
        self.now = self.now.max(at);
        self.machine.handle_timeout(self.now);
        self.drain();
        moved
    }

    /// The transport of the latest attempt.
    pub fn last_transport(&self) -> TransportId {
        self.steps
            .iter()
            .rev()
            .find_map(|step| match step {
                Step::Connect(id, _) | Step::Resolve(id) => Some(*id),
                _ => None,
            })
            .expect("an attempt was made")
    }

    pub fn connects(&self) -> Vec<&ConnectRequest> {
        self.steps
            .iter()
            .filter_map(|step| match step {
                Step::Connect(_, request) => Some(request),
                _ => None,
            })
            .collect()
    }

    pub fn connect_count(&self) -> usize {
        self.connects().len()
    }

    pub fn open(&mut self) {
        let transport = self.last_transport();
        self.machine.handle_open(transport, None, self.now);
        self.drain();
    }

    pub fn receive(&mut self, message: impl Into<Message>) {
        let transport = self.last_transport();
        self.machine
            .handle_message(transport, message.into(), self.now);
        self.drain();
    }

    pub fn server_close(&mut self, frame: Option<CloseFrame>) {
        let transport = self.last_transport();
        self.machine.handle_closed(transport, frame, self.now);
        self.drain();
    }

    pub fn fail(&mut self, error: TransportError) {
        let transport = self.last_transport();
        self.machine.handle_failed(transport, error, self.now);
        self.drain();
    }

    pub fn refuse(&mut self) {
        self.fail(TransportError::Network("connection refused".into()));
    }

    pub fn resolve(&mut self, result: Result<Query, String>) {
        let transport = self.last_transport();
        self.machine
            .handle_query_resolved(transport, result, self.now);
        self.drain();
    }

    pub fn resolve_credentials(&mut self, result: Result<Credentials, String>) {
        let transport = self.last_transport();
        self.machine
            .handle_credentials_resolved(transport, result, self.now);
        self.drain();
    }

    pub fn send(&mut self, message: &str) -> partysocket::SendOutcome {
        let outcome = self.machine.send(Message::from(message));
        self.drain();
        outcome
    }

    pub fn close(&mut self) {
        self.machine
            .close(CloseFrame::normal(), self.now)
            .expect("valid close");
        self.drain();
    }

    pub fn reconnect(&mut self) {
        self.machine.reconnect(self.now).expect("destination set");
        self.drain();
    }

    pub fn events(&self) -> Vec<&Event> {
        self.steps
            .iter()
            .filter_map(|step| match step {
                Step::Event(event) => Some(event),
                _ => None,
            })
            .collect()
    }

    /// Events other than state changes, for ordering assertions.
    pub fn plain_events(&self) -> Vec<&Event> {
        self.events()
            .into_iter()
            .filter(|event| !matches!(event, Event::StateChanged(_)))
            .collect()
    }

    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events()
            .into_iter()
            .filter(|event| pred(event))
            .count()
    }

    pub fn opens(&self) -> usize {
        self.count(|e| matches!(e, Event::Open { .. }))
    }

    pub fn closes(&self) -> usize {
        self.count(|e| matches!(e, Event::Close { .. }))
    }

    pub fn errors(&self) -> usize {
        self.count(|e| matches!(e, Event::Error(_)))
    }

    /// Texts sent on any transport, in order.
    pub fn sent_texts(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|step| match step {
                Step::Send(_, Message::Text(text)) => Some(text.to_string()),
                _ => None,
            })
            .collect()
    }

    pub fn state(&self) -> ConnectionState {
        self.machine.connection_state()
    }

    pub fn clear(&mut self) {
        self.steps.clear();
    }
}
