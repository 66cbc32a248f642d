//! Property tests of request parsing: the join, hold, payment and charge bodies, parsed with
//! the very contract types the handlers use (`deny_unknown_fields`), never panic on any input and
//! accept exactly the valid shapes — an object with the right keys, each of the right JSON
//! type and range, and nothing else.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use shared::contract::payments::PaymentRequest;
use shared::contract::points::ChargeRequest;
use shared::contract::queue::JoinRequest;
use shared::contract::reservations::HoldRequest;

/// Any JSON value, numbers included at the edges of i64 / u64 / f64.
fn json_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number.prop_map(Value::Number),
        "[a-z0-9-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys: mostly the real field names, sometimes others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("concert_id".to_string()),
        Just("user_id".to_string()),
        Just("schedule_id".to_string()),
        Just("seat_no".to_string()),
        Just("amount".to_string()),
        Just("reservation_ids".to_string()),
        Just("seat_nos".to_string()),
        Just("best_available".to_string()),
        Just("order_id".to_string()),
        Just("count".to_string()),
        "[a-z_]{1,10}",
    ]
}

/// An object whose keys are the given fields (each present or not) plus maybe extras.
fn object_over(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(prop::option::of(json_value_or_int()), fields.len()),
        prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..2),
    )
        .prop_map(move |(values, extra)| {
            let mut map = Map::new();
            for (field, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    map.insert((*field).to_string(), value);
                }
            }
            for (k, v) in extra {
                map.entry(k).or_insert(v);
            }
            Value::Object(map)
        })
}

fn json_value_or_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => any::<i64>().prop_map(Value::from),
        1 => json_value(),
        1 => prop::collection::vec(uuid_value(), 0..3).prop_map(Value::Array),
        1 => prop::collection::vec(any::<i64>().prop_map(Value::from), 0..3).prop_map(Value::Array),
        1 => uuid_value(),
        1 => (any::<i64>(), prop::option::of("[A-Z]{1,3}"))
            .prop_map(|(count, grade)| serde_json::json!({"count": count, "grade": grade})),
    ]
}

fn uuid_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u128>().prop_map(|n| Value::String(uuid::Uuid::from_u128(n).to_string())),
        "[a-f0-9-]{0,36}".prop_map(Value::String),
    ]
}

fn is_i64(v: Option<&Value>) -> bool {
    v.is_some_and(|v| v.as_i64().is_some())
}

/// Exactly these keys, no others.
fn has_exactly(value: &Value, fields: &[&str]) -> bool {
    value
        .as_object()
        .is_some_and(|m| m.len() == fields.len() && fields.iter().all(|f| m.contains_key(*f)))
}

/// `user_id` may be absent or null (taken from a verified identity).
fn valid_join(v: &Value) -> bool {
    let user_ok = match v.get("user_id") {
        None | Some(Value::Null) => true,
        some => is_i64(some),
    };
    let fields = if v.get("user_id").is_some() {
        &["concert_id", "user_id"][..]
    } else {
        &["concert_id"][..]
    };
    has_exactly(v, fields) && is_i64(v.get("concert_id")) && user_ok
}

/// Absent or null, or a value `ok` accepts.
fn optional(m: &Map<String, Value>, key: &str, ok: impl Fn(&Value) -> bool) -> bool {
    match m.get(key) {
        None | Some(Value::Null) => true,
        Some(v) => ok(v),
    }
}

/// Only these keys (each maybe absent).
fn keys_within(m: &Map<String, Value>, fields: &[&str]) -> bool {
    m.keys().all(|k| fields.contains(&k.as_str()))
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// An integer `schedule_id`; optional `seat_no` (an integer), `seat_nos` (integers),
/// `best_available` (an integer `count`, optional string `grade` and `section`). Which of
/// the three forms is given is the handler's check (400), not the parser's.
fn valid_hold(v: &Value) -> bool {
    let Some(m) = v.as_object() else {
        return false;
    };
    let text_or_null = |v: &Value| v.is_null() || v.is_string();
    let best = |b: &Value| match b {
        Value::Object(b) => {
            keys_within(b, &["count", "grade", "section"])
                && is_i64(b.get("count"))
                && optional(b, "grade", Value::is_string)
                && optional(b, "section", Value::is_string)
        }
        // serde reads a nested struct from a positional array too (count, grade, section).
        Value::Array(items) => {
            (1..=3).contains(&items.len())
                && items[0].as_i64().is_some()
                && items[1..].iter().all(text_or_null)
        }
        _ => false,
    };
    keys_within(m, &["schedule_id", "seat_no", "seat_nos", "best_available"])
        && is_i64(m.get("schedule_id"))
        && optional(m, "seat_no", |n| n.as_i64().is_some())
        && optional(m, "seat_nos", |a| {
            a.as_array()
                .is_some_and(|a| a.iter().all(|n| n.as_i64().is_some()))
        })
        && optional(m, "best_available", best)
}

/// Optional `reservation_ids` (UUID strings) and `order_id` (a UUID string); which one is
/// given is the handler's check.
fn valid_payment(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        keys_within(m, &["reservation_ids", "order_id"])
            && optional(m, "reservation_ids", |ids| {
                ids.as_array().is_some_and(|ids| ids.iter().all(is_uuid))
            })
            && optional(m, "order_id", is_uuid)
    })
}

fn valid_charge(v: &Value) -> bool {
    has_exactly(v, &["amount"]) && v["amount"].is_number()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn join_body_parses_exactly_the_valid_shapes(v in object_over(&["concert_id", "user_id"])) {
        let parsed = serde_json::from_value::<JoinRequest>(v.clone());
        prop_assert_eq!(parsed.is_ok(), valid_join(&v), "{}", v);
        if let Ok(join) = parsed {
            prop_assert_eq!((Some(join.concert_id), join.user_id), (v["concert_id"].as_i64(), v["user_id"].as_i64()));
        }
    }

    #[test]
    fn hold_body_parses_exactly_the_valid_shapes(v in object_over(&["schedule_id", "seat_no", "seat_nos", "best_available"])) {
        let parsed = serde_json::from_value::<HoldRequest>(v.clone());
        prop_assert_eq!(parsed.is_ok(), valid_hold(&v), "{}", v);
    }

    #[test]
    fn payment_body_parses_exactly_the_valid_shapes(v in object_over(&["reservation_ids", "order_id"])) {
        let parsed = serde_json::from_value::<PaymentRequest>(v.clone());
        prop_assert_eq!(parsed.is_ok(), valid_payment(&v), "{}", v);
    }

    #[test]
    fn charge_body_parses_exactly_the_valid_shapes(v in object_over(&["amount"])) {
        let parsed = serde_json::from_value::<ChargeRequest>(v.clone());
        prop_assert_eq!(parsed.is_ok(), valid_charge(&v), "{}", v);
    }

    #[test]
    fn any_json_value_never_panics_any_parser(v in json_value()) {
        // serde's derived structs also accept a positional array (`[1, 42]` for
        // `{"concert_id": 1, "user_id": 42}`); such an array is accepted exactly when the
        // equivalent object is, so it is the same request in another spelling.
        // (A shorter array names the first fields: serde fills the rest with their
        // defaults when they have one, as `user_id` does.)
        let named = |fields: &[&str]| match &v {
            Value::Array(items) if items.len() <= fields.len() => Value::Object(
                fields.iter().map(|f| f.to_string()).zip(items.iter().cloned()).collect(),
            ),
            other => other.clone(),
        };
        let join = named(&["concert_id", "user_id"]);
        prop_assert_eq!(serde_json::from_value::<JoinRequest>(v.clone()).is_ok(), valid_join(&join));
        let hold = named(&["schedule_id", "seat_no", "seat_nos", "best_available"]);
        prop_assert_eq!(serde_json::from_value::<HoldRequest>(v.clone()).is_ok(), valid_hold(&hold));
        let pay = named(&["reservation_ids", "order_id"]);
        prop_assert_eq!(serde_json::from_value::<PaymentRequest>(v.clone()).is_ok(), valid_payment(&pay));
        let charge = named(&["amount"]);
        prop_assert_eq!(serde_json::from_value::<ChargeRequest>(v.clone()).is_ok(), valid_charge(&charge));
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<JoinRequest>(&bytes);
        let _ = serde_json::from_slice::<HoldRequest>(&bytes);
        let _ = serde_json::from_slice::<PaymentRequest>(&bytes);
        let _ = serde_json::from_slice::<ChargeRequest>(&bytes);
    }

    #[test]
    fn numbers_past_i64_are_refused(big in (i64::MAX as u64 + 1)..=u64::MAX) {
        let body = format!(r#"{{"concert_id": {big}, "user_id": 1}}"#);
        prop_assert!(serde_json::from_str::<JoinRequest>(&body).is_err());
        let body = format!(r#"{{"schedule_id": 1, "seat_no": {big}0}}"#);
        prop_assert!(serde_json::from_str::<HoldRequest>(&body).is_err());
    }
}
