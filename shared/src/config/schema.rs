//! Every key a settings type accepts, read off its `Deserialize` impl: the type is
//! deserialized once from a recorder that answers each struct with all of its fields and
//! each leaf with a placeholder, writing down the dotted path of every leaf it is asked
//! for. Optional keys (no default) are listed too, so a configuration table can be checked
//! against the code in both directions.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// The dotted keys of `T` (`http.addr`, `queue.capacity`, ...), sorted. A map-valued
/// setting is listed once, as `name.*`.
pub fn keys<T: DeserializeOwned>() -> Vec<String> {
    let out = RefCell::new(BTreeSet::new());
    let _ = T::deserialize(Recorder {
        path: String::new(),
        out: &out,
    });
    out.into_inner().into_iter().collect()
}

struct Recorder<'a> {
    path: String,
    out: &'a RefCell<BTreeSet<String>>,
}

impl Recorder<'_> {
    fn leaf(&self) {
        self.out.borrow_mut().insert(self.path.clone());
    }
}

macro_rules! leaf {
    ($($method:ident => $visit:ident($($value:expr)?)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.leaf();
            visitor.$visit($($value)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Recorder<'_> {
    type Error = Error;

    leaf! {
        deserialize_any => visit_u64(1),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(1),
        deserialize_i16 => visit_i64(1),
        deserialize_i32 => visit_i64(1),
        deserialize_i64 => visit_i64(1),
        deserialize_u8 => visit_u64(1),
        deserialize_u16 => visit_u64(1),
        deserialize_u32 => visit_u64(1),
        deserialize_u64 => visit_u64(1),
        deserialize_f32 => visit_f64(1.0),
        deserialize_f64 => visit_f64(1.0),
        deserialize_char => visit_char('x'),
        // A string that also parses as an address, for `SocketAddr` fields.
        deserialize_str => visit_str("127.0.0.1:1"),
        deserialize_string => visit_str("127.0.0.1:1"),
        deserialize_identifier => visit_str("x"),
        deserialize_bytes => visit_bytes(b"x"),
        deserialize_byte_buf => visit_bytes(b"x"),
        deserialize_unit => visit_unit(),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.leaf();
        visitor.visit_seq(
            de::value::SeqDeserializer::<std::vec::IntoIter<u64>, Error>::new(
                Vec::new().into_iter(),
            ),
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.out.borrow_mut().insert(format!("{}.*", self.path));
        visitor.visit_map(de::value::MapDeserializer::<
            std::vec::IntoIter<(String, u64)>,
            Error,
        >::new(Vec::new().into_iter()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(Fields {
            path: self.path,
            fields,
            next: 0,
            out: self.out,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.leaf();
        let first: StrDeserializer<'_, Error> =
            variants.first().copied().unwrap_or("x").into_deserializer();
        visitor.visit_enum(first)
    }
}

struct Fields<'a> {
    path: String,
    fields: &'static [&'static str],
    next: usize,
    out: &'a RefCell<BTreeSet<String>>,
}

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, Error> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let field = self.fields[self.next];
        self.next += 1;
        let path = if self.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.path)
        };
        seed.deserialize(Recorder {
            path,
            out: self.out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        addr: std::net::SocketAddr,
        secret: Option<secrecy::SecretString>,
        mode: Mode,
    }

    #[allow(dead_code)]
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        One,
        Two,
    }

    #[allow(dead_code)]
    #[derive(Deserialize)]
    struct Outer {
        name: String,
        inner: Inner,
        list: Vec<String>,
        rooms: std::collections::HashMap<String, u64>,
        maybe: Option<Inner>,
    }

    #[test]
    fn every_leaf_is_listed_with_its_dotted_path() {
        assert_eq!(
            keys::<Outer>(),
            [
                "inner.addr",
                "inner.mode",
                "inner.secret",
                "list",
                "maybe.addr",
                "maybe.mode",
                "maybe.secret",
                "name",
                "rooms.*",
            ]
        );
    }
}
