//! Encryption of platform tokens at rest: AES-256-GCM with a versioned key ring.
//!
//! A ciphertext is `[format 0x01][key version, u32 big-endian][12-byte nonce][ciphertext + tag]`,
//! so it names the key that sealed it and `rotate-keys` can move it to the current key. The
//! associated data binds it to its place — `connections:{row id}:{field}` — so a token copied
//! to another row or field does not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};

use crate::config::KeyRing;

const FORMAT: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("the ciphertext is malformed")]
    Malformed,
    #[error("the ciphertext needs key {0}, which is not in ENCRYPTION_KEYS_JSON")]
    UnknownKey(u32),
    #[error("the ciphertext does not decrypt with its key and place")]
    Undecryptable,
}

#[derive(Clone)]
pub struct TokenCipher {
    ring: KeyRing,
}

impl TokenCipher {
    pub fn new(ring: KeyRing) -> Self {
        Self { ring }
    }

    pub fn current_version(&self) -> u32 {
        self.ring.current
    }

    /// Seals `plaintext` under the current key, bound to `aad`.
    pub fn encrypt(&self, plaintext: &SecretString, aad: &str) -> Vec<u8> {
        let version = self.ring.current;
        let key = self
            .ring
            .keys
            .get(&version)
            .expect("the current key is in the ring (checked by Config)");
        let cipher = Aes256Gcm::new_from_slice(key.expose_secret()).expect("keys are 32 bytes");
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short token cannot fail");
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The key version a ciphertext was sealed with.
    pub fn version_of(ciphertext: &[u8]) -> Result<u32, CipherError> {
        if ciphertext.len() < HEADER + 16 || ciphertext[0] != FORMAT {
            return Err(CipherError::Malformed);
        }
        Ok(u32::from_be_bytes(
            ciphertext[1..5].try_into().expect("4 bytes"),
        ))
    }

    pub fn decrypt(&self, ciphertext: &[u8], aad: &str) -> Result<SecretString, CipherError> {
        let version = Self::version_of(ciphertext)?;
        let key = self
            .ring
            .keys
            .get(&version)
            .ok_or(CipherError::UnknownKey(version))?;
        let cipher = Aes256Gcm::new_from_slice(key.expose_secret()).expect("keys are 32 bytes");
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&ciphertext[5..HEADER]),
                Payload {
                    msg: &ciphertext[HEADER..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CipherError::Undecryptable)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CipherError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use secrecy::SecretBox;

    use super::*;

    fn ring(keys: &[(u32, u8)], current: u32) -> KeyRing {
        let keys: BTreeMap<_, _> = keys
            .iter()
            .map(|(v, b)| (*v, Arc::new(SecretBox::new(Box::new([*b; 32])))))
            .collect();
        KeyRing { keys, current }
    }

    #[test]
    fn a_token_round_trips_and_names_its_key() {
        let c = TokenCipher::new(ring(&[(1, 7)], 1));
        let sealed = c.encrypt(&"secret-token".into(), "connections:a:access");
        assert_eq!(TokenCipher::version_of(&sealed), Ok(1));
        assert!(!sealed.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(
            c.decrypt(&sealed, "connections:a:access")
                .unwrap()
                .expose_secret(),
            "secret-token"
        );
    }

    #[test]
    fn a_token_moved_to_another_row_or_field_does_not_decrypt() {
        let c = TokenCipher::new(ring(&[(1, 7)], 1));
        let sealed = c.encrypt(&"secret-token".into(), "connections:a:access");
        assert_eq!(
            c.decrypt(&sealed, "connections:b:access").unwrap_err(),
            CipherError::Undecryptable
        );
        assert_eq!(
            c.decrypt(&sealed, "connections:a:refresh").unwrap_err(),
            CipherError::Undecryptable
        );
    }

    #[test]
    fn old_keys_still_decrypt_after_the_current_key_changes() {
        let old = TokenCipher::new(ring(&[(1, 7)], 1));
        let sealed = old.encrypt(&"t".into(), "x");
        let new = TokenCipher::new(ring(&[(1, 7), (2, 9)], 2));
        assert_eq!(new.decrypt(&sealed, "x").unwrap().expose_secret(), "t");
        assert_eq!(
            TokenCipher::version_of(&new.encrypt(&"t".into(), "x")),
            Ok(2)
        );
        let without_old = TokenCipher::new(ring(&[(2, 9)], 2));
        assert_eq!(
            without_old.decrypt(&sealed, "x").unwrap_err(),
            CipherError::UnknownKey(1)
        );
    }

    #[test]
    fn tampering_is_detected() {
        let c = TokenCipher::new(ring(&[(1, 7)], 1));
        let mut sealed = c.encrypt(&"secret-token".into(), "x");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            c.decrypt(&sealed, "x").unwrap_err(),
            CipherError::Undecryptable
        );
        assert_eq!(
            c.decrypt(&[1, 2, 3], "x").unwrap_err(),
            CipherError::Malformed
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn whatever_is_sealed_opens_again_in_its_place(
                token in "\\PC{0,200}",
                place in "[a-z0-9:-]{0,40}",
            ) {
                let c = TokenCipher::new(ring(&[(1, 7), (2, 9)], 2));
                let sealed = c.encrypt(&token.clone().into(), &place);
                let opened = c.decrypt(&sealed, &place).unwrap();
                prop_assert_eq!(opened.expose_secret(), token.as_str());
            }

            #[test]
            fn any_flipped_bit_is_refused(
                token in "\\PC{0,64}",
                at in any::<prop::sample::Index>(),
                bit in 0u8..8,
            ) {
                let c = TokenCipher::new(ring(&[(1, 7)], 1));
                let mut sealed = c.encrypt(&token.into(), "connections:a:access");
                let i = at.index(sealed.len());
                sealed[i] ^= 1 << bit;
                prop_assert!(c.decrypt(&sealed, "connections:a:access").is_err());
            }

            #[test]
            fn sealing_the_same_token_twice_uses_two_nonces(token in "\\PC{0,64}") {
                let c = TokenCipher::new(ring(&[(1, 7)], 1));
                let a = c.encrypt(&token.clone().into(), "x");
                let b = c.encrypt(&token.into(), "x");
                prop_assert_ne!(&a[5..HEADER], &b[5..HEADER]);
                prop_assert_ne!(a, b);
            }
        }
    }
}
