//! The opening's draw in Redis: freezing the pre-queue and claiming the draw
//! (`draw_begin.lua`), reading the frozen pre-queue in chunks, writing the drawn order in
//! chunks (`draw_write.lua`), and reading the published order.
//!
//! Every call touches one concert's keys only and handles at most one chunk, so a draw of
//! a million entries is a few hundred short calls, never one long one that would stall
//! Redis for the other concerts. The order itself is computed by the caller
//! ([`shared::draw::order`]).

use shared::draw::{self, Seed};
use shared::store::StoreError;

use super::{LineStore, SCRIPTS};

/// What [`LineStore::draw_begin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawStart {
    /// No opening, or it is still ahead.
    NotYet,
    /// The draw is done.
    Drawn,
    /// Another live instance is writing the draw.
    Busy,
    /// Frozen (and, when claimed, the caller owns the draw): `entries` pre-queue entries,
    /// numbered from `base + 1`; `written` are placed already.
    Go(Frozen),
}

/// A frozen pre-queue and how far its draw is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frozen {
    pub entries: u64,
    pub base: i64,
    pub written: u64,
    /// `None` when the room has no seed (booking never drew one: nothing can be drawn).
    pub seed: Option<Seed>,
}

/// What [`LineStore::draw_write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The chunk was written; `done` when it was the last.
    Ok { written: u64, done: bool },
    /// The caller does not own the draw (its lease ran out and another took over).
    Lost,
    /// The draw is not at the chunk's offset (already written).
    Skipped { written: u64 },
}

impl LineStore {
    /// Freezes the pre-queue of `concert_id` when its opening has passed, and with `claim`
    /// takes (or keeps) the draw for `instance_id` for `lease_ms`.
    pub async fn draw_begin(
        &self,
        concert_id: i64,
        instance_id: &str,
        lease_ms: u64,
        claim: bool,
    ) -> Result<DrawStart, StoreError> {
        let keys = [
            self.keys().room(concert_id),
            self.keys().seq(concert_id),
            self.keys().prequeue(concert_id),
        ];
        let r = self
            .eval(
                "draw_begin",
                &SCRIPTS.draw_begin,
                &keys,
                (instance_id, lease_ms, if claim { "1" } else { "0" }),
            )
            .await?;
        const S: &str = "draw_begin";
        Ok(match r.text(S, "state")?.as_str() {
            "not_yet" => DrawStart::NotYet,
            "drawn" => DrawStart::Drawn,
            "busy" => DrawStart::Busy,
            "go" => DrawStart::Go(Frozen {
                entries: r.count(S, "pre_n")?,
                base: r.int(S, "pre_base")?,
                written: r.count(S, "written")?,
                seed: draw::parse_seed(&r.text(S, "seed")?),
            }),
            other => return Err(StoreError::UnexpectedReply(format!("{S}: state {other}"))),
        })
    }

    /// Members `start..start + count` of the frozen pre-queue (in join order).
    pub async fn prequeue_chunk(
        &self,
        concert_id: i64,
        start: u64,
        count: u64,
    ) -> Result<Vec<i64>, StoreError> {
        let key = self.keys().prequeue(concert_id);
        let stop = (start + count).saturating_sub(1);
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(&key).arg(start).arg(stop);
        self.command("draw_read", cmd).await
    }

    /// Writes `users` (in drawn order) at place `offset` of the draw as `instance_id`,
    /// extending its lease to `lease_ms`.
    pub async fn draw_write(
        &self,
        concert_id: i64,
        instance_id: &str,
        offset: u64,
        lease_ms: u64,
        users: &[i64],
    ) -> Result<Written, StoreError> {
        let keys = [
            self.keys().room(concert_id),
            self.keys().waiting(concert_id),
            self.keys().drawn(concert_id),
            self.keys().prequeue(concert_id),
        ];
        let r = self
            .eval(
                "draw_write",
                &SCRIPTS.draw_write,
                &keys,
                (instance_id, offset, lease_ms, users),
            )
            .await?;
        const S: &str = "draw_write";
        let written = r.count(S, "written")?;
        Ok(match r.text(S, "result")?.as_str() {
            "ok" => Written::Ok {
                written,
                done: r.flag(S, "done")?,
            },
            "lost" => Written::Lost,
            "skipped" => Written::Skipped { written },
            other => return Err(StoreError::UnexpectedReply(format!("{S}: result {other}"))),
        })
    }

    /// Places `offset..offset + limit` of the published draw (user ids in drawn order), and
    /// the draw's size.
    pub async fn drawn_page(
        &self,
        concert_id: i64,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<i64>, u64), StoreError> {
        let key = self.keys().drawn(concert_id);
        let stop = (offset + limit).saturating_sub(1);
        let mut pipe = redis::pipe();
        pipe.cmd("LRANGE").arg(&key).arg(offset).arg(stop);
        pipe.cmd("LLEN").arg(&key);
        self.pipeline("draw_page", pipe).await
    }
}
