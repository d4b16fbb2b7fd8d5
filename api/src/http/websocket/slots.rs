//! How many WebSockets each client address holds open on this replica. A socket costs
//! memory and a task for as long as it lives, so one address (an IPv6 /64, as for the
//! rate limits) gets a fixed share (`MATI_MAX_WEBSOCKETS_PER_ADDRESS`); a slot is given
//! back when its socket ends, however it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The open sockets per address.
#[derive(Debug)]
pub struct SocketSlots {
    per_address: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// One address's place for one socket; dropping it gives the place back.
#[derive(Debug)]
pub struct SocketSlot {
    slots: Arc<SocketSlots>,
    address: String,
}

impl SocketSlots {
    /// Room for `per_address` sockets per address.
    pub fn new(per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            per_address,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more socket of `address`, unless it holds its share already.
    pub fn take(self: &Arc<Self>, address: String) -> Option<SocketSlot> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(address.clone()).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            slots: Arc::clone(self),
            address,
        })
    }

    /// Sockets `address` holds now.
    #[cfg(test)]
    fn held(&self, address: &str) -> usize {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(address).copied().unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_its_share_and_gets_places_back_when_sockets_end() {
        let slots = SocketSlots::new(2);
        let first = slots.take("10.0.0.1".into());
        let second = slots.take("10.0.0.1".into());
        assert!(first.is_some() && second.is_some());
        assert!(slots.take("10.0.0.1".into()).is_none(), "a third is refused");
        assert!(
            slots.take("10.0.0.2".into()).is_some(),
            "another address has its own share"
        );
        drop(first);
        assert_eq!(slots.held("10.0.0.1"), 1);
        assert!(slots.take("10.0.0.1".into()).is_some());
        drop(second);
        // The map does not keep addresses that hold nothing.
        assert_eq!(slots.held.lock().map(|h| h.len()).unwrap_or(0), 0);
    }
}
