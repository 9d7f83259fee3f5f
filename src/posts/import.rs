//! Bulk import of posts from a CSV file: parse, preview, confirm.
//!
//! [`parse_import`] is pure (no database, the current time an argument) so it can be fuzzed and
//! property-tested: it reads the file, resolves each row's networks and product against the
//! [`ImportContext`] and parses its time on the seller's clock with the composer's own rules
//! (`ScheduleAt::parse`, DST gaps and overlaps refused). [`preview`] then runs every row through
//! the same checks as the composer and the API (`posts::validate`: ownership, caption limits,
//! media preflight). [`confirm`] does it all again, fetches media given by web address, and
//! writes every post in one transaction, or none.
//!
//! A preview carries a fingerprint of what it showed; confirming with a different one (a
//! connection went away, a time slipped into the past) shows the preview again instead of
//! creating posts the seller didn't see.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QuerySelect as _, TransactionTrait as _,
};
use serde::Serialize;
use uuid::Uuid;

use super::{Draft, Problems, TargetInput, When};
use crate::domain::schedule::{Fold, ScheduleAt, ScheduleError};
use crate::domain::{Platform, TargetOptions, TimeZone};
use crate::entities::products;
use crate::media::store::MediaStore;

/// The largest file we read.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The most posts one file may hold.
pub const MAX_ROWS: usize = 1000;

/// Columns a file must have; `media`, `product` and `fold` are optional, others are ignored
/// (so an export can be imported as it is).
pub const REQUIRED_COLUMNS: [&str; 4] = ["date", "time", "networks", "text"];

/// One of the seller's accounts, as rows may name it.
#[derive(Clone, Debug)]
pub struct ConnectionRef {
    pub id: Uuid,
    pub name: String,
    pub platform: Platform,
}

/// One of the seller's products, as rows may name it.
#[derive(Clone, Debug)]
pub struct ProductRef {
    pub id: Uuid,
    pub title: String,
}

/// What rows are read against: the seller's zone, clock, accounts and products.
#[derive(Clone, Debug)]
pub struct ImportContext {
    pub zone: TimeZone,
    pub now: DateTime<Utc>,
    pub connections: Vec<ConnectionRef>,
    pub products: Vec<ProductRef>,
}

/// A column of the file, for placing an error next to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Date,
    Time,
    Networks,
    Text,
    Media,
    Product,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Date => "date",
            Field::Time => "time",
            Field::Networks => "networks",
            Field::Text => "text",
            Field::Media => "media",
            Field::Product => "product",
        }
    }
}

/// A photo or video for a row: from the library, or fetched from the web on confirm.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MediaRef {
    Library(Uuid),
    Url(String),
}

/// One row of the file: its cells as written, what they mean, and what is wrong with them.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// The file's line the row starts on (the header is line 1).
    pub line: u64,
    pub date: String,
    pub time: String,
    pub fold: String,
    pub networks: String,
    pub text: String,
    pub media: String,
    pub product: String,
    /// `None` when the date or time is wrong.
    pub when: Option<When>,
    pub connections: Vec<Uuid>,
    pub media_refs: Vec<MediaRef>,
    pub product_id: Option<Uuid>,
    pub errors: BTreeMap<Field, String>,
}

impl Row {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    fn error(&mut self, field: Field, message: impl Into<String>) {
        self.errors.entry(field).or_insert_with(|| message.into());
    }

    /// The row as a composer draft (media given by web address left out until fetched).
    pub fn draft(&self, fetched: &HashMap<String, Uuid>) -> Draft {
        Draft {
            body: self.text.clone(),
            media_ids: self
                .media_refs
                .iter()
                .filter_map(|m| match m {
                    MediaRef::Library(id) => Some(*id),
                    MediaRef::Url(u) => fetched.get(u).copied(),
                })
                .collect(),
            targets: Vec::new(),
            when: self.when.unwrap_or(When::Draft(None)),
            product_id: self.product_id,
            template_id: None,
            utm_enabled: true,
        }
    }

    fn has_web_media(&self) -> bool {
        self.media_refs
            .iter()
            .any(|m| matches!(m, MediaRef::Url(_)))
    }
}

/// Why a whole file can't be read. `Display` is the sentence shown next to the file field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("The file is empty. Choose a CSV file with a header row and one post per row.")]
    Empty,
    #[error("The file is larger than 1 MB. Split it into smaller files.")]
    TooLarge,
    #[error("The file has more than {MAX_ROWS} posts. Split it into smaller files.")]
    TooManyRows,
    #[error("The file isn't UTF-8 text. Save it as “CSV UTF-8” and try again.")]
    NotUtf8,
    #[error("The header row lacks the column{} {}. The first row must name the columns: date, time, networks, text, media, product.", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    MissingColumns(Vec<&'static str>),
    #[error("The column “{0}” appears twice in the header row. Keep one.")]
    DuplicateColumn(String),
    #[error("Line {0} can't be read as CSV (check its quotes).")]
    Malformed(u64),
}

/// Reads a CSV file of posts. Whole-file problems are an `Err`; each row's problems are in
/// its `errors`, so a preview can show all of them at once.
pub fn parse_import(csv: &[u8], ctx: &ImportContext) -> Result<Vec<Row>, ImportError> {
    if csv.len() > MAX_BYTES {
        return Err(ImportError::TooLarge);
    }
    let csv = csv.strip_prefix(b"\xef\xbb\xbf").unwrap_or(csv);
    let text = std::str::from_utf8(csv).map_err(|_| ImportError::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| ImportError::Malformed(1))?
        .clone();
    let mut columns: HashMap<String, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().to_lowercase();
        if name.is_empty() {
            continue;
        }
        if columns.insert(name.clone(), i).is_some() {
            return Err(ImportError::DuplicateColumn(name));
        }
    }
    let missing: Vec<&'static str> = REQUIRED_COLUMNS
        .into_iter()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record
            .map_err(|e| ImportError::Malformed(e.position().map_or(0, csv::Position::line)))?;
        let cell = |name: &str| -> String {
            columns
                .get(name)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let mut row = Row {
            line: record.position().map_or(0, csv::Position::line),
            date: cell("date").trim().to_owned(),
            time: cell("time").trim().to_owned(),
            fold: cell("fold").trim().to_owned(),
            networks: cell("networks").trim().to_owned(),
            text: undefuse(&cell("text")).to_owned(),
            media: cell("media").trim().to_owned(),
            product: undefuse(cell("product").trim()).to_owned(),
            ..Row::default()
        };
        read_when(&mut row, ctx);
        read_networks(&mut row, ctx);
        read_media(&mut row);
        read_product(&mut row, ctx);
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(rows)
}

/// Undoes the export's formula defusing (`'=SUM(…)` back to `=SUM(…)`), so an exported file
/// imports as the posts it came from.
fn undefuse(raw: &str) -> &str {
    match raw.strip_prefix('\'') {
        Some(rest)
            if rest
                .trim_start_matches('\'')
                .starts_with(['=', '+', '-', '@']) =>
        {
            rest
        }
        _ => raw,
    }
}

fn read_when(row: &mut Row, ctx: &ImportContext) {
    let fold = match row.fold.as_str() {
        "" => None,
        raw => match raw.parse::<Fold>() {
            Ok(f) => Some(f),
            Err(_) => {
                row.error(
                    Field::Time,
                    "The fold column must be “earlier” or “later” (or empty).",
                );
                return;
            }
        },
    };
    match (row.date.is_empty(), row.time.is_empty()) {
        (true, true) => row.when = Some(When::Draft(None)),
        (false, true) => row.error(
            Field::Time,
            "Enter a time too, or leave both date and time empty to import a draft.",
        ),
        (true, false) => row.error(
            Field::Date,
            "Enter a date too, or leave both date and time empty to import a draft.",
        ),
        (false, false) => match ScheduleAt::parse(&row.date, &row.time, ctx.zone, fold, ctx.now) {
            Ok(at) => row.when = Some(When::At(at.instant())),
            Err(e) => {
                let field = match e {
                    ScheduleError::BadDate
                    | ScheduleError::InThePast { .. }
                    | ScheduleError::TooFarAhead { .. } => Field::Date,
                    ScheduleError::BadTime
                    | ScheduleError::DoesNotExist { .. }
                    | ScheduleError::Ambiguous { .. } => Field::Time,
                };
                let mut message = e.to_string();
                if matches!(e, ScheduleError::Ambiguous { .. }) {
                    message.push_str(" Add a fold column saying “earlier” or “later”.");
                }
                row.error(field, message);
            }
        },
    }
}

/// Matches one name from the networks column to an account: a connection id, an account's
/// name, `Network: account name`, or a network the seller has exactly one account on.
fn resolve_network<'a>(token: &str, ctx: &'a ImportContext) -> Result<&'a ConnectionRef, String> {
    if let Ok(id) = Uuid::parse_str(token) {
        return ctx
            .connections
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("“{token}” isn't one of your connected accounts."));
    }
    let platform_named = |s: &str| {
        Platform::ALL.into_iter().find(|p| {
            p.kind() == crate::domain::PlatformKind::Social
                && (p.as_str().eq_ignore_ascii_case(s) || p.display_name().eq_ignore_ascii_case(s))
        })
    };
    let one = |found: Vec<&'a ConnectionRef>, what: &str| match found.as_slice() {
        [c] => Ok(*c),
        [] => Err(format!(
            "“{token}” doesn't match any of your connected accounts."
        )),
        _ => Err(format!(
            "“{token}” matches {} of your accounts ({}). {what}",
            found.len(),
            found
                .iter()
                .map(|c| format!("{}: {}", c.platform.display_name(), c.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    if let Some((network, name)) = token.split_once(':')
        && let Some(platform) = platform_named(network.trim())
    {
        let name = name.trim();
        return one(
            ctx.connections
                .iter()
                .filter(|c| c.platform == platform && c.name.trim().eq_ignore_ascii_case(name))
                .collect(),
            "Use the account's id instead.",
        );
    }
    let by_name: Vec<&ConnectionRef> = ctx
        .connections
        .iter()
        .filter(|c| c.name.trim().eq_ignore_ascii_case(token))
        .collect();
    if !by_name.is_empty() {
        return one(by_name, "Write it as “Network: account name”.");
    }
    if let Some(platform) = platform_named(token) {
        let on_platform: Vec<&ConnectionRef> = ctx
            .connections
            .iter()
            .filter(|c| c.platform == platform)
            .collect();
        if on_platform.is_empty() {
            return Err(format!(
                "You have no {} account connected.",
                platform.display_name()
            ));
        }
        return one(on_platform, "Name the account instead.");
    }
    one(Vec::new(), "")
}

fn read_networks(row: &mut Row, ctx: &ImportContext) {
    let tokens: Vec<String> = row
        .networks
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        if matches!(row.when, Some(When::At(_))) {
            row.error(
                Field::Networks,
                "Name at least one account to post to (for example “Instagram”).",
            );
        }
        return;
    }
    let mut problems = Vec::new();
    for token in &tokens {
        match resolve_network(token, ctx) {
            Ok(c) if row.connections.contains(&c.id) => problems.push(format!(
                "{}: {} is named twice.",
                c.platform.display_name(),
                c.name
            )),
            Ok(c) => row.connections.push(c.id),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        row.error(Field::Networks, problems.join(" "));
    }
}

fn read_media(row: &mut Row) {
    let mut problems = Vec::new();
    for token in row
        .media
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if let Ok(id) = Uuid::parse_str(token) {
            row.media_refs.push(MediaRef::Library(id));
        } else if url::Url::parse(token)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        {
            row.media_refs.push(MediaRef::Url(token.to_owned()));
        } else {
            problems.push(format!(
                "“{token}” is neither a media library id nor a web address (http or https)."
            ));
        }
    }
    if !problems.is_empty() {
        row.error(Field::Media, problems.join(" "));
    }
}

fn read_product(row: &mut Row, ctx: &ImportContext) {
    if row.product.is_empty() {
        return;
    }
    if let Ok(id) = Uuid::parse_str(&row.product) {
        if ctx.products.iter().any(|p| p.id == id) {
            row.product_id = Some(id);
        } else {
            row.error(Field::Product, "That isn't one of your products.");
        }
        return;
    }
    let titled: Vec<&ProductRef> = ctx
        .products
        .iter()
        .filter(|p| p.title == row.product)
        .collect();
    match titled.as_slice() {
        [p] => row.product_id = Some(p.id),
        [] => row.error(
            Field::Product,
            "None of your products has this id or exact title.",
        ),
        _ => row.error(
            Field::Product,
            format!(
                "{} of your products have this title. Use the product's id instead.",
                titled.len()
            ),
        ),
    }
}

/// A checked file, ready to show.
#[derive(Clone, Debug)]
pub struct Preview {
    pub rows: Vec<Row>,
    /// Identifies exactly what the preview showed; confirm refuses any other.
    pub fingerprint: String,
}

impl Preview {
    pub fn rows_with_errors(&self) -> usize {
        self.rows.iter().filter(|r| !r.is_valid()).count()
    }

    pub fn is_valid(&self) -> bool {
        self.rows_with_errors() == 0
    }

    fn seal(csv: &[u8], rows: Vec<Row>) -> Self {
        let mut sealed = csv.to_vec();
        for r in &rows {
            sealed.extend_from_slice(
                format!(
                    "\n{}|{:?}|{:?}|{:?}|{:?}|{:?}",
                    r.line, r.when, r.connections, r.media_refs, r.product_id, r.errors
                )
                .as_bytes(),
            );
        }
        Preview {
            rows,
            fingerprint: crate::security::sha256_hex(&sealed),
        }
    }
}

/// The seller's accounts and products, and their clock, for reading a file.
pub async fn context(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    zone: TimeZone,
    now: DateTime<Utc>,
) -> Result<ImportContext, sea_orm::DbErr> {
    let connections = super::postable_connections(db, user_id)
        .await?
        .into_iter()
        .filter_map(|c| {
            Some(ConnectionRef {
                platform: c.platform.parse().ok()?,
                id: c.id,
                name: c.display_name,
            })
        })
        .collect();
    let products = products::Entity::find()
        .select_only()
        .column(products::Column::Id)
        .column(products::Column::Title)
        .filter(products::Column::UserId.eq(user_id))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, title)| ProductRef { id, title })
        .collect();
    Ok(ImportContext {
        zone,
        now,
        connections,
        products,
    })
}

/// Adds the composer's checks (ownership, caption limits, media preflight) to each row that
/// parsed cleanly. With `fetched` absent, media from web addresses aren't known yet, so issues
/// about media are left for the confirm to find.
async fn check_rows(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    ctx: &ImportContext,
    rows: &mut [Row],
    fetched: Option<&HashMap<String, Uuid>>,
) -> Result<Vec<Option<(Draft, super::Checked)>>, sea_orm::DbErr> {
    let names: HashMap<Uuid, String> = ctx
        .connections
        .iter()
        .map(|c| (c.id, format!("{} ({})", c.name, c.platform.display_name())))
        .collect();
    let no_fetch = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.iter_mut() {
        if !row.is_valid() {
            out.push(None);
            continue;
        }
        let mut draft = row.draft(fetched.unwrap_or(&no_fetch));
        draft.targets = row
            .connections
            .iter()
            .filter_map(|id| {
                let platform = ctx.connections.iter().find(|c| c.id == *id)?.platform;
                Some(TargetInput {
                    connection_id: *id,
                    caption: None,
                    options: TargetOptions::default_for(platform)?,
                })
            })
            .collect();
        let media_pending = fetched.is_none() && row.has_web_media();
        match super::validate(db, user_id, &draft).await? {
            Ok(checked) => out.push(Some((draft, checked))),
            Err(problems) => {
                place(row, &problems, &names, media_pending);
                out.push(None);
            }
        }
    }
    Ok(out)
}

/// Puts the composer's problems next to the row's columns.
fn place(row: &mut Row, problems: &Problems, names: &HashMap<Uuid, String>, media_pending: bool) {
    for (key, message) in &problems.fields {
        let (field, message) = match key.as_str() {
            "body" => (Field::Text, message.clone()),
            "media_ids" => (Field::Media, message.clone()),
            "product_id" => (Field::Product, message.clone()),
            "targets" => (Field::Networks, message.clone()),
            other => {
                let rest = other.strip_prefix("targets.").unwrap_or(other);
                let (id, what) = rest.split_once('.').unwrap_or((rest, ""));
                let account = Uuid::parse_str(id)
                    .ok()
                    .and_then(|id| names.get(&id))
                    .map_or_else(String::new, |n| format!("{n}: "));
                let field = if what.starts_with("caption") {
                    Field::Text
                } else if what.starts_with("media") {
                    Field::Media
                } else {
                    Field::Networks
                };
                (field, format!("{account}{message}"))
            }
        };
        if media_pending && field == Field::Media {
            continue;
        }
        match row.errors.get_mut(&field) {
            Some(existing) => {
                existing.push(' ');
                existing.push_str(&message);
            }
            None => {
                row.errors.insert(field, message);
            }
        }
    }
}

/// Reads and checks a file for `user_id` without writing anything.
pub async fn preview(
    db: &DatabaseConnection,
    user_id: Uuid,
    zone: TimeZone,
    csv: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Preview, ImportError>, sea_orm::DbErr> {
    let ctx = context(db, user_id, zone, now).await?;
    let mut rows = match parse_import(csv, &ctx) {
        Ok(rows) => rows,
        Err(e) => return Ok(Err(e)),
    };
    check_rows(db, user_id, &ctx, &mut rows, None).await?;
    Ok(Ok(Preview::seal(csv, rows)))
}

/// Why a confirm created nothing.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// The file or what it refers to changed since the preview: here is the new one.
    #[error("the preview changed")]
    Changed(Result<Preview, ImportError>),
    /// Some rows failed (a fetch, or a check at the last moment): the preview with their errors.
    #[error("some rows have errors")]
    Invalid(Preview),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Creates every post of a previewed file in one transaction, or none. Media given by web
/// address are fetched first (into the library, as the composer's "from a web address" does);
/// if one can't be fetched, nothing is created and its rows say why.
/// Where media given by web address go and how they are fetched: into the library, through
/// the SSRF-safe fetcher, within a time.
pub struct Fetching<'a> {
    pub store: &'a MediaStore,
    pub fetcher: &'a crate::net::SafeFetch,
    pub timeout: std::time::Duration,
}

pub async fn confirm(
    db: &DatabaseConnection,
    fetch: &Fetching<'_>,
    user_id: Uuid,
    zone: TimeZone,
    csv: &[u8],
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, ConfirmError> {
    let seen = preview(db, user_id, zone, csv, now).await?;
    let mut preview = match seen {
        Ok(p) if p.fingerprint == fingerprint => p,
        other => return Err(ConfirmError::Changed(other)),
    };
    if !preview.is_valid() {
        return Err(ConfirmError::Invalid(preview));
    }

    // Fetch each address once, however many rows use it.
    let mut fetched: HashMap<String, Uuid> = HashMap::new();
    let mut new_media: Vec<Uuid> = Vec::new();
    let mut failed: HashMap<String, String> = HashMap::new();
    for row in &preview.rows {
        for m in &row.media_refs {
            let MediaRef::Url(url) = m else { continue };
            if fetched.contains_key(url) || failed.contains_key(url) {
                continue;
            }
            match crate::media::import::image_from_url(
                db,
                fetch.store,
                fetch.fetcher,
                fetch.timeout,
                user_id,
                url,
            )
            .await
            {
                Ok(up) => {
                    if !up.duplicate {
                        new_media.push(up.media.id);
                    }
                    fetched.insert(url.clone(), up.media.id);
                }
                Err(crate::media::import::ImportError::Internal(e)) => {
                    tracing::error!(error = ?e, "fetching an imported post's photo failed");
                    failed.insert(
                        url.clone(),
                        format!("Something went wrong on our side while fetching {url}. Try again in a moment."),
                    );
                }
                Err(e) => {
                    failed.insert(url.clone(), format!("{url} couldn't be used: {e}."));
                }
            }
        }
    }
    if !failed.is_empty() {
        for row in &mut preview.rows {
            let why: Vec<&str> = row
                .media_refs
                .iter()
                .filter_map(|m| match m {
                    MediaRef::Url(u) => failed.get(u).map(String::as_str),
                    MediaRef::Library(_) => None,
                })
                .collect();
            if !why.is_empty() {
                row.error(Field::Media, why.join(" "));
            }
        }
        forget(db, fetch.store, user_id, &new_media).await;
        return Err(ConfirmError::Invalid(preview));
    }

    let ctx = context(db, user_id, zone, now).await?;
    let txn = db.begin().await?;
    let checked = check_rows(&txn, user_id, &ctx, &mut preview.rows, Some(&fetched)).await?;
    if !preview.is_valid() {
        drop(txn);
        forget(db, fetch.store, user_id, &new_media).await;
        return Err(ConfirmError::Invalid(preview));
    }
    let mut created = Vec::with_capacity(checked.len());
    for (draft, checked) in checked.into_iter().flatten() {
        created.push(
            super::insert(&txn, user_id, &draft, &checked, now)
                .await?
                .id,
        );
    }
    txn.commit().await?;
    Ok(created)
}

/// Removes photos this confirm brought into the library when it ends up creating nothing, so a
/// failed import leaves no trace. Photos the seller already had are kept.
async fn forget(db: &DatabaseConnection, store: &MediaStore, user_id: Uuid, ids: &[Uuid]) {
    for id in ids {
        if let Err(e) = crate::media::delete_for_user(db, store, user_id, *id).await {
            tracing::warn!(error = ?e, media_id = %id, "removing a photo from a failed import");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    fn ctx() -> ImportContext {
        ImportContext {
            zone: TimeZone::parse("Europe/Berlin").unwrap(),
            now: Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap(),
            connections: vec![
                ConnectionRef {
                    id: Uuid::from_u128(1),
                    name: "Maple".into(),
                    platform: Platform::Instagram,
                },
                ConnectionRef {
                    id: Uuid::from_u128(2),
                    name: "Maple".into(),
                    platform: Platform::Facebook,
                },
                ConnectionRef {
                    id: Uuid::from_u128(3),
                    name: "maple_x".into(),
                    platform: Platform::X,
                },
                ConnectionRef {
                    id: Uuid::from_u128(4),
                    name: "second x".into(),
                    platform: Platform::X,
                },
            ],
            products: vec![
                ProductRef {
                    id: Uuid::from_u128(10),
                    title: "Blue mug".into(),
                },
                ProductRef {
                    id: Uuid::from_u128(11),
                    title: "Bowl".into(),
                },
                ProductRef {
                    id: Uuid::from_u128(12),
                    title: "Bowl".into(),
                },
            ],
        }
    }

    fn one(csv: &str) -> Row {
        let mut rows = parse_import(csv.as_bytes(), &ctx()).unwrap();
        assert_eq!(rows.len(), 1);
        rows.remove(0)
    }

    #[test]
    fn a_row_is_read_in_the_sellers_zone_with_its_accounts_and_product() {
        let row = one("date,time,networks,text,media,product\n\
             2026-02-01,09:30,Instagram: Maple; maple_x,\"Hello, world\",00000000-0000-0000-0000-000000000063;https://shop.example/a.jpg,Blue mug\n");
        assert!(row.is_valid(), "{:?}", row.errors);
        assert_eq!(
            row.when,
            Some(When::At(
                Utc.with_ymd_and_hms(2026, 2, 1, 8, 30, 0).unwrap()
            ))
        );
        assert_eq!(
            row.connections,
            vec![Uuid::from_u128(1), Uuid::from_u128(3)]
        );
        assert_eq!(row.text, "Hello, world");
        assert_eq!(
            row.media_refs,
            vec![
                MediaRef::Library(Uuid::from_u128(99)),
                MediaRef::Url("https://shop.example/a.jpg".into())
            ]
        );
        assert_eq!(row.product_id, Some(Uuid::from_u128(10)));
        assert_eq!(row.line, 2);
    }

    #[test]
    fn ambiguous_and_unknown_accounts_are_row_errors() {
        let row = one("date,time,networks,text\n2026-02-01,09:30,Maple;X;Mastodon,hi\n");
        let msg = &row.errors[&Field::Networks];
        assert!(msg.contains("“Maple” matches 2"), "{msg}");
        assert!(msg.contains("“X” matches 2"), "{msg}");
        assert!(msg.contains("“Mastodon” doesn't match"), "{msg}");
        let row = one("date,time,networks,text\n2026-02-01,09:30,Pinterest,hi\n");
        assert_eq!(
            row.errors[&Field::Networks],
            "You have no Pinterest account connected."
        );
        let row = one("date,time,networks,text\n2026-02-01,09:30,facebook;Facebook: maple,hi\n");
        assert!(row.errors[&Field::Networks].contains("named twice"));
    }

    #[test]
    fn dst_gaps_and_overlaps_are_refused_as_in_the_composer() {
        let gap = one("date,time,networks,text\n2026-03-29,02:30,maple_x,hi\n");
        assert!(
            gap.errors[&Field::Time].contains("doesn't exist"),
            "{:?}",
            gap.errors
        );
        let twice = one("date,time,networks,text\n2026-10-25,02:30,maple_x,hi\n");
        assert!(twice.errors[&Field::Time].contains("happens twice"));
        let chosen = one("date,time,fold,networks,text\n2026-10-25,02:30,later,maple_x,hi\n");
        assert_eq!(
            chosen.when,
            Some(When::At(
                Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap()
            ))
        );
        let past = one("date,time,networks,text\n2026-01-01,09:00,maple_x,hi\n");
        assert!(past.errors[&Field::Date].contains("already passed"));
    }

    #[test]
    fn products_are_matched_by_id_or_exact_title_of_the_sellers_own() {
        let base = "date,time,networks,text,product\n2026-02-01,09:30,maple_x,hi,";
        assert!(one(&format!("{base}Bowl\n")).errors[&Field::Product].contains("2 of your"));
        assert!(
            one(&format!("{base}blue mug\n"))
                .errors
                .contains_key(&Field::Product)
        );
        assert!(
            one(&format!("{base}{}\n", Uuid::from_u128(77))).errors[&Field::Product]
                .contains("isn't one of your products")
        );
        assert_eq!(
            one(&format!("{base}{}\n", Uuid::from_u128(12))).product_id,
            Some(Uuid::from_u128(12))
        );
    }

    #[test]
    fn whole_file_problems_are_named() {
        let c = ctx();
        assert_eq!(parse_import(b"", &c).unwrap_err(), ImportError::Empty);
        assert_eq!(
            parse_import(b"date,time,text\n", &c).unwrap_err(),
            ImportError::MissingColumns(vec!["networks"])
        );
        assert_eq!(
            parse_import(b"date,time,networks,text\n", &c).unwrap_err(),
            ImportError::Empty
        );
        assert_eq!(
            parse_import(b"date,time,networks,text\n\xff,,,\n", &c).unwrap_err(),
            ImportError::NotUtf8
        );
        let many = format!(
            "date,time,networks,text\n{}",
            ",,,hi\n".repeat(MAX_ROWS + 1)
        );
        assert_eq!(
            parse_import(many.as_bytes(), &c).unwrap_err(),
            ImportError::TooManyRows
        );
        assert_eq!(
            parse_import(&vec![b' '; MAX_BYTES + 1], &c).unwrap_err(),
            ImportError::TooLarge
        );
    }

    #[test]
    fn an_exported_formula_comes_back_as_written() {
        let row = one("date,time,networks,text\n,,,'=SUM(A1)\n");
        assert_eq!(row.text, "=SUM(A1)");
        assert_eq!(row.when, Some(When::Draft(None)));
        let row = one("date,time,networks,text\n,,,'quoted\n");
        assert_eq!(row.text, "'quoted");
    }

    proptest! {
        #[test]
        fn any_bytes_give_rows_or_a_named_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_import(&bytes, &ctx());
        }

        #[test]
        fn text_survives_the_export_quoting(text in "('{0,2}[=+@-])?\\PC{0,200}") {
            let field = crate::web::csv::csv_field(&text);
            let csv = format!("date,time,networks,text\n,,maple_x,{field}\n");
            let rows = parse_import(csv.as_bytes(), &ctx());
            // A text that is only blanks makes an empty row, which is skipped.
            if text.trim().is_empty() {
                prop_assert!(rows.is_err() || rows.unwrap()[0].text == text);
            } else {
                let rows = rows.unwrap();
                prop_assert_eq!(rows.len(), 1);
                prop_assert_eq!(&rows[0].text, &text);
            }
        }

        #[test]
        fn every_valid_local_time_is_read_back_as_the_same_instant(minutes in 0i64..(300 * 24 * 60)) {
            let c = ctx();
            let instant = c.now + chrono::Duration::minutes(minutes + 1);
            let local = crate::domain::schedule::LocalTime::of(instant, c.zone);
            let fold = local.fold.map_or("", Fold::as_str);
            let csv = format!("date,time,fold,networks,text\n{},{},{fold},maple_x,hi\n", local.date, local.time);
            let row = parse_import(csv.as_bytes(), &c).unwrap().remove(0);
            prop_assert!(row.is_valid(), "{:?}", row.errors);
            prop_assert_eq!(row.when, Some(When::At(instant)));
        }

        #[test]
        fn rows_keep_their_order_and_count(n in 1usize..60) {
            let body: String = (0..n).map(|i| format!("2026-02-01,09:30,maple_x,post {i}\n")).collect();
            let rows = parse_import(format!("date,time,networks,text\n{body}").as_bytes(), &ctx()).unwrap();
            prop_assert_eq!(rows.len(), n);
            for (i, r) in rows.iter().enumerate() {
                prop_assert_eq!(&r.text, &format!("post {i}"));
            }
        }
    }
}
