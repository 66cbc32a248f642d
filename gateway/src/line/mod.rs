//! The gateway's own calls on the lines in Redis: joining and leaving a line and reading
//! what left it ([`queue`]), the room hash and the admission tick ([`room`]), the opening's
//! draw ([`draw`]). Booking never makes these calls; what both services call (where a ticket
//! stands, ending an admission, seat keys, the inventory) is [`shared::store`], which
//! [`LineStore`] wraps: it derefs to the shared [`Store`], so one handle serves both.
//!
//! The scripts are `gateway/lua/`, one file each, loaded once per process ([`lua`]); they
//! read the room hash's fields as `shared::store::room_fields` declares them (a test checks
//! every one).

pub mod draw;
pub mod queue;
pub mod room;

use std::ops::Deref;
use std::sync::LazyLock;

use redis::Script;
use shared::config::RedisSettings;
use shared::store::Store;

pub use draw::{DrawStart, Frozen, Written};
pub use queue::{Departures, JoinOutcome, Left, LEFT_LISTED_MS};
pub use room::{Opening, RoomPut, RoomStats, Tick};

/// The scripts' sources, for tools that must run exactly what the gateway runs.
pub mod lua {
    pub const JOIN: &str = include_str!("../../lua/join.lua");
    pub const PROMOTE: &str = include_str!("../../lua/promote.lua");
    pub const STATS: &str = include_str!("../../lua/stats.lua");
    pub const ROOM_PUT: &str = include_str!("../../lua/room_put.lua");
    pub const DRAW_BEGIN: &str = include_str!("../../lua/draw_begin.lua");
    pub const DRAW_WRITE: &str = include_str!("../../lua/draw_write.lua");
    /// Without the shared body that ends an admission, which [`leave`] prepends.
    pub const LEAVE_OWN: &str = include_str!("../../lua/leave.lua");

    /// `leave.lua` as it runs: the shared end-of-admission body first.
    pub fn leave() -> String {
        format!("{}{}", shared::store::lua::END_ADMISSION_LIB, LEAVE_OWN)
    }

    /// Every script by name (as its file is called), for the checks that read them.
    pub fn all() -> Vec<(&'static str, String)> {
        vec![
            ("join", JOIN.to_owned()),
            ("leave", leave()),
            ("promote", PROMOTE.to_owned()),
            ("stats", STATS.to_owned()),
            ("room_put", ROOM_PUT.to_owned()),
            ("draw_begin", DRAW_BEGIN.to_owned()),
            ("draw_write", DRAW_WRITE.to_owned()),
        ]
    }
}

pub(crate) struct Scripts {
    pub join: Script,
    pub leave: Script,
    pub promote: Script,
    pub stats: Script,
    pub room_put: Script,
    pub draw_begin: Script,
    pub draw_write: Script,
}

/// Loaded (hashed) once per process; sent as `EVALSHA`.
pub(crate) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    join: Script::new(lua::JOIN),
    leave: Script::new(&lua::leave()),
    promote: Script::new(lua::PROMOTE),
    stats: Script::new(lua::STATS),
    room_put: Script::new(lua::ROOM_PUT),
    draw_begin: Script::new(lua::DRAW_BEGIN),
    draw_write: Script::new(lua::DRAW_WRITE),
});

/// The shared store with the gateway's own calls; cheap to clone.
#[derive(Clone, Debug)]
pub struct LineStore {
    store: Store,
}

impl LineStore {
    /// Connections are made lazily: the gateway starts (and reports not-ready) while Redis
    /// is down.
    pub fn new(settings: &RedisSettings, service: &'static str) -> Result<Self, redis::RedisError> {
        Ok(Self::from(Store::new(settings, service)?))
    }

    /// The shared store underneath.
    pub fn shared(&self) -> &Store {
        &self.store
    }
}

impl From<Store> for LineStore {
    fn from(store: Store) -> Self {
        Self { store }
    }
}

impl Deref for LineStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use shared::store::room_fields::{self, ROOM};

    use super::lua;

    /// The gateway's scripts name only declared fields, and every declared field is named
    /// by some script of either crate (or written from Rust).
    #[test]
    fn every_script_names_declared_room_fields_only() {
        let mut used = HashSet::new();
        let shared_scripts = shared::store::lua::ALL
            .iter()
            .map(|(name, source)| (*name, source.to_string()));
        for (script, source) in lua::all().into_iter().chain(shared_scripts) {
            for (command, name) in room_fields::fields_named(&source) {
                assert!(
                    room_fields::declared(&name),
                    "{script}.lua: {command} names the field `{name}`, which \
                     shared/src/store/room_fields.rs does not declare"
                );
                used.insert(name);
            }
        }
        for field in ROOM {
            assert!(
                field.written_by == "room_put" || used.contains(field.name),
                "`{}` is declared but no script names it",
                field.name
            );
        }
        for name in room_fields::INVENTORY {
            assert!(used.contains(*name), "inventory field `{name}` unused");
        }
    }
}
