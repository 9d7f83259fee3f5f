//! Account inputs: e-mail addresses and new passwords, parsed with messages a person understands.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use validator::ValidateEmail;

/// A syntactically valid e-mail address, trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("Enter your e-mail address.".into());
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "That e-mail address is too long. It can have at most {} characters.",
                Self::MAX_LEN
            ));
        }
        if !trimmed.validate_email() {
            return Err(
                "That doesn't look like an e-mail address. Check it, for example name@example.com."
                    .into(),
            );
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password someone wants to start using, checked against our policy.
///
/// Long passphrases are encouraged (NIST SP 800-63B): at least 10 characters, at most 128, and
/// not one of the passwords attackers try first.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, String> {
        let len = raw.chars().count();
        if len == 0 {
            return Err("Choose a password.".into());
        }
        if len < Self::MIN_LEN {
            return Err(format!(
                "Use at least {} characters. A short sentence you'll remember works well.",
                Self::MIN_LEN
            ));
        }
        if len > Self::MAX_LEN {
            return Err(format!(
                "That password is too long. Use at most {} characters.",
                Self::MAX_LEN
            ));
        }
        let lowered = raw.to_lowercase();
        let first = lowered.chars().next();
        if lowered.chars().all(|c| Some(c) == first) || COMMON.contains(&lowered.as_str()) {
            return Err("That password is too easy to guess. Choose something less common.".into());
        }
        if let Some(email) = email {
            let local = email.as_str().split('@').next().unwrap_or_default();
            if lowered == email.as_str() || (local.len() >= 4 && lowered.contains(local)) {
                return Err("Don't use your e-mail address in your password.".into());
            }
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([REDACTED])")
    }
}

/// Passwords of ten or more characters that top the breach lists.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "0987654321",
    "123456789a",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "qwerty1234",
    "qwerty12345",
    "qwerty123456",
    "asdfghjkl;",
    "password12",
    "password123",
    "password1234",
    "password!!",
    "passw0rd123",
    "iloveyou123",
    "letmein123",
    "welcome123",
    "administrator",
    "admin12345",
    "changeme123",
    "football123",
    "baseball123",
    "sunshine123",
    "princess123",
    "superman123",
    "trustno1234",
    "picscripter",
    "picscripter1",
    "picscripter123",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused_with_a_reason() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@@example.com",
            "a n@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).unwrap_err().contains("too long"));
    }

    #[test]
    fn weak_passwords_are_refused() {
        let email = Email::parse("marta.lopez@example.com").unwrap();
        assert!(
            NewPassword::parse("short", None)
                .unwrap_err()
                .contains("at least 10")
        );
        assert!(
            NewPassword::parse("aaaaaaaaaaaa", None)
                .unwrap_err()
                .contains("easy to guess")
        );
        assert!(
            NewPassword::parse("Password123", None)
                .unwrap_err()
                .contains("easy to guess")
        );
        assert!(NewPassword::parse("marta.lopez-rocks", Some(&email)).is_err());
        assert!(
            NewPassword::parse(&"x1".repeat(65), None)
                .unwrap_err()
                .contains("too long")
        );
        assert!(NewPassword::parse("correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = NewPassword::parse("correct horse battery", None).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
