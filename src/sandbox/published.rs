//! What the platforms accepted for publication, behind `GET /_sandbox/published`. Every
//! publishing endpoint writes one [`PublishedRecord`] the moment the platform would have
//! accepted the post (before answering, so a request that then hangs is still counted). The log
//! keeps three indexes so no request has to scan it: by remote id (lookups such as
//! `GET /2/tweets?ids=`), by account (recent posts, for reconciliation), and by content (text
//! and media fingerprints), which is what `GET /_sandbox/published/duplicates` reads to prove
//! that nothing was published twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::media::Facts;
use crate::domain::Platform;

/// One thing a platform accepted for publication (a post, a pin, a video…).
#[derive(Clone, Debug, Serialize)]
pub struct PublishedRecord {
    /// Order of acceptance, from 1; never reused, not even after the log is cleared.
    pub seq: u64,
    /// The `seq` of the request (in `/_sandbox/requests`) that made the platform accept it.
    pub request_seq: u64,
    /// When it was accepted, on the sandbox clock.
    pub at: DateTime<Utc>,
    pub platform: Platform,
    /// The platform's id for the account it was published as (X user id, Instagram user id,
    /// Facebook Page id, LinkedIn author URN, Pinterest user id, TikTok open_id, YouTube channel
    /// id).
    pub account_id: String,
    /// The login or username behind it.
    pub account: String,
    /// What kind of thing it is in the platform's words (`tweet`, `reel`, `pin`…).
    pub kind: String,
    /// The id the platform answered with (or, where the answer carries no post id, the id the
    /// post gets).
    pub remote_id: String,
    pub url: Option<String>,
    /// The text people see (caption, commentary, title and description…).
    pub text: String,
    pub media: Vec<PublishedMedia>,
    /// Everything else the request chose: board, privacy, link, schedule, ids of intermediate
    /// objects (container, publish id…).
    pub options: Value,
}

/// A piece of media as the platform received it: where from, and a fingerprint of the bytes.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PublishedMedia {
    /// Where the platform pulled it from, for media given by URL.
    pub url: Option<String>,
    /// The platform's id for the uploaded media (X media id, LinkedIn image URN, Facebook photo
    /// id…), when it has one.
    pub id: Option<String>,
    pub sha256: String,
    pub size: u64,
    pub mime: &'static str,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl PublishedMedia {
    pub(crate) fn new(facts: &Facts, url: Option<&str>, id: Option<&str>) -> Self {
        Self {
            url: url.map(str::to_owned),
            id: id.map(str::to_owned),
            sha256: facts.sha256.clone(),
            size: facts.size,
            mime: facts.format.mime(),
            width: facts.width,
            height: facts.height,
        }
    }
}

/// What a publishing handler knows when the platform accepts something; the log numbers it.
pub(crate) struct Accepted {
    pub request_seq: u64,
    pub at: DateTime<Utc>,
    pub platform: Platform,
    pub account_id: String,
    pub account: String,
    pub kind: &'static str,
    pub remote_id: String,
    pub url: Option<String>,
    pub text: String,
    pub media: Vec<PublishedMedia>,
    pub options: Map<String, Value>,
}

/// Two publications are the same content when the account, the text and the bytes of every
/// piece of media are the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ContentKey {
    platform: Platform,
    account_id: String,
    text: String,
    media: Vec<String>,
}

#[derive(Default)]
pub(crate) struct PublishedLog {
    next_seq: u64,
    records: Vec<PublishedRecord>,
    by_remote: HashMap<(Platform, String), usize>,
    by_account: HashMap<(Platform, String), Vec<usize>>,
    by_content: HashMap<ContentKey, Vec<usize>>,
}

impl PublishedLog {
    pub fn record(&mut self, a: Accepted) -> PublishedRecord {
        self.next_seq += 1;
        let record = PublishedRecord {
            seq: self.next_seq,
            request_seq: a.request_seq,
            at: a.at,
            platform: a.platform,
            account_id: a.account_id,
            account: a.account,
            kind: a.kind.to_owned(),
            remote_id: a.remote_id,
            url: a.url,
            text: a.text,
            media: a.media,
            options: Value::Object(a.options),
        };
        self.push(record.clone());
        record
    }

    /// Adds a record as it is (used by tests that need a record without a platform request).
    pub fn push(&mut self, record: PublishedRecord) {
        let index = self.records.len();
        self.next_seq = self.next_seq.max(record.seq);
        self.by_remote
            .insert((record.platform, record.remote_id.clone()), index);
        self.by_account
            .entry((record.platform, record.account_id.clone()))
            .or_default()
            .push(index);
        self.by_content
            .entry(content_key(&record))
            .or_default()
            .push(index);
        self.records.push(record);
    }

    pub fn list(&self, filter: &Filter) -> Vec<PublishedRecord> {
        let matches = |r: &&PublishedRecord| {
            filter.platform.is_none_or(|p| r.platform == p)
                && filter
                    .account_id
                    .as_deref()
                    .is_none_or(|a| r.account_id == a)
        };
        match (filter.platform, filter.account_id.as_deref()) {
            (Some(p), Some(a)) => self
                .by_account
                .get(&(p, a.to_owned()))
                .map(|ixs| ixs.iter().map(|&i| self.records[i].clone()).collect())
                .unwrap_or_default(),
            _ => self.records.iter().filter(matches).cloned().collect(),
        }
    }

    pub fn find(&self, platform: Platform, remote_id: &str) -> Option<&PublishedRecord> {
        self.by_remote
            .get(&(platform, remote_id.to_owned()))
            .map(|&i| &self.records[i])
    }

    /// The account's publications, newest first.
    pub fn recent(
        &self,
        platform: Platform,
        account_id: &str,
    ) -> impl Iterator<Item = &PublishedRecord> {
        self.by_account
            .get(&(platform, account_id.to_owned()))
            .into_iter()
            .flat_map(|ixs| ixs.iter().rev())
            .map(|&i| &self.records[i])
    }

    /// Every content published more than once by the same account, in order of first
    /// publication.
    pub fn duplicates(&self, platform: Option<Platform>) -> Vec<Duplicate> {
        let mut groups: Vec<&Vec<usize>> = self
            .by_content
            .iter()
            .filter(|(key, ixs)| ixs.len() > 1 && platform.is_none_or(|p| key.platform == p))
            .map(|(_, ixs)| ixs)
            .collect();
        groups.sort_by_key(|ixs| ixs[0]);
        groups
            .into_iter()
            .map(|ixs| {
                let first = &self.records[ixs[0]];
                Duplicate {
                    platform: first.platform,
                    account_id: first.account_id.clone(),
                    account: first.account.clone(),
                    text: first.text.clone(),
                    media_sha256: first.media.iter().map(|m| m.sha256.clone()).collect(),
                    count: ixs.len(),
                    records: ixs
                        .iter()
                        .map(|&i| {
                            let r = &self.records[i];
                            DuplicateRecord {
                                seq: r.seq,
                                request_seq: r.request_seq,
                                at: r.at,
                                kind: r.kind.clone(),
                                remote_id: r.remote_id.clone(),
                                url: r.url.clone(),
                            }
                        })
                        .collect(),
                }
            })
            .collect()
    }

    pub fn clear(&mut self) {
        self.records.clear();
        self.by_remote.clear();
        self.by_account.clear();
        self.by_content.clear();
    }
}

fn content_key(r: &PublishedRecord) -> ContentKey {
    ContentKey {
        platform: r.platform,
        account_id: r.account_id.clone(),
        text: r.text.clone(),
        media: r.media.iter().map(|m| m.sha256.clone()).collect(),
    }
}

/// Which records `GET /_sandbox/published` lists.
#[derive(Default)]
pub(crate) struct Filter {
    pub platform: Option<Platform>,
    pub account_id: Option<String>,
}

/// The same content published more than once by one account.
#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub platform: Platform,
    pub account_id: String,
    pub account: String,
    pub text: String,
    pub media_sha256: Vec<String>,
    pub count: usize,
    pub records: Vec<DuplicateRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DuplicateRecord {
    pub seq: u64,
    pub request_seq: u64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub remote_id: String,
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(account: &str, text: &str, remote: &str) -> Accepted {
        Accepted {
            request_seq: 1,
            at: Utc::now(),
            platform: Platform::X,
            account_id: account.into(),
            account: account.into(),
            kind: "tweet",
            remote_id: remote.into(),
            url: None,
            text: text.into(),
            media: Vec::new(),
            options: Map::new(),
        }
    }

    #[test]
    fn the_same_text_from_the_same_account_twice_is_one_duplicate_group() {
        let mut log = PublishedLog::default();
        log.record(accepted("a", "hello", "1"));
        log.record(accepted("b", "hello", "2"));
        log.record(accepted("a", "other", "3"));
        assert!(log.duplicates(None).is_empty());
        log.record(accepted("a", "hello", "4"));
        let dups = log.duplicates(None);
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].count, 2);
        assert_eq!(dups[0].records[1].remote_id, "4");
        assert!(log.duplicates(Some(Platform::Pinterest)).is_empty());
    }

    #[test]
    fn records_are_found_by_remote_id_and_listed_newest_first_per_account() {
        let mut log = PublishedLog::default();
        log.record(accepted("a", "one", "1"));
        log.record(accepted("a", "two", "2"));
        assert_eq!(log.find(Platform::X, "2").map(|r| r.seq), Some(2));
        let texts: Vec<_> = log
            .recent(Platform::X, "a")
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(texts, ["two", "one"]);
        log.clear();
        assert_eq!(log.record(accepted("a", "three", "3")).seq, 3);
    }
}
