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
    pub(crate) fn from_reply(reply: &Reply, script: &str) -> Result<Option<Self>, StoreError> {
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
    /// Writes concerts' inventories (booking's publisher), one pipelined call.
    pub async fn publish_inventory(&self, concerts: &[(i64, Inventory)]) -> Result<(), StoreError> {
        let keys = &self.keys;
        self.redis
            .run("inventory_publish", |mut c| {
                let mut pipe = redis::pipe();
                for (concert_id, inv) in concerts {
                    pipe.hset_multiple(
                        keys.inventory(*concert_id),
                        &[("total", inv.total), ("held", inv.held), ("sold", inv.sold)],
                    )
                    .ignore();
                }
                async move { pipe.query_async::<()>(&mut c).await }
            })
            .await?;
        Ok(())
    }
}
