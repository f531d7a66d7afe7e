//! The timers of an open connection, one table (quinn-proto's `TimerTable` is the
//! model): each timer is an optional deadline, and the machine's next wake-up is the
//! earliest one that is running.

use web_time::Instant;

/// One timer of an open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The peer failed the protocol; the connection ends now unless the driver reported
    /// that the application caught up first.
    End,
    /// A write has made no progress since the write started blocking.
    Write,
    /// A heartbeat ping went unanswered.
    Dead,
    /// The connection has stayed up for `min_uptime`: the retry count resets.
    Stable,
    /// Time to send a heartbeat ping.
    Ping,
}

impl Timer {
    /// In the order they are handled when several are due at once: a connection that is
    /// over is not pinged, and one that is dead does not become stable.
    const ALL: [Timer; 5] = [
        Timer::End,
        Timer::Write,
        Timer::Dead,
        Timer::Stable,
        Timer::Ping,
    ];

    /// The heartbeat's timers: they wait while the driver has paused reading (silence
    /// from the peer proves nothing then).
    fn is_heartbeat(self) -> bool {
        matches!(self, Timer::Dead | Timer::Ping)
    }
}

/// The deadlines of one open connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    deadlines: [Option<Instant>; Timer::ALL.len()],
    /// The driver stopped reading: the heartbeat's timers wait.
    read_paused: bool,
}

impl Timers {
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn is_running(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    pub(crate) fn read_paused(&self) -> bool {
        self.read_paused
    }

    pub(crate) fn set_read_paused(&mut self, paused: bool) {
        self.read_paused = paused;
    }

    fn counts(&self, timer: Timer) -> bool {
        !(self.read_paused && timer.is_heartbeat())
    }

    /// The earliest running deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        Timer::ALL
            .into_iter()
            .filter(|timer| self.counts(*timer))
            .filter_map(|timer| self.get(timer))
            .min()
    }

    /// The first timer, in handling order, that is due at `now`; it is stopped.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .find(|timer| self.counts(*timer) && self.get(*timer).is_some_and(|at| at <= now))?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_is_the_earliest_and_paused_reads_hold_the_heartbeat() {
        let start = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.next(), None);
        timers.set(Timer::Stable, start + Duration::from_secs(5));
        timers.set(Timer::Ping, start + Duration::from_secs(1));
        assert_eq!(timers.next(), Some(start + Duration::from_secs(1)));
        timers.set_read_paused(true);
        assert_eq!(timers.next(), Some(start + Duration::from_secs(5)));
        assert_eq!(timers.take_expired(start + Duration::from_secs(2)), None);
        timers.set_read_paused(false);
        assert_eq!(
            timers.take_expired(start + Duration::from_secs(9)),
            Some(Timer::Stable)
        );
        assert_eq!(
            timers.take_expired(start + Duration::from_secs(9)),
            Some(Timer::Ping)
        );
        assert_eq!(timers.take_expired(start + Duration::from_secs(9)), None);
    }

    #[test]
    fn a_failure_is_handled_before_the_timers_of_a_live_connection() {
        let start = Instant::now();
        let mut timers = Timers::default();
        for timer in Timer::ALL {
            timers.set(timer, start);
        }
        let order: Vec<Timer> = std::iter::from_fn(|| timers.take_expired(start)).collect();
        assert_eq!(order, Timer::ALL);
    }
}
