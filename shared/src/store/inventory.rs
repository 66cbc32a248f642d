//! A concert's inventory as booking publishes it (`<p>q:{c}:inv`), for the gateways' line:
//! seats left and sold out.

use super::{Reply, Store, StoreError};

/// A concert's seats: in total, held (live holds, and expired ones until swept), sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inventory {
    pub total: u64,
    pub held: u64,
    pub sold: u64,
}

impl Inventory {
    /// Seats that can still be held and bought.
    pub fn seats_left(&self) -> u64 {
        self.total.saturating_sub(self.held + self.sold)
    }

    /// Every seat is sold.
    pub fn sold_out(&self) -> bool {
        self.total > 0 && self.sold >= self.total
    }

    /// As the scripts reply it (`total`, `held`, `sold`; -1 when never published).
    pub fn from_reply(reply: &Reply, script: &str) -> Result<Option<Self>, StoreError> {
        let total = reply.int(script, "total")?;
        if total < 0 {
            return Ok(None);
        }
        Ok(Some(Self {
            total: total as u64,
            held: reply.count(script, "held")?,
            sold: reply.count(script, "sold")?,
        }))
    }
}

impl Store {
    /// Writes concerts' inventories (booking's publisher): one `HSET` per concert (each in
    /// its concert's slot, for Redis Cluster), all at once.
    pub async fn publish_inventory(&self, concerts: &[(i64, Inventory)]) -> Result<(), StoreError> {
        let keys = &self.keys;
        let writes = concerts.iter().map(|(concert_id, inv)| {
            let key = keys.inventory(*concert_id);
            self.redis
                .run("inventory_publish", move |mut c| async move {
                    redis::cmd("HSET")
                        .arg(&key)
                        .arg("total")
                        .arg(inv.total)
                        .arg("held")
                        .arg(inv.held)
                        .arg("sold")
                        .arg(inv.sold)
                        .query_async::<()>(&mut c)
                        .await
                })
        });
        for result in futures::future::join_all(writes).await {
            result?;
        }
        Ok(())
    }
}
