//! When a driver gives back the capacity its buffers hold spare (the machine's queues,
//! the event queue, read and write buffers): buffers keep what they grew while the
//! socket is busy, so a steady flow allocates nothing per burst, and shrink back soon
//! after it goes quiet, so an idle socket holds only what it uses.
//!
//! Two deadlines start when a pass first finds spare capacity:
//!
//! - **quiet**: once no pass has moved anything for [`QUIET`], everything is given
//!   back. A socket that just connected (whose queues grew for the handshake's events
//!   and the greeting) is trimmed this soon, so that sockets opened one after another
//!   reuse the blocks the earlier ones gave back instead of leaving them as holes
//!   between their own allocations.
//! - **busy**: a socket that never goes quiet is trimmed [`BUSY`] after its buffers
//!   first held spare capacity anyway, at most once per period, so a burst does not pin
//!   its peak under a steady trickle.
//!
//! While the socket is busy the driver is asked to look again at most once per
//! [`QUIET`] (not on every pass), so an armed timer is not moved per message.

use std::time::Duration;

use web_time::Instant;

/// Quiet this long, a socket gives back what its buffers hold spare.
pub(crate) const QUIET: Duration = Duration::from_millis(100);
/// A socket that stays busy gives back its spare capacity this long after it first
/// held some.
pub(crate) const BUSY: Duration = Duration::from_secs(1);

/// What a driver does after a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrimStep {
    /// Give back every buffer's spare capacity now.
    Trim,
    /// Nothing to give back yet; look again at the instant, if any (`None`: no buffer
    /// holds spare capacity, and no timer is needed for it).
    LookAt(Option<Instant>),
}

/// The trim deadlines of one socket.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrimSchedule {
    /// Set while some buffer holds spare capacity.
    due: Option<Due>,
    /// When a pass last moved something.
    last_busy: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Due {
    /// Trimmed then however busy the socket is.
    busy: Instant,
    /// When to look again whether the socket has been quiet for [`QUIET`].
    look: Instant,
}

impl TrimSchedule {
    /// After each pass of the driver: `busy` whether it moved anything (read, wrote,
    /// delivered, performed an output); `spare` whether any buffer holds spare capacity,
    /// asked only when nothing is scheduled yet (it looks at every buffer).
    pub(crate) fn after_pass(
        &mut self,
        now: Instant,
        busy: bool,
        spare: impl FnOnce() -> bool,
    ) -> TrimStep {
        if busy {
            self.last_busy = Some(now);
        }
        let Some(due) = &mut self.due else {
            if !spare() {
                return TrimStep::LookAt(None);
            }
            let due = Due {
                busy: now + BUSY,
                look: now + QUIET,
            };
            self.due = Some(due);
            return TrimStep::LookAt(Some(due.look));
        };
        if due.look > now {
            return TrimStep::LookAt(Some(due.look));
        }
        let quiet_until = self.last_busy.map_or(now, |at| at + QUIET);
        if quiet_until <= now || due.busy <= now {
            self.due = None;
            return TrimStep::Trim;
        }
        due.look = quiet_until.min(due.busy);
        TrimStep::LookAt(Some(due.look))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nothing_spare_needs_no_timer() {
        let mut schedule = TrimSchedule::default();
        let start = Instant::now();
        for step in 0..20 {
            let at = start + ms(step * 50);
            assert_eq!(
                schedule.after_pass(at, step % 2 == 0, || false),
                TrimStep::LookAt(None)
            );
        }
    }

    #[test]
    fn a_socket_that_went_quiet_is_trimmed_after_the_quiet_period() {
        let mut schedule = TrimSchedule::default();
        let start = Instant::now();
        // The connect: its events grew the queues.
        assert_eq!(
            schedule.after_pass(start, true, || true),
            TrimStep::LookAt(Some(start + QUIET))
        );
        // The greeting, 30 ms later: the socket was busy again, so the quiet period
        // starts over.
        let greeting = start + ms(30);
        assert_eq!(
            schedule.after_pass(greeting, true, || unreachable!("already scheduled")),
            TrimStep::LookAt(Some(start + QUIET))
        );
        // At the first look it has been quiet for only 70 ms.
        assert_eq!(
            schedule.after_pass(start + QUIET, false, || unreachable!()),
            TrimStep::LookAt(Some(greeting + QUIET))
        );
        assert_eq!(
            schedule.after_pass(greeting + QUIET, false, || unreachable!()),
            TrimStep::Trim
        );
        // Trimmed: nothing spare, nothing scheduled.
        assert_eq!(
            schedule.after_pass(greeting + QUIET, false, || false),
            TrimStep::LookAt(None)
        );
    }

    #[test]
    fn a_busy_socket_is_trimmed_once_per_busy_period_and_looked_at_once_per_quiet_period() {
        let mut schedule = TrimSchedule::default();
        let start = Instant::now();
        let mut trims = Vec::new();
        let mut looks = Vec::new();
        // A pass that moves something every millisecond for 2.5 s.
        for step in 0..=2_500 {
            let at = start + ms(step);
            match schedule.after_pass(at, true, || true) {
                TrimStep::Trim => trims.push(at - start),
                TrimStep::LookAt(Some(look)) => {
                    if looks.last() != Some(&look) {
                        looks.push(look);
                    }
                }
                TrimStep::LookAt(None) => panic!("spare capacity needs a look"),
            }
        }
        assert_eq!(trims, [BUSY, BUSY * 2 + ms(1)]);
        // About one look per quiet period, never one per pass.
        assert!(
            (20..=30).contains(&looks.len()),
            "{} looks in 2.5 s",
            looks.len()
        );
    }

    #[test]
    fn a_quiet_socket_with_nothing_moved_since_it_was_scheduled_is_trimmed_at_the_first_look() {
        let mut schedule = TrimSchedule::default();
        let start = Instant::now();
        assert_eq!(
            schedule.after_pass(start, false, || true),
            TrimStep::LookAt(Some(start + QUIET))
        );
        assert_eq!(
            schedule.after_pass(start + QUIET, false, || unreachable!()),
            TrimStep::Trim
        );
    }
}
