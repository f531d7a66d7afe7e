//! The state a socket's handles, its event stream and its driver task share: the core
//! machine and the undelivered events behind one lock, and the wakers that connect
//! them.
//!
//! Handles call into the machine directly (an uncontended lock costs far less than a
//! round trip to the task) and wake the driver only when it has new work. The driver
//! drains the machine's outputs, performs the I/O without the lock, and reports back.
//! Accessors read the machine itself, so they are never behind an event already
//! delivered.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use tokio::sync::Notify;

use crate::{Event, Machine, Message, SendOutcome};

/// One socket's shared state. `handles` counts live [`PartySocket`](super::PartySocket)
/// clones: when it reaches zero the driver closes the connection and stops.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// What [`State::unsent_for_sink`] was when the lock was last released
    /// ([`STOPPED`] once the driver stopped), so that the `Sink`'s `poll_ready` needs
    /// no lock while the socket is well under [`SINK_HIGH_WATER`].
    sink_unsent: AtomicUsize,
    /// Woken on every change a [`wait_for`](super::PartySocket::wait_for) may care
    /// about: a connection state change, the driver stopping.
    pub(crate) changed: Notify,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) machine: Machine,
    /// Events the driver has taken from the machine and the application has not.
    pub(crate) events: VecDeque<Event>,
    /// Events the [`Events`](super::Events) stream took in its last batch and has not
    /// yet yielded: they count against the capacity too.
    pub(crate) events_in_hand: usize,
    /// Whether the [`Events`](super::Events) stream still exists; without it events
    /// are discarded and reading never pauses.
    pub(crate) events_alive: bool,
    pub(crate) consumer: Option<Waker>,
    /// Whether the driver waits for the application to take its events: it stopped
    /// reading because they are at capacity, or it keeps a faulted connection open until
    /// the application has seen what came before the fault. The event stream wakes it
    /// when it takes events then.
    pub(crate) read_paused: bool,
    driver: Option<Waker>,
    /// Set when the driver has been woken and has not run since: further wakes are
    /// redundant.
    driver_woken: bool,
    pub(crate) handles: usize,
    pub(crate) driver_stopped: bool,
    /// `Sink` users waiting for the machine's unsent bytes to drain.
    pub(crate) writers: Vec<Waker>,
    /// How many times the driver gave back the capacity of a burst: the event stream
    /// then trims the batch it holds.
    pub(crate) trims: u64,
}

/// [`Shared::sink_unsent`] once the driver has stopped.
pub(crate) const STOPPED: usize = usize::MAX;

/// The locked state. Releasing it records what the `Sink` waits for, while the lock is
/// still held, so the record follows the order of the updates.
pub(crate) struct StateGuard<'a> {
    state: MutexGuard<'a, State>,
    sink_unsent: &'a AtomicUsize,
}

impl Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let unsent = if self.state.driver_stopped {
            STOPPED
        } else {
            self.state.unsent_for_sink()
        };
        self.sink_unsent.store(unsent, Ordering::Relaxed);
    }
}

/// Above this many unsent bytes the `Sink` implementation reports "not ready".
pub(crate) const SINK_HIGH_WATER: usize = 1 << 20;
/// Unsent bytes from which `start_send` wakes the driver without waiting for a flush
/// (tokio-tungstenite writes out at its 128 KiB write buffer the same way).
pub(crate) const SINK_BATCH: usize = 128 * 1024;

impl Shared {
    pub(crate) fn new(machine: Machine) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                machine,
                events: VecDeque::new(),
                events_in_hand: 0,
                events_alive: true,
                consumer: None,
                read_paused: false,
                driver: None,
                driver_woken: false,
                trims: 0,
                handles: 1,
                driver_stopped: false,
                writers: Vec::new(),
            }),
            sink_unsent: AtomicUsize::new(0),
            changed: Notify::new(),
        })
    }

    /// The state, even if a thread panicked while holding it: every update below
    /// leaves it consistent between statements that could panic.
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        StateGuard {
            state: self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            sink_unsent: &self.sink_unsent,
        }
    }

    /// [`State::unsent_for_sink`] as of the last release of the lock, read without it;
    /// [`STOPPED`] once the driver has stopped.
    pub(crate) fn sink_unsent(&self) -> usize {
        self.sink_unsent.load(Ordering::Relaxed)
    }

    /// The send path: one lock checks that the driver still runs and queues the message
    /// with `send`, then the driver is woken if it is not already. A send never changes
    /// the connection state, so the state watchers are left alone. `None` when the
    /// driver has stopped (nothing was queued).
    pub(crate) fn send<T>(&self, send: impl FnOnce(&mut Machine) -> T) -> Option<T> {
        self.send_then(send, |_, _| true)
    }

    /// The `Sink`'s send path (`start_send`): like [`send`](Self::send), but a message
    /// the open connection takes (sent or coalesced) does not wake the driver while
    /// fewer than [`SINK_BATCH`] bytes wait, as tokio-tungstenite's `Sink` buffers
    /// until it is flushed. `poll_ready` and `poll_flush` wake it when they wait, so
    /// what was fed goes out on the next flush (or sooner, with any other wake).
    pub(crate) fn feed(&self, message: Message) -> Option<SendOutcome> {
        self.send_then(
            |machine| machine.send(message),
            |outcome, state| {
                !matches!(outcome, SendOutcome::Sent | SendOutcome::Coalesced)
                    || state.unsent_for_sink() >= SINK_BATCH
            },
        )
    }

    /// Runs `send` under the lock; wakes the driver (if not already woken) when `wake`
    /// says so.
    fn send_then<T>(
        &self,
        send: impl FnOnce(&mut Machine) -> T,
        wake: impl FnOnce(&T, &State) -> bool,
    ) -> Option<T> {
        let (result, waker) = {
            let mut state = self.lock();
            if state.driver_stopped {
                return None;
            }
            let result = send(&mut state.machine);
            let waker = if wake(&result, &state) {
                state.wake_driver()
            } else {
                None
            };
            (result, waker)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Some(result)
    }

    /// Runs `command` on the machine, then wakes the driver (it may have new outputs)
    /// and the state watchers.
    pub(crate) fn command<T>(&self, command: impl FnOnce(&mut Machine) -> T) -> T {
        let (result, waker, state_changed) = {
            let mut state = self.lock();
            let before = state.machine.connection_state();
            let result = command(&mut state.machine);
            let state_changed = state.machine.connection_state() != before;
            (result, state.wake_driver(), state_changed)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        if state_changed {
            self.changed.notify_waiters();
        }
        result
    }
}

impl State {
    /// The driver's waker, when it must be woken: at most once until it runs again.
    pub(crate) fn wake_driver(&mut self) -> Option<Waker> {
        if self.driver_woken || self.driver_stopped {
            return None;
        }
        self.driver_woken = true;
        self.driver.clone()
    }

    /// Called by the driver at the start of every poll.
    pub(crate) fn driver_running(&mut self, waker: &Waker) {
        self.driver_woken = false;
        match &self.driver {
            Some(current) if current.will_wake(waker) => {}
            _ => self.driver = Some(waker.clone()),
        }
    }

    /// How many more events the application's queue takes before reading must pause
    /// (`usize::MAX` when nobody listens).
    pub(crate) fn events_room(&self) -> usize {
        if !self.events_alive {
            return usize::MAX;
        }
        self.machine
            .options()
            .event_capacity()
            .saturating_sub(self.events.len() + self.events_in_hand)
    }

    /// Payload bytes the `Sink` waits for: what the open connection has not taken yet
    /// (nothing while disconnected: then a send is queued at once).
    pub(crate) fn unsent_for_sink(&self) -> usize {
        if self.machine.is_open() {
            self.machine.buffered_amount()
        } else {
            0
        }
    }

    /// Takes the wakers of `Sink` users when the unsent bytes fell below the mark.
    pub(crate) fn writers_to_wake(&mut self) -> Vec<Waker> {
        if self.writers.is_empty() {
            return Vec::new();
        }
        if self.unsent_for_sink() < SINK_HIGH_WATER || self.driver_stopped {
            std::mem::take(&mut self.writers)
        } else {
            Vec::new()
        }
    }
}
