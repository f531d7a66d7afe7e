//! The outbound queue: messages sent while disconnected, capped by count and bytes,
//! with coalescing keys.

use std::collections::VecDeque;

use super::message::{DropReason, Message, SendOutcome};
use super::policy::DropPolicy;

#[derive(Debug, Clone)]
struct Queued {
    message: Message,
    key: Option<String>,
}

/// The queue, with its caps. Invariant: `bytes` is the sum of the queued payloads and
/// both caps hold after every call.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    items: VecDeque<Queued>,
    bytes: usize,
    max_messages: Option<usize>,
    max_bytes: Option<usize>,
    policy: DropPolicy,
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
        }
    }

    /// Queues `message`; a `key` replaces the older queued message with the same key
    /// (the new one goes to the back). Returns the outcome and any evicted messages.
    pub(crate) fn push(
        &mut self,
        message: Message,
        key: Option<String>,
    ) -> (SendOutcome, Vec<Message>) {
        let len = message.len();
        if self.max_bytes.is_some_and(|max| len > max) || self.max_messages == Some(0) {
            let reason = if self.max_messages == Some(0) {
                DropReason::QueueFull
            } else {
                DropReason::TooLarge
            };
            return (SendOutcome::Dropped(reason), Vec::new());
        }
        let replaced = key.as_deref().and_then(|key| {
            self.items
                .iter()
                .position(|item| item.key.as_deref() == Some(key))
        });
        // Space the replaced message would free counts towards fitting the new one.
        let freed = replaced.map_or(0, |i| self.items[i].message.len());
        let count_after = self.items.len() + 1 - usize::from(replaced.is_some());
        let bytes_after = self.bytes - freed + len;
        let fits = |count: usize, bytes: usize| {
            self.max_messages.is_none_or(|max| count <= max)
                && self.max_bytes.is_none_or(|max| bytes <= max)
        };
        if !fits(count_after, bytes_after) && self.policy == DropPolicy::DropNewest {
            return (SendOutcome::Dropped(DropReason::QueueFull), Vec::new());
        }
        if let Some(index) = replaced {
            if let Some(old) = self.items.remove(index) {
                self.bytes -= old.message.len();
            }
        }
        let mut evicted = Vec::new();
        while !fits(self.items.len() + 1, self.bytes + len) {
            match self.items.pop_front() {
                Some(old) => {
                    self.bytes -= old.message.len();
                    evicted.push(old.message);
                }
                None => break,
            }
        }
        self.bytes += len;
        self.items.push_back(Queued { message, key });
        let outcome = if replaced.is_some() {
            SendOutcome::Coalesced
        } else {
            SendOutcome::Queued
        };
        (outcome, evicted)
    }

    /// Takes every queued message, oldest first. The queue's storage goes with them,
    /// so a long outage does not pin its peak.
    pub(crate) fn drain(&mut self) -> Vec<Message> {
        self.bytes = 0;
        std::mem::take(&mut self.items)
            .into_iter()
            .map(|item| item.message)
            .collect()
    }

    /// Puts `messages` back at the front, in their order, ahead of everything queued.
    /// The caps are not checked: these were accepted before.
    pub(crate) fn requeue(&mut self, messages: Vec<Message>) {
        for message in messages.into_iter().rev() {
            self.bytes += message.len();
            self.items.push_front(Queued { message, key: None });
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
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
                queue.push(text(&i.to_string()), None).0,
                SendOutcome::Queued
            );
        }
        assert_eq!(
            queue.push(text("6th"), None).0,
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
            queue.push(text("12345678901"), None).0,
            SendOutcome::Dropped(DropReason::TooLarge)
        );
        assert_eq!(queue.push(text("123456"), None).0, SendOutcome::Queued);
        assert_eq!(
            queue.push(text("12345"), None).0,
            SendOutcome::Dropped(DropReason::QueueFull)
        );
        assert_eq!(queue.push(text("1234"), None).0, SendOutcome::Queued);
        assert_eq!(queue.bytes(), 10);
    }

    #[test]
    fn drop_oldest_evicts_in_order() {
        let mut queue = Outbox::new(Some(2), None, DropPolicy::DropOldest);
        queue.push(text("a"), None);
        queue.push(text("b"), None);
        let (outcome, evicted) = queue.push(text("c"), None);
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
            queue.push(text("pos2"), Some("pos".into())).0,
            SendOutcome::Coalesced
        );
        assert_eq!(
            queue.push(text("cur1"), Some("cursor".into())).0,
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
            queue.push(text("c"), Some("k".into())).0,
            SendOutcome::Coalesced
        );
        assert_eq!(queue.drain(), ["b", "c"].map(text));
    }

    #[test]
    fn zero_capacity_queues_nothing() {
        let mut queue = Outbox::new(Some(0), None, DropPolicy::DropOldest);
        assert_eq!(
            queue.push(text("x"), None).0,
            SendOutcome::Dropped(DropReason::QueueFull)
        );
        assert_eq!(queue.len(), 0);
    }
}
