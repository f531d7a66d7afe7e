//! Every message not yet handed to a connection: sent while disconnected (capped by
//! count and bytes), or sent while open and not yet pulled by the driver. Coalescing
//! keys keep only the latest unsent message per key.

use std::collections::VecDeque;

use super::message::{DropReason, Message, SendOutcome};
use super::policy::DropPolicy;

#[derive(Debug, Clone)]
struct Queued {
    message: Message,
    key: Option<String>,
}

/// The queue, with its caps. Invariants: `bytes` is the sum of the queued payloads; at
/// most one queued message per key; `limit`, when set, is at most `items.len()`.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    items: VecDeque<Queued>,
    bytes: usize,
    max_messages: Option<usize>,
    max_bytes: Option<usize>,
    policy: DropPolicy,
    /// While set, only the first `limit` messages may be taken by [`pop`](Self::pop):
    /// those queued before a graceful close began (they go out before the close frame;
    /// later ones wait for the next connection).
    limit: Option<usize>,
}

/// What [`Outbox::push`] did.
#[derive(Debug)]
pub(crate) struct Pushed {
    pub(crate) outcome: SendOutcome,
    /// The oldest messages evicted to make room ([`DropPolicy::DropOldest`]).
    pub(crate) evicted: Vec<Message>,
}

impl Outbox {
    pub(crate) fn new(
        max_messages: Option<usize>,
        max_bytes: Option<usize>,
        policy: DropPolicy,
    ) -> Self {
        Outbox {
            items: VecDeque::new(),
            bytes: 0,
            max_messages,
            max_bytes,
            policy,
            limit: None,
        }
    }

    /// Queues `message` for a connection that is not open: the caps apply. A `key`
    /// replaces the older queued message with the same key (the new one goes to the
    /// back).
    pub(crate) fn push(&mut self, message: Message, key: Option<String>) -> Pushed {
        let len = message.len();
        if self.max_bytes.is_some_and(|max| len > max) || self.max_messages == Some(0) {
            let reason = if self.max_messages == Some(0) {
                DropReason::QueueFull
            } else {
                DropReason::TooLarge
            };
            return Pushed {
                outcome: SendOutcome::Dropped(reason),
                evicted: Vec::new(),
            };
        }
        let replaced = self.position_of(key.as_deref());
        // Space the replaced message would free counts towards fitting the new one.
        let freed = replaced
            .and_then(|i| self.items.get(i))
            .map_or(0, |item| item.message.len());
        let count_after = self.items.len() + 1 - usize::from(replaced.is_some());
        let bytes_after = self.bytes - freed + len;
        if !self.fits(count_after, bytes_after) && self.policy == DropPolicy::DropNewest {
            return Pushed {
                outcome: SendOutcome::Dropped(DropReason::QueueFull),
                evicted: Vec::new(),
            };
        }
        if let Some(index) = replaced {
            self.remove(index);
        }
        let mut evicted = Vec::new();
        while !self.fits(self.items.len() + 1, self.bytes + len) {
            match self.remove(0) {
                Some(old) => evicted.push(old),
                None => break,
            }
        }
        self.push_back(message, key);
        let outcome = if replaced.is_some() {
            SendOutcome::Coalesced
        } else {
            SendOutcome::Queued
        };
        Pushed { outcome, evicted }
    }

    /// Accepts `message` for the open connection: no cap applies (the connection, not
    /// the queue, sets the pace). A `key` still replaces an unsent message with the same
    /// key. Returns whether one was replaced.
    #[inline]
    pub(crate) fn push_open(&mut self, message: Message, key: Option<String>) -> bool {
        let replaced = self.position_of(key.as_deref());
        if let Some(index) = replaced {
            self.remove(index);
        }
        self.push_back(message, key);
        replaced.is_some()
    }

    /// Takes the oldest message, unless a [`limit`](Self::limit_to_queued) is reached.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Message> {
        if self.limit == Some(0) {
            return None;
        }
        self.remove(0)
    }

    /// From now on [`pop`](Self::pop) yields only the messages queued so far.
    pub(crate) fn limit_to_queued(&mut self) {
        self.limit = Some(self.items.len());
    }

    /// Lifts the limit of [`limit_to_queued`](Self::limit_to_queued).
    pub(crate) fn unlimit(&mut self) {
        self.limit = None;
    }

    /// Whether [`pop`](Self::pop) would yield a message.
    #[inline]
    pub(crate) fn has_poppable(&self) -> bool {
        !self.items.is_empty() && self.limit != Some(0)
    }

    /// Takes every queued message, oldest first. The queue's storage goes with them,
    /// so a long outage does not pin its peak.
    pub(crate) fn drain(&mut self) -> Vec<Message> {
        self.bytes = 0;
        self.limit = self.limit.map(|_| 0);
        std::mem::take(&mut self.items)
            .into_iter()
            .map(|item| item.message)
            .collect()
    }

    /// Gives back the capacity a long outage or a burst left: all that is not in use.
    pub(crate) fn trim(&mut self) {
        self.items.shrink_to_fit();
    }

    /// Allocated slots not in use: what [`trim`](Self::trim) would give back.
    pub(crate) fn spare_capacity(&self) -> usize {
        self.items.capacity() - self.items.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    fn fits(&self, count: usize, bytes: usize) -> bool {
        self.max_messages.is_none_or(|max| count <= max)
            && self.max_bytes.is_none_or(|max| bytes <= max)
    }

    #[inline]
    fn position_of(&self, key: Option<&str>) -> Option<usize> {
        let key = key?;
        self.items
            .iter()
            .position(|item| item.key.as_deref() == Some(key))
    }

    #[inline]
    fn push_back(&mut self, message: Message, key: Option<String>) {
        self.bytes += message.len();
        self.items.push_back(Queued { message, key });
    }

    /// Removes the message at `index`, keeping the bytes and the limit consistent.
    #[inline]
    fn remove(&mut self, index: usize) -> Option<Message> {
        // The oldest is the common case: `pop_front` is cheaper than `remove(0)`.
        let old = if index == 0 {
            self.items.pop_front()?
        } else {
            self.items.remove(index)?
        };
        self.bytes -= old.message.len();
        if let Some(limit) = &mut self.limit {
            if index < *limit {
                *limit -= 1;
            }
        }
        Some(old.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Message {
        Message::from(s)
    }

    #[test]
    fn should_handle_exactly_max_enqueued_messages() {
        let mut queue = Outbox::new(Some(5), None, DropPolicy::DropNewest);
        for i in 0..5 {
            assert_eq!(
                queue.push(text(&i.to_string()), None).outcome,
                SendOutcome::Queued
            );
        }
        assert_eq!(
            queue.push(text("6th"), None).outcome,
            SendOutcome::Dropped(DropReason::QueueFull)
        );
        assert_eq!(queue.len(), 5);
        assert_eq!(queue.drain(), ["0", "1", "2", "3", "4"].map(text));
        assert_eq!(queue.bytes(), 0);
    }

    #[test]
    fn byte_cap_and_too_large() {
        let mut queue = Outbox::new(None, Some(10), DropPolicy::DropNewest);
        assert_eq!(
            queue.push(text("12345678901"), None).outcome,
            SendOutcome::Dropped(DropReason::TooLarge)
        );
        assert_eq!(
            queue.push(text("123456"), None).outcome,
            SendOutcome::Queued
        );
        assert_eq!(
            queue.push(text("12345"), None).outcome,
            SendOutcome::Dropped(DropReason::QueueFull)
        );
        assert_eq!(queue.push(text("1234"), None).outcome, SendOutcome::Queued);
        assert_eq!(queue.bytes(), 10);
    }

    #[test]
    fn drop_oldest_evicts_in_order() {
        let mut queue = Outbox::new(Some(2), None, DropPolicy::DropOldest);
        queue.push(text("a"), None);
        queue.push(text("b"), None);
        let Pushed { outcome, evicted } = queue.push(text("c"), None);
        assert_eq!(outcome, SendOutcome::Queued);
        assert_eq!(evicted, vec![text("a")]);
        assert_eq!(queue.drain(), vec![text("b"), text("c")]);
    }

    #[test]
    fn coalescing_keeps_only_the_latest_per_key_at_the_back() {
        let mut queue = Outbox::new(None, None, DropPolicy::DropNewest);
        queue.push(text("pos1"), Some("pos".into()));
        queue.push(text("chat"), None);
        assert_eq!(
            queue.push(text("pos2"), Some("pos".into())).outcome,
            SendOutcome::Coalesced
        );
        assert_eq!(
            queue.push(text("cur1"), Some("cursor".into())).outcome,
            SendOutcome::Queued
        );
        assert_eq!(queue.bytes(), "chatpos2cur1".len());
        assert_eq!(queue.drain(), ["chat", "pos2", "cur1"].map(text));
    }

    #[test]
    fn coalescing_frees_room_under_a_full_cap() {
        let mut queue = Outbox::new(Some(2), None, DropPolicy::DropNewest);
        queue.push(text("a"), Some("k".into()));
        queue.push(text("b"), None);
        assert_eq!(
            queue.push(text("c"), Some("k".into())).outcome,
            SendOutcome::Coalesced
        );
        assert_eq!(queue.drain(), ["b", "c"].map(text));
    }

    #[test]
    fn zero_capacity_queues_nothing() {
        let mut queue = Outbox::new(Some(0), None, DropPolicy::DropOldest);
        assert_eq!(
            queue.push(text("x"), None).outcome,
            SendOutcome::Dropped(DropReason::QueueFull)
        );
        assert_eq!(queue.len(), 0);
    }
}
