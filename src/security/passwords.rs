//! Password hashing with argon2id (19 MiB, 2 passes, 1 lane — OWASP's recommended minimum).
//!
//! Hashing is deliberately slow, so it runs on the blocking pool and at most a few hashes run at
//! once (a burst of logins must not starve the async runtime or exhaust memory). Verifying a
//! login for an e-mail that has no account hashes against a dummy hash of the same cost, so the
//! answer takes as long as for a wrong password.

use std::sync::Arc;

use anyhow::Context as _;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct Passwords {
    dummy_hash: Arc<str>,
    permits: Arc<Semaphore>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

impl Passwords {
    pub async fn new() -> anyhow::Result<Self> {
        let dummy = tokio::task::spawn_blocking(|| hash_blocking("picscripter dummy password"))
            .await
            .context("the hashing task panicked")??;
        let parallel = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            * 2;
        Ok(Self {
            dummy_hash: dummy.into(),
            permits: Arc::new(Semaphore::new(parallel)),
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password semaphore closed")?;
        let password = SecretString::from(password.to_owned());
        tokio::task::spawn_blocking(move || hash_blocking(password.expose_secret()))
            .await
            .context("the hashing task panicked")?
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no account, so
    /// both cases cost the same. Returns `false` for no account.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password semaphore closed")?;
        let exists = hash.is_some();
        let phc = hash
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.to_string());
        let password = SecretString::from(password.to_owned());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.expose_secret().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .context("the verifying task panicked")?;
        Ok(exists && ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_use_argon2id_with_the_chosen_cost_and_verify() {
        let p = Passwords::new().await.unwrap();
        let h = p.hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(p.verify("correct horse battery", Some(&h)).await.unwrap());
        assert!(!p.verify("wrong horse battery", Some(&h)).await.unwrap());
        assert!(!p.verify("picscripter dummy password", None).await.unwrap());
    }
}
