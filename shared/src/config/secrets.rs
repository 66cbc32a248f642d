//! The production guard on secrets. With `profile = "prod"` a service refuses to start
//! with any secret that is a development default, that looks like a placeholder (contains,
//! in any case, `change-me`, `changeme`, `changeit`, `placeholder` or `example`), that is too
//! short (32 bytes for signing and internal secrets, 24 for operator tokens), or that is the
//! same value as a secret of another role in the same process (the admin token equal to
//! the JWT secret, say). Each refusal names the key and says why.

use super::{dev, SettingsError};

/// What a secret is for; secrets of different roles must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Signs and verifies queue tokens (current and previous key).
    QueueJwt,
    /// The operator bearer token.
    Admin,
    /// Verifies the site's user tokens.
    Identity,
    /// Proves to booking that a call comes from a gateway.
    Internal,
    /// Signs tickets' codes (booking; base64 of a 32-byte Ed25519 seed).
    TicketSigning,
    /// The doors' check-in token.
    Door,
}

impl Role {
    fn min_bytes(self) -> usize {
        match self {
            Role::Admin | Role::Door => 24,
            _ => 32,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Role::QueueJwt => "queue-token key",
            Role::Admin => "admin token",
            Role::Identity => "identity secret",
            Role::Internal => "internal token",
            Role::TicketSigning => "ticket-signing key",
            Role::Door => "door token",
        }
    }
}

/// One configured secret: its settings key (as an environment variable), role and value.
#[derive(Debug, Clone, Copy)]
pub struct Secret<'a> {
    pub key: &'static str,
    pub role: Role,
    pub value: &'a str,
}

impl<'a> Secret<'a> {
    /// The secret of an optional setting (none while it is unset).
    pub fn optional(
        key: &'static str,
        role: Role,
        value: &'a Option<secrecy::SecretString>,
    ) -> Option<Self> {
        use secrecy::ExposeSecret;
        value.as_ref().map(|value| Secret {
            key,
            role,
            value: value.expose_secret(),
        })
    }
}

const PLACEHOLDERS: &[&str] = &[
    "change-me",
    "changeme",
    "changeit",
    "placeholder",
    "example",
];

/// Refuses the first secret that breaks a rule (see the module docs).
pub fn check_prod_secrets(secrets: &[Secret<'_>]) -> Result<(), SettingsError> {
    let refuse = |why: String| Err(SettingsError::InsecureProd(why));
    for s in secrets {
        if [dev::JWT_SECRET, dev::ADMIN_TOKEN, dev::TICKET_SIGNING_KEY].contains(&s.value) {
            return refuse(format!("{} is the development default", s.key));
        }
        let lower = s.value.to_lowercase();
        if let Some(word) = PLACEHOLDERS.iter().find(|w| lower.contains(*w)) {
            return refuse(format!(
                "{} contains `{word}`: a placeholder, not a secret",
                s.key
            ));
        }
        if s.value.len() < s.role.min_bytes() {
            return refuse(format!(
                "{} is {} bytes; a {} needs at least {}",
                s.key,
                s.value.len(),
                s.role.name(),
                s.role.min_bytes()
            ));
        }
    }
    for (i, a) in secrets.iter().enumerate() {
        for b in &secrets[i + 1..] {
            if a.role != b.role && a.value == b.value {
                return refuse(format!(
                    "{} and {} are the same value: the {} must not also be the {}",
                    a.key,
                    b.key,
                    a.role.name(),
                    b.role.name()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "k3Vq9z-7Rr2mW0pXy4Lb8sN1dFh6Tc5J";
    const STRONG_ADMIN: &str = "op-Qw8eR4tY2uI6oP0aS9dF3g";

    fn refusal(secrets: &[Secret<'_>]) -> String {
        match check_prod_secrets(secrets) {
            Err(SettingsError::InsecureProd(why)) => why,
            other => panic!("accepted: {other:?}"),
        }
    }

    fn jwt(value: &str) -> Secret<'_> {
        Secret {
            key: "GATEWAY__JWT__SECRET",
            role: Role::QueueJwt,
            value,
        }
    }

    fn admin(value: &str) -> Secret<'_> {
        Secret {
            key: "GATEWAY__ADMIN__TOKEN",
            role: Role::Admin,
            value,
        }
    }

    #[test]
    fn strong_distinct_secrets_pass() {
        assert!(check_prod_secrets(&[jwt(STRONG), admin(STRONG_ADMIN)]).is_ok());
    }

    #[test]
    fn each_rule_names_the_key_and_the_reason() {
        let why = refusal(&[jwt(dev::JWT_SECRET)]);
        assert!(why.contains("GATEWAY__JWT__SECRET") && why.contains("development default"));
        for placeholder in [
            "CHANGE-ME-jwt-secret-at-least-32-random-bytes",
            "please-ChangeIt-to-a-value-of-32-bytes-x",
            "an-example-secret-that-is-long-enough-yes",
            "PLACEHOLDER-placeholder-placeholder-000",
        ] {
            let why = refusal(&[jwt(placeholder)]);
            assert!(why.contains("placeholder"), "{placeholder}: {why}");
        }
        let why = refusal(&[jwt("short-but-random-Zq1")]);
        assert!(why.contains("at least 32"), "{why}");
        let why = refusal(&[jwt(STRONG), admin("op-token-of-20-bytes")]);
        assert!(
            why.contains("GATEWAY__ADMIN__TOKEN") && why.contains("at least 24"),
            "{why}"
        );
        let why = refusal(&[jwt(STRONG), admin(STRONG)]);
        assert!(
            why.contains("GATEWAY__JWT__SECRET") && why.contains("GATEWAY__ADMIN__TOKEN"),
            "{why}"
        );
    }

    #[test]
    fn the_same_role_may_repeat_a_value() {
        let previous = Secret {
            key: "GATEWAY__JWT__PREVIOUS_SECRET",
            role: Role::QueueJwt,
            value: STRONG,
        };
        assert!(check_prod_secrets(&[jwt(STRONG), previous]).is_ok());
    }
}
