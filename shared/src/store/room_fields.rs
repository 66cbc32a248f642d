//! Every field of a room's Redis hash (`<p>q:{c}:room`) and of the concert's inventory hash
//! (`<p>q:{c}:inv`), declared once. The Rust writers use these constants; every Lua script
//! of both crates that names a field is checked against this list by a test (a field a
//! script reads that nobody declared — a typo, or a rename done in one place — fails it),
//! and so is every declared field that no script or writer uses any more.

/// A field of the room hash: its name, who writes it, and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub written_by: &'static str,
    pub holds: &'static str,
}

// The settings, written from booking's durable copy (the gateway's `LineStore::put_room`, `room_put.lua`).
pub const MODE: &str = "mode";
pub const CAPACITY: &str = "capacity";
pub const BATCH_SIZE: &str = "batch_size";
pub const TICK_MS: &str = "tick_ms";
pub const ACTIVE_TTL_SECS: &str = "active_ttl_secs";
pub const ENABLED: &str = "enabled";
pub const OPENS_AT_MS: &str = "opens_at_ms";
pub const PREQUEUE_SECS: &str = "prequeue_secs";
pub const SEED: &str = "seed";
pub const SEED_SHA256: &str = "seed_sha256";
pub const VERSION: &str = "version";
pub const WAITLIST: &str = "waitlist";

/// The room hash, field by field.
pub const ROOM: &[Field] = &[
    Field {
        name: WAITLIST,
        written_by: "room_put",
        holds: "1: a sold-out room keeps its line for seats that come back; 0: releases it",
    },
    Field {
        name: MODE,
        written_by: "room_put",
        holds: "open, queue_all or closed",
    },
    Field {
        name: CAPACITY,
        written_by: "room_put",
        holds: "most buyers admitted at once",
    },
    Field {
        name: BATCH_SIZE,
        written_by: "room_put",
        holds: "most buyers admitted per tick",
    },
    Field {
        name: TICK_MS,
        written_by: "room_put",
        holds: "the admission tick, ms",
    },
    Field {
        name: ACTIVE_TTL_SECS,
        written_by: "room_put",
        holds: "how long an admission lasts",
    },
    Field {
        name: ENABLED,
        written_by: "room_put",
        holds: "1 unless closed (older hashes have only this)",
    },
    Field {
        name: OPENS_AT_MS,
        written_by: "room_put",
        holds: "the scheduled opening, ms (empty: none)",
    },
    Field {
        name: PREQUEUE_SECS,
        written_by: "room_put",
        holds: "how long before the opening the pre-queue opens",
    },
    Field {
        name: SEED,
        written_by: "room_put",
        holds: "the draw's seed, hex (replied once drawn)",
    },
    Field {
        name: SEED_SHA256,
        written_by: "room_put",
        holds: "the seed's commitment, public at once",
    },
    Field {
        name: VERSION,
        written_by: "room_put",
        holds: "booking's count of operator changes (0: the defaults)",
    },
    Field {
        name: "epoch",
        written_by: "room_put",
        holds: "the line's generation: new when the hash is created",
    },
    Field {
        name: "admitted_1m",
        written_by: "join, promote",
        holds: "admissions over the last minute",
    },
    Field {
        name: "last_tick_ms",
        written_by: "promote",
        holds: "the slot of the last tick",
    },
    Field {
        name: "last_tick_by",
        written_by: "promote",
        holds: "the instance that ran it",
    },
    Field {
        name: "sold_out_ms",
        written_by: "promote",
        holds: "when every seat was sold and the line released (waitlist 0)",
    },
    Field {
        name: "waitlisted_ms",
        written_by: "promote",
        holds:
            "when a waitlisted room first sold out (admission capped by buyable seats from then on)",
    },
    Field {
        name: "sold_out_seq",
        written_by: "promote",
        holds: "the last ticket number then",
    },
    Field {
        name: "pre_n",
        written_by: "draw_begin",
        holds: "entries frozen for the draw",
    },
    Field {
        name: "pre_base",
        written_by: "draw_begin",
        holds: "the draw's first ticket number - 1",
    },
    Field {
        name: "draw_state",
        written_by: "draw_begin, draw_write",
        holds: "drawing or drawn",
    },
    Field {
        name: "draw_written",
        written_by: "draw_begin, draw_write",
        holds: "entries placed so far",
    },
    Field {
        name: "draw_owner",
        written_by: "draw_begin",
        holds: "the instance writing the draw",
    },
    Field {
        name: "draw_lease_ms",
        written_by: "draw_begin, draw_write",
        holds: "until when it owns it",
    },
    Field {
        name: "drawn_ms",
        written_by: "draw_begin, draw_write",
        holds: "when the draw was done",
    },
];

/// The inventory hash booking publishes per concert.
pub const INVENTORY: &[&str] = &["total", "held", "sold"];

/// Whether `name` is a declared field of the room or inventory hash.
pub fn declared(name: &str) -> bool {
    ROOM.iter().any(|f| f.name == name) || INVENTORY.contains(&name)
}

/// The top-level, comma-separated arguments of a call starting at `text` (after its
/// opening parenthesis), up to the matching closing one.
fn arguments(text: &str) -> Vec<String> {
    let (mut depth, mut current, mut out) = (0, String::new(), Vec::new());
    for c in text.chars() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' if depth == 0 => break,
            ')' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_owned());
    out
}

/// Every literal field name a script passes to a hash command (`HSET` names every
/// other argument; the others name all of theirs).
pub fn fields_named(source: &str) -> Vec<(String, String)> {
    let mut named = Vec::new();
    for (at, _) in source.match_indices("redis.call('H") {
        let call = &source[at + "redis.call(".len()..];
        let args = arguments(call);
        let command = args[0].trim_matches('\'').to_owned();
        let fields: Vec<&String> = match command.as_str() {
            "HSET" => args[2..].iter().step_by(2).collect(),
            "HINCRBY" | "HGET" | "HEXISTS" | "HSETNX" => args[2..3].iter().collect(),
            "HMGET" | "HDEL" => args[2..].iter().collect(),
            _ => Vec::new(),
        };
        for field in fields {
            if let Some(name) = field.strip_prefix('\'').and_then(|f| f.strip_suffix('\'')) {
                named.push((command.clone(), name.to_owned()));
            }
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lua;

    /// The shared scripts name only declared fields (the gateway's test checks its own
    /// scripts, and that every declared field is named somewhere).
    #[test]
    fn every_field_a_shared_script_names_is_declared() {
        for (script, source) in lua::ALL {
            for (command, name) in fields_named(source) {
                assert!(
                    declared(&name),
                    "{script}.lua: {command} names the field `{name}`, which \
                     shared/src/store/room_fields.rs does not declare"
                );
            }
        }
    }

    #[test]
    fn the_parser_reads_fields_not_values() {
        let named = fields_named(
            "redis.call('HSET', KEYS[1], 'draw_state', 'drawing', 'pre_n', n)\n\
             redis.call('HMGET', KEYS[5], 'capacity',\n  'mode')\n\
             redis.call('HINCRBY', KEYS[5], 'admitted_1m', 1)",
        );
        let names: Vec<&str> = named.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            ["draw_state", "pre_n", "capacity", "mode", "admitted_1m"]
        );
        assert!(!declared("capacty"));
    }
}
