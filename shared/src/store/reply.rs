//! Script replies decoded by name. Every script returns a flat list of name/value pairs
//! (`{'status', 'waiting', 'seq', 12, ...}`); [`Reply`] reads fields by name, so adding a
//! field to a script never shifts the others, and a missing or mistyped field is an
//! [`StoreError::UnexpectedReply`] that names the script and the field.

use redis::{FromRedisValue, ParsingError, Value};

use super::StoreError;

/// A script's reply: name/value pairs in the order the script listed them.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    fields: Vec<(String, Value)>,
}

impl FromRedisValue for Reply {
    fn from_redis_value(v: Value) -> Result<Self, ParsingError> {
        let Value::Array(items) = v else {
            return Err(format!("a script reply must be a list of name/value pairs: {v:?}").into());
        };
        if items.len() % 2 != 0 {
            return Err("a script reply must have an even number of items".into());
        }
        let mut fields = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(name), Some(value)) = (items.next(), items.next()) {
            let name = match name {
                Value::BulkString(b) => String::from_utf8(b)?,
                Value::SimpleString(s) => s,
                other => return Err(format!("field name {other:?}").into()),
            };
            fields.push((name, value));
        }
        Ok(Reply { fields })
    }
}

impl Reply {
    fn get(&self, script: &str, name: &str) -> Result<&Value, StoreError> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| StoreError::UnexpectedReply(format!("{script}: no field `{name}`")))
    }

    fn wrong(script: &str, name: &str, value: &Value) -> StoreError {
        StoreError::UnexpectedReply(format!("{script}: field `{name}` is {value:?}"))
    }

    /// An integer field.
    pub fn int(&self, script: &str, name: &str) -> Result<i64, StoreError> {
        match self.get(script, name)? {
            Value::Int(v) => Ok(*v),
            Value::BulkString(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Self::wrong(script, name, &Value::BulkString(b.clone()))),
            other => Err(Self::wrong(script, name, other)),
        }
    }

    /// A count: an integer field, negative values read as 0.
    pub fn count(&self, script: &str, name: &str) -> Result<u64, StoreError> {
        Ok(self.int(script, name)?.max(0) as u64)
    }

    /// A 0/1 field.
    pub fn flag(&self, script: &str, name: &str) -> Result<bool, StoreError> {
        Ok(self.int(script, name)? != 0)
    }

    /// A list of strings (an empty Lua table arrives as an empty list).
    pub fn texts(&self, script: &str, name: &str) -> Result<Vec<String>, StoreError> {
        match self.get(script, name)? {
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::BulkString(b) => Ok(String::from_utf8_lossy(b).into_owned()),
                    Value::SimpleString(s) => Ok(s.clone()),
                    other => Err(Self::wrong(script, name, other)),
                })
                .collect(),
            other => Err(Self::wrong(script, name, other)),
        }
    }

    /// A string field (an integer reads as its decimal form).
    pub fn text(&self, script: &str, name: &str) -> Result<String, StoreError> {
        match self.get(script, name)? {
            Value::BulkString(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            Value::SimpleString(s) => Ok(s.clone()),
            Value::Int(v) => Ok(v.to_string()),
            other => Err(Self::wrong(script, name, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn fields_are_read_by_name_whatever_their_order() {
        let reply = Reply::from_redis_value(Value::Array(vec![
            bulk("seq"),
            Value::Int(12),
            bulk("status"),
            bulk("waiting"),
            bulk("rank"),
            Value::Int(-1),
        ]))
        .unwrap();
        assert_eq!(reply.int("t", "seq").unwrap(), 12);
        assert_eq!(reply.text("t", "status").unwrap(), "waiting");
        assert_eq!(reply.count("t", "rank").unwrap(), 0);
        let missing = reply.int("join", "expires_at_ms").unwrap_err().to_string();
        assert!(
            missing.contains("join") && missing.contains("expires_at_ms"),
            "{missing}"
        );
        assert!(reply.int("t", "status").is_err());
    }

    #[test]
    fn odd_or_flat_replies_are_refused() {
        assert!(Reply::from_redis_value(Value::Array(vec![bulk("a")])).is_err());
        assert!(Reply::from_redis_value(Value::Int(1)).is_err());
    }
}
