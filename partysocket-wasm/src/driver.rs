//! The driver: feeds browser facts and the time to the core [`Machine`], carries out its
//! outputs, and delivers its events to the [`Events`](crate::Events) stream and the
//! callbacks. Every decision is the machine's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use partysocket::web_time::Instant;
use partysocket::{
    CloseFrame, ConnectionState, Event, Machine, Message, Output, PartySocketOptions, Transmit,
    TransportError, TransportId, UserCall, Violation,
};

use crate::diagnostics::{change, step};
use crate::listener::Listener;
use crate::timer::Timer;
use crate::transport::{Fact, Transport, close_frame};

/// Spare queue slots the machine keeps before the driver trims them.
const SPARE_KEPT: usize = 64;

pub(crate) type SharedDriver = Rc<RefCell<Driver>>;

pub(crate) type OnOpen = Rc<RefCell<dyn FnMut()>>;
pub(crate) type OnMessage = Rc<RefCell<dyn FnMut(&Message)>>;
pub(crate) type OnClose = Rc<RefCell<dyn FnMut(&CloseFrame, bool)>>;
pub(crate) type OnError = Rc<RefCell<dyn FnMut(&TransportError)>>;
pub(crate) type OnState = Rc<RefCell<dyn FnMut(&ConnectionState)>>;

/// The application's callbacks; each is replaced by the next one set.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub(crate) open: Option<OnOpen>,
    pub(crate) message: Option<OnMessage>,
    pub(crate) close: Option<OnClose>,
    pub(crate) error: Option<OnError>,
    pub(crate) state: Option<OnState>,
}

/// Events waiting for the [`Events`](crate::Events) stream.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    pub(crate) events: VecDeque<Event>,
    pub(crate) waker: Option<Waker>,
    /// The driver is gone: no more events will come.
    pub(crate) ended: bool,
}

/// Stops the task that awaits a query provider's future: the future is dropped at the
/// task's next turn (outside any borrow of the driver), and its answer never reported.
#[derive(Debug, Default)]
struct QueryCancel {
    cancelled: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl QueryCancel {
    fn cancel(&self) {
        self.cancelled.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }
}

pub(crate) struct Driver {
    pub(crate) machine: Machine,
    transport: Option<Transport>,
    /// The attempt whose query provider is running, and how to stop it.
    resolving: Option<(TransportId, Rc<QueryCancel>)>,
    timer: Timer,
    /// Events the machine emitted, not yet delivered.
    pending: VecDeque<Event>,
    /// Providers and predicates to call once the borrow is released.
    calls: Vec<UserCall>,
    dispatching: bool,
    pub(crate) callbacks: Callbacks,
    /// Dropped with the `Events` stream: then nothing is queued.
    queue: Weak<RefCell<EventQueue>>,
    /// Tasks waiting for a state change (`opened`, `wait_for`).
    waiters: Vec<Waker>,
    this: Weak<RefCell<Driver>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("machine", &self.machine)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver for `options` that queues its events in `queue`; the first attempt
    /// starts at once unless the options start closed.
    pub(crate) fn start(
        options: PartySocketOptions,
        queue: &Rc<RefCell<EventQueue>>,
    ) -> SharedDriver {
        let now = Instant::now();
        let shared = Rc::new_cyclic(|this: &Weak<RefCell<Driver>>| {
            let weak = this.clone();
            let timer = Timer::new(Listener::new(move |_| {
                if let Some(shared) = weak.upgrade() {
                    act(&shared, |driver, now| {
                        driver.timer.fired();
                        driver.machine.handle_timeout(now);
                    });
                }
            }));
            change(|counts| step(&mut counts.live_drivers, true));
            let mut machine = Machine::new(options, now);
            // The browser sends no handshake headers: a provider's are refused.
            machine.refuse_headers();
            RefCell::new(Driver {
                machine,
                transport: None,
                resolving: None,
                timer,
                pending: VecDeque::new(),
                calls: Vec::new(),
                dispatching: false,
                callbacks: Callbacks::default(),
                queue: Rc::downgrade(queue),
                waiters: Vec::new(),
                this: this.clone(),
            })
        });
        act(&shared, |_, _| {});
        shared
    }

    /// Carries out every output of the machine and hands the open socket its frames
    /// (a browser socket buffers whatever it is given), then re-arms the timer.
    /// Application code the machine asks for is set aside for [`act`] to run.
    fn carry_out(&mut self, now: Instant) {
        loop {
            while let Some(output) = self.machine.poll_output() {
                self.perform(output);
            }
            if !self.transmit(now) {
                break;
            }
        }
        // The browser socket buffers what it is handed: once nothing waits here, a
        // burst or an outage must not pin its peak (a few slots stay, so that steady
        // traffic does not allocate anew for every message).
        if self.machine.queued_messages() == 0 && self.machine.spare_capacity() > SPARE_KEPT {
            self.machine.trim();
        }
        self.timer.arm(self.machine.poll_timeout(), now);
    }

    fn perform(&mut self, output: Output) {
        match output {
            Output::Event(event) => self.pending.push_back(event),
            Output::Connect { transport, request } => {
                // Dropping the previous socket detaches it: its late events never
                // reach the machine.
                self.transport = None;
                self.cancel_query(None);
                let listener = self.listener(transport);
                self.transport = Some(Transport::open(transport, &request, listener));
            }
            Output::UserCall(call) => self.calls.push(call),
            Output::Close { transport, frame } => match frame {
                // A query still resolving: the close, timeout or replacement of its
                // attempt drops the provider's future.
                None if self
                    .resolving
                    .as_ref()
                    .is_some_and(|(t, _)| *t == transport) =>
                {
                    self.cancel_query(Some(transport));
                }
                Some(frame) => {
                    if let Some(socket) = self.current(transport) {
                        socket.close(&frame);
                    }
                }
                None => {
                    if self.current(transport).is_some() {
                        self.transport = None;
                    }
                }
            },
            _ => {}
        }
    }

    /// Stops the running query provider (of `transport`, or whichever runs).
    fn cancel_query(&mut self, transport: Option<TransportId>) {
        if let Some((running, cancel)) = self.resolving.take() {
            if transport.is_none_or(|transport| transport == running) {
                cancel.cancel();
            } else {
                self.resolving = Some((running, cancel));
            }
        }
    }

    /// Pulls every frame for the open socket; true when a failure gave the machine new
    /// outputs.
    ///
    /// Frames are pulled only while the browser socket is `OPEN`: once the server's
    /// close frame has arrived (`CLOSING`, before the `close` event), a browser drops
    /// whatever it is given without an error, so the messages stay in the machine's
    /// queue for the next connection, as natively.
    fn transmit(&mut self, now: Instant) -> bool {
        let Some(id) = self
            .transport
            .as_ref()
            .filter(|transport| transport.opened)
            .map(|transport| transport.id)
        else {
            return false;
        };
        loop {
            if !self.current(id).is_some_and(Transport::is_open) {
                return false;
            }
            let Some(frame) = self.machine.poll_transmit(id) else {
                return false;
            };
            let Some(socket) = self.current(id) else {
                return false;
            };
            let sent = match frame {
                Transmit::Message(message) => socket.send(&message),
                // Keep listening: the `close` event brings the answer.
                Transmit::Close(frame) => {
                    socket.close(&frame);
                    Ok(())
                }
                // Browsers cannot send ping frames; heartbeats are messages here.
                _ => Ok(()),
            };
            if let Err(error) = sent {
                self.transport = None;
                self.machine.handle_failed(id, error, now);
                return true;
            }
        }
    }

    /// Payload bytes not yet on the network: the machine's queue plus what the open
    /// browser socket buffers (its `bufferedAmount`).
    pub(crate) fn buffered_amount(&self) -> usize {
        let socket = self
            .machine
            .transport()
            .and_then(|id| self.current(id))
            .map_or(0, Transport::buffered_amount);
        self.machine.buffered_amount().saturating_add(socket)
    }

    /// The faulted connection whose events were all delivered and whose answers were
    /// all handed to the browser: the machine may fail it now.
    fn caught_up_fault(&self) -> Option<TransportId> {
        let transport = self.transport.as_ref().filter(|t| t.faulted)?;
        let id = transport.id;
        (self.pending.is_empty()
            && !self.machine.has_output()
            && self.machine.is_faulted(id)
            && !(transport.is_open() && self.machine.wants_transmit(id)))
        .then_some(id)
    }

    fn current(&self, id: TransportId) -> Option<&Transport> {
        self.transport
            .as_ref()
            .filter(|transport| transport.id == id)
    }

    /// The one closure a socket's four handlers share.
    fn listener(&self, id: TransportId) -> Listener {
        let this = self.this.clone();
        Listener::new(move |value| {
            let Some(shared) = this.upgrade() else {
                return;
            };
            let Some(fact) = Fact::read(value) else {
                return;
            };
            act(&shared, |driver, now| driver.on_fact(id, fact, now));
        })
    }

    /// A socket reported `fact`.
    fn on_fact(&mut self, id: TransportId, fact: Fact, now: Instant) {
        let Some(transport) = self.transport.as_mut().filter(|t| t.id == id) else {
            change(|counts| counts.stale_events = counts.stale_events.saturating_add(1));
            return;
        };
        match fact {
            Fact::Open { protocol } => {
                transport.opened = true;
                self.machine.handle_open(id, protocol, now);
            }
            // Nothing more is read from a connection whose peer broke the rules.
            Fact::Message(_) if transport.faulted => {}
            Fact::Message(message) => {
                if transport
                    .max_message_size
                    .is_some_and(|limit| message.len() > limit)
                {
                    // The native rule: answers to what came before still go out, then
                    // the machine fails the connection (see `caught_up_fault`).
                    transport.faulted = true;
                    let error = TransportError::Protocol(
                        format!(
                            "a message of {} bytes is over max_message_size",
                            message.len()
                        )
                        .into(),
                    );
                    self.machine
                        .handle_peer_fault(id, Violation::TooBig, error, now);
                } else {
                    self.machine.handle_message(id, message, now);
                }
            }
            Fact::Error => transport.errored = true,
            Fact::Close { code, reason } => {
                let (opened, errored) = (transport.opened, transport.errored);
                self.transport = None;
                // Browsers fire `error` before `close` on failures: the `close` alone is
                // reported, so each failure takes one path through the machine.
                if !opened {
                    let error = TransportError::Network(
                        "the WebSocket handshake failed (the browser does not say why: refused, unreachable or rejected)"
                            .into(),
                    );
                    self.machine.handle_failed(id, error, now);
                } else if errored && code == CloseFrame::ABNORMAL {
                    let error = TransportError::Network("the connection failed".into());
                    self.machine.handle_failed(id, error, now);
                } else {
                    self.machine
                        .handle_closed(id, close_frame(code, reason), now);
                }
            }
            Fact::Unopenable => {
                let error = transport.take_failure();
                self.transport = None;
                self.machine.handle_failed(id, error, now);
            }
        }
    }

    /// Adds a task to wake on the next state change.
    pub(crate) fn wait(&mut self, waker: &Waker) {
        if !self.waiters.iter().any(|w| w.will_wake(waker)) {
            self.waiters.push(waker.clone());
        }
    }

    /// The last handle is gone: close gracefully and let go of the socket and timer.
    /// The close is reported at once (`was_clean: false`), since nothing will listen for
    /// the server's answer.
    pub(crate) fn shut_down(&mut self, now: Instant) {
        // The normal close frame is always valid.
        let _ = self.machine.close(CloseFrame::normal(), now);
        self.carry_out(now);
        if let Some(transport) = self.machine.transport() {
            self.machine.handle_closed(transport, None, now);
        }
        while let Some(output) = self.machine.poll_output() {
            if let Output::Event(event) = output {
                self.pending.push_back(event);
            }
        }
        self.transport = None;
        self.cancel_query(None);
        self.timer.clear();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        change(|counts| step(&mut counts.live_drivers, false));
        if let Some(queue) = self.queue.upgrade() {
            let mut queue = queue.borrow_mut();
            queue.ended = true;
            if let Some(waker) = queue.waker.take() {
                waker.wake();
            }
        }
        for waker in self.waiters.drain(..) {
            waker.wake();
        }
    }
}

/// Runs `f` on the driver with the time, carries out what the machine asks, then
/// delivers the events.
pub(crate) fn act<R>(shared: &SharedDriver, f: impl FnOnce(&mut Driver, Instant) -> R) -> R {
    let (result, calls) = {
        let mut driver = shared.borrow_mut();
        let now = Instant::now();
        let result = f(&mut driver, now);
        driver.carry_out(now);
        (result, std::mem::take(&mut driver.calls))
    };
    for call in calls {
        run_user_call(shared, call);
    }
    dispatch(shared);
    result
}

/// Calls a query provider or a failure policy with no borrow of the driver held, then
/// reports the answer.
fn run_user_call(shared: &SharedDriver, call: UserCall) {
    match call {
        UserCall::ResolveQuery {
            transport,
            provider,
        } => {
            let mut query = provider.resolve_credentials();
            let cancel = Rc::new(QueryCancel::default());
            let wanted = {
                let mut driver = shared.borrow_mut();
                // The provider itself may have closed or replaced the attempt.
                let wanted = driver.machine.transport() == Some(transport);
                if wanted {
                    driver.resolving = Some((transport, Rc::clone(&cancel)));
                }
                wanted
            };
            if !wanted {
                return;
            }
            let this = Rc::downgrade(shared);
            change(|counts| step(&mut counts.live_queries, true));
            wasm_bindgen_futures::spawn_local(async move {
                let result = poll_fn(|cx| {
                    if cancel.cancelled.get() {
                        return Poll::Ready(None);
                    }
                    *cancel.waker.borrow_mut() = Some(cx.waker().clone());
                    query.as_mut().poll(cx).map(Some)
                })
                .await;
                drop(query);
                change(|counts| step(&mut counts.live_queries, false));
                let (Some(result), Some(shared)) = (result, this.upgrade()) else {
                    return;
                };
                act(&shared, |driver, now| {
                    if driver
                        .resolving
                        .as_ref()
                        .is_some_and(|(t, _)| *t == transport)
                    {
                        driver.resolving = None;
                    }
                    driver
                        .machine
                        .handle_credentials_resolved(transport, result, now);
                });
            });
        }
        UserCall::Decide(question) => {
            let answer = question.ask();
            act(shared, |driver, now| {
                driver.machine.handle_decision(answer, now);
            });
        }
    }
}

/// Delivers pending events in order, outside any borrow of the driver, so callbacks may
/// use the socket. A callback's own commands queue their events behind the current ones.
fn dispatch(shared: &SharedDriver) {
    {
        let mut driver = shared.borrow_mut();
        if driver.dispatching {
            return;
        }
        driver.dispatching = true;
    }
    loop {
        let (event, queue, callbacks, waiters) = {
            let mut driver = shared.borrow_mut();
            let Some(event) = driver.pending.pop_front() else {
                driver.dispatching = false;
                let faulted = driver.caught_up_fault();
                drop(driver);
                if let Some(id) = faulted {
                    act(shared, |driver, now| {
                        driver.machine.handle_caught_up(id, now)
                    });
                }
                return;
            };
            let waiters = if matches!(event, Event::StateChanged(_)) {
                std::mem::take(&mut driver.waiters)
            } else {
                Vec::new()
            };
            let callbacks = callback_for(&driver.callbacks, &event);
            (event, driver.queue.upgrade(), callbacks, waiters)
        };
        for waker in waiters {
            waker.wake();
        }
        if let Some(callback) = callbacks {
            callback.call(&event);
        }
        if let Some(queue) = queue {
            let mut queue = queue.borrow_mut();
            queue.events.push_back(event);
            if let Some(waker) = queue.waker.take() {
                waker.wake();
            }
        }
    }
}

/// The callback an event goes to.
enum Due {
    Open(OnOpen),
    Message(OnMessage),
    Close(OnClose),
    Error(OnError),
    State(OnState),
}

impl Due {
    fn call(&self, event: &Event) {
        // A callback is never running when its event is due (delivery does not nest), so
        // the borrows succeed; were one to fail, the event still reaches the stream.
        match (self, event) {
            (Due::Open(f), Event::Open { .. }) => {
                if let Ok(mut f) = f.try_borrow_mut() {
                    f();
                }
            }
            (Due::Message(f), Event::Message(message)) => {
                if let Ok(mut f) = f.try_borrow_mut() {
                    f(message);
                }
            }
            (Due::Close(f), Event::Close { frame, was_clean }) => {
                if let Ok(mut f) = f.try_borrow_mut() {
                    f(frame, *was_clean);
                }
            }
            (Due::Error(f), Event::Error(error)) => {
                if let Ok(mut f) = f.try_borrow_mut() {
                    f(error);
                }
            }
            (Due::State(f), Event::StateChanged(state)) => {
                if let Ok(mut f) = f.try_borrow_mut() {
                    f(state);
                }
            }
            _ => {}
        }
    }
}

fn callback_for(callbacks: &Callbacks, event: &Event) -> Option<Due> {
    Some(match event {
        Event::Open { .. } => Due::Open(callbacks.open.clone()?),
        Event::Message(_) => Due::Message(callbacks.message.clone()?),
        Event::Close { .. } => Due::Close(callbacks.close.clone()?),
        Event::Error(_) => Due::Error(callbacks.error.clone()?),
        Event::StateChanged(_) => Due::State(callbacks.state.clone()?),
        _ => return None,
    })
}
