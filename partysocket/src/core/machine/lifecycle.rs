//! The connection lifecycle inside the machine: attempts, backoff, failures, the
//! failure policy's decisions and the events they emit.

/// Why an attempt cannot start when an update removed the room. A plain string: the
/// `Display` of `OptionsError` would pull float formatting into browser builds.
const NO_DESTINATION: &str = "either room or base_path must be set to connect";

use std::time::Duration;
use web_time::Instant;

use super::{
    ConnectRequest, Machine, Output, Phase, PolicyQuestion, Question, TransportId, UserCall, later,
};
use crate::core::error::TransportError;
use crate::core::event::{Event, StopReason};
use crate::core::message::CloseFrame;
use crate::core::policy::Decision;
use crate::core::query::QuerySource;
use crate::core::timers::Timer;
use crate::core::url::redact_url;

impl Machine {
    pub(super) fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    pub(super) fn emit_state(&mut self) {
        let state = self.connection_state();
        self.emit(Event::StateChanged(state));
    }

    pub(super) fn stop(&mut self, reason: StopReason) {
        self.should_reconnect = false;
        self.outbox.unlimit();
        self.phase = Phase::Stopped(reason);
        self.emit_state();
    }

    /// Drops `transport` without waiting and reports it closed with `frame`, uncleanly.
    pub(super) fn abandon(&mut self, transport: TransportId, frame: CloseFrame) {
        self.outputs.push_back(Output::Close {
            transport,
            frame: None,
        });
        self.emit(Event::Close {
            frame,
            was_clean: false,
        });
    }

    pub(super) fn finish_close(&mut self, frame: CloseFrame, was_clean: bool) {
        tracing::info!(
            code = frame.code,
            was_clean,
            unsent = self.outbox.len(),
            "connection closed by the application"
        );
        self.emit(Event::Close { frame, was_clean });
        self.stop(StopReason::ClosedByApp);
    }

    /// Inbound traffic on the open `transport`: proves liveness. False when stale.
    pub(super) fn saw_traffic(&mut self, transport: TransportId, now: Instant) -> bool {
        let interval = self.options.heartbeat.as_ref().map(|h| h.interval);
        let Phase::Open {
            transport: current,
            timers,
            ..
        } = &mut self.phase
        else {
            return false;
        };
        if *current != transport {
            return false;
        }
        if let Some(interval) = interval {
            if timers.is_running(Timer::Ping) || timers.is_running(Timer::Dead) {
                timers.set(Timer::Ping, later(now, interval));
                timers.stop(Timer::Dead);
            }
        }
        true
    }

    /// Upstream's `_connect`: give up when retries are exhausted, else count the attempt
    /// and start it now or after its delay.
    pub(super) fn next_attempt(&mut self, now: Instant, not_before: Option<Duration>) {
        if !self.options.has_destination() {
            // An update removed the room while connected: nothing to connect to.
            let failure = TransportError::InvalidUrl(NO_DESTINATION.into());
            self.emit(Event::Error(failure.clone()));
            self.stop(StopReason::GaveUp {
                close: CloseFrame::abnormal(""),
                failure: Some(failure),
            });
            return;
        }
        if let Some(max) = self.options.max_retries {
            if self.retry >= i64::from(max) {
                let attempts = self.retry_count();
                tracing::warn!(attempts, "retries exhausted: giving up");
                self.emit(Event::RetriesExhausted { attempts });
                self.stop(StopReason::RetriesExhausted { attempts });
                return;
            }
        }
        self.retry += 1;
        let unit = self.rng.next_f64();
        let backoff = self.options.delay_for(self.retry_count(), unit);
        let delay = not_before.map_or(backoff, |floor| floor.max(backoff));
        if delay.is_zero() {
            self.start_attempt(now);
        } else {
            tracing::debug!(
                attempt = self.retry,
                delay_ms = delay.as_millis() as u64,
                "backing off"
            );
            self.phase = Phase::BackingOff {
                retry_at: later(now, delay),
            };
            self.emit_state();
        }
    }

    pub(super) fn start_attempt(&mut self, now: Instant) {
        self.next_transport += 1;
        let transport = TransportId(self.next_transport);
        let deadline = later(now, self.options.connection_timeout);
        match self.options.query.clone() {
            QuerySource::Static(_) => {
                let url = self.options.socket_url(None);
                let headers = self.options.headers.clone();
                self.begin_connect(transport, deadline, url, headers);
            }
            QuerySource::PerAttempt(provider) => {
                self.phase = Phase::Resolving {
                    transport,
                    deadline,
                };
                self.outputs
                    .push_back(Output::UserCall(UserCall::ResolveQuery {
                        transport,
                        provider,
                    }));
            }
        }
        self.emit_state();
    }

    pub(super) fn begin_connect(
        &mut self,
        transport: TransportId,
        deadline: Instant,
        url: String,
        headers: Vec<(String, String)>,
    ) {
        tracing::debug!(attempt = self.retry, url = %redact_url(&url), "connecting");
        self.url = Some(url.clone());
        self.phase = Phase::Connecting {
            transport,
            deadline,
        };
        self.outputs.push_back(Output::Connect {
            transport,
            request: ConnectRequest {
                url,
                protocols: self.options.protocols.clone(),
                headers,
                max_message_size: self.options.max_message_size,
            },
        });
    }

    /// The current transport failed. `abort` asks the driver to drop it (the machine
    /// decided, e.g. on a timeout); otherwise the driver reported the failure itself.
    pub(super) fn fail_current(&mut self, now: Instant, error: TransportError, abort: bool) {
        let (transport, had_handshake) = match self.phase {
            Phase::Resolving { transport, .. } => (transport, false),
            Phase::Connecting { transport, .. } | Phase::Open { transport, .. } => {
                (transport, true)
            }
            _ => return,
        };
        if abort {
            // Also for a query still resolving: the driver drops the provider's future.
            self.outputs.push_back(Output::Close {
                transport,
                frame: None,
            });
        }
        tracing::warn!(%error, "connection failed");
        self.emit(Event::Error(error.clone()));
        self.connection_ended(
            now,
            transport,
            CloseFrame::abnormal(""),
            false,
            Some(error),
            had_handshake,
        );
    }

    /// A connection (or attempt) ended without the application asking: report it, then
    /// reconnect or stop as the failure policy decides. A policy with an application
    /// predicate is asked through [`UserCall::Decide`], so that no application code runs
    /// inside the machine (or under a driver's lock).
    pub(super) fn connection_ended(
        &mut self,
        now: Instant,
        transport: TransportId,
        close: CloseFrame,
        was_clean: bool,
        failure: Option<TransportError>,
        had_handshake: bool,
    ) {
        if had_handshake {
            self.emit(Event::Close {
                frame: close.clone(),
                was_clean,
            });
        }
        if !self.should_reconnect {
            self.stop(StopReason::ClosedByApp);
            return;
        }
        if !had_handshake {
            self.apply_decision(now, Decision::Reconnect, close, failure);
            return;
        }
        let policy = &self.options.failure_policy;
        if policy.has_predicate() {
            self.outputs
                .push_back(Output::UserCall(UserCall::Decide(PolicyQuestion(
                    Box::new(Question {
                        transport,
                        policy: policy.clone(),
                        close: close.clone(),
                        failure: failure.clone(),
                    }),
                ))));
            self.phase = Phase::Deciding {
                transport,
                close,
                failure,
            };
        } else {
            let decision = policy.decide(&close, failure.as_ref());
            self.apply_decision(now, decision, close, failure);
        }
    }

    pub(super) fn apply_decision(
        &mut self,
        now: Instant,
        decision: Decision,
        close: CloseFrame,
        failure: Option<TransportError>,
    ) {
        match decision {
            Decision::Reconnect => self.next_attempt(now, None),
            Decision::ReconnectAfter(wait) => self.next_attempt(now, Some(wait)),
            Decision::Stop => {
                tracing::warn!(code = close.code, failure = ?failure.as_ref().map(ToString::to_string), "failure policy: not reconnecting");
                self.stop(StopReason::GaveUp { close, failure });
            }
        }
    }
}
