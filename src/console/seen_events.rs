//! The webhook events already shown: the console's own listener and the shared feed both bring
//! an event, and it is taken once. Re-exported by `state`.

use std::collections::VecDeque;

/// A bounded set of recently seen event ids.
#[derive(Debug, Default)]
pub struct SeenEvents {
    order: VecDeque<i64>,
    set: std::collections::HashSet<i64>,
}

impl SeenEvents {
    const KEEP: usize = 4096;

    /// Records `id`; `false` if it was already seen.
    pub fn insert(&mut self, id: i64) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::KEEP
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}
