//! `/posts/import` and `/posts/export.csv`: bringing posts in from a CSV file and taking them
//! out again.
//!
//! Upload → preview → confirm, as plain forms. The uploaded file is kept as a server-side draft
//! in Redis, one per user (`posts_import:{user id}`, for [`DRAFT_TTL`]), rather than in a hidden
//! field: a 1 MB file would outgrow the form body limit once encoded, and the confirm form stays
//! small. Nothing in the draft is trusted: confirm reads and checks the file again, and creates
//! posts only if that gives the very preview the seller saw (its fingerprint travels in the
//! confirm form); otherwise the new preview is shown.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::TimeZone;
use crate::domain::schedule::LocalTime;
use crate::entities::users;
use crate::error::AppError;
use crate::posts::When;
use crate::posts::export;
use crate::posts::import::{
    self, ConfirmError, Field, ImportError, MAX_BYTES, MediaRef, Preview, Row,
};
use crate::state::AppState;
use crate::web::csv::csv_line;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

/// How long an uploaded file waits for its confirm.
pub const DRAFT_TTL: Duration = Duration::from_secs(2 * 60 * 60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts/import", get(show))
        .route("/posts/import/confirm", post(confirm))
        .route("/posts/import/discard", post(discard))
        .route("/posts/export.csv", get(export_csv))
}

/// The upload itself, under its own body limit (a little above [`MAX_BYTES`], so a file just
/// over it gets a sentence next to the field rather than a bare 413).
pub fn upload_router() -> Router<AppState> {
    Router::new().route("/posts/import", post(upload))
}

/// The request body the upload route accepts.
pub const UPLOAD_BODY_LIMIT: usize = 4 * MAX_BYTES;

fn draft_key(user_id: Uuid) -> String {
    format!("posts_import:{user_id}")
}

fn zone_of(user: &users::Model) -> TimeZone {
    TimeZone::parse_or_utc(&user.time_zone)
}

/// One cell of the preview: what the file says, what we understood, what is wrong.
pub struct CellView {
    pub column: &'static str,
    pub raw: String,
    pub understood: String,
    pub error: Option<String>,
}

pub struct RowView {
    pub line: u64,
    pub ok: bool,
    pub cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "posts/import.html")]
struct ImportPage {
    ctx: PageContext,
    max_rows: usize,
    file_error: Option<String>,
    /// Why the preview is shown again, when confirm found something changed.
    notice: Option<String>,
    preview: Option<PreviewView>,
}

struct PreviewView {
    rows: Vec<RowView>,
    total: usize,
    with_errors: usize,
    fingerprint: String,
}

fn view_of(preview: &Preview, user: &users::Model, names: &HashMap<Uuid, String>) -> PreviewView {
    let zone = zone_of(user);
    let cell = |row: &Row, field: Field, raw: &str, understood: String| CellView {
        column: field.as_str(),
        raw: raw.to_owned(),
        understood,
        error: row.errors.get(&field).cloned(),
    };
    let rows = preview
        .rows
        .iter()
        .map(|r| {
            let when = match r.when {
                Some(When::At(at)) => {
                    let l = LocalTime::of(at, zone);
                    format!("{} {} ({zone})", l.date, l.time)
                }
                Some(_) => "Draft (no time)".to_owned(),
                None => String::new(),
            };
            let networks = r
                .connections
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect::<Vec<_>>()
                .join(", ");
            let (library, web) = r.media_refs.iter().fold((0, 0), |(l, w), m| match m {
                MediaRef::Library(_) => (l + 1, w),
                MediaRef::Url(_) => (l, w + 1),
            });
            let media = match (library, web) {
                (0, 0) => String::new(),
                (l, 0) => format!("{l} from your library"),
                (0, w) => format!("{w} from the web, fetched on confirm"),
                (l, w) => format!("{l} from your library, {w} from the web (fetched on confirm)"),
            };
            RowView {
                line: r.line,
                ok: r.is_valid(),
                cells: vec![
                    cell(r, Field::Date, &r.date, when),
                    cell(r, Field::Time, &r.time, String::new()),
                    cell(r, Field::Networks, &r.networks, networks),
                    cell(r, Field::Text, &r.text, String::new()),
                    cell(r, Field::Media, &r.media, media),
                    cell(
                        r,
                        Field::Product,
                        &r.product,
                        r.product_id
                            .and_then(|id| names.get(&id).cloned())
                            .unwrap_or_default(),
                    ),
                ],
            }
        })
        .collect();
    PreviewView {
        rows,
        total: preview.rows.len(),
        with_errors: preview.rows_with_errors(),
        fingerprint: preview.fingerprint.clone(),
    }
}

/// Account and product names by id, for showing what each row was understood to mean.
async fn names_of(
    state: &AppState,
    user: &users::Model,
) -> Result<HashMap<Uuid, String>, AppError> {
    let ctx = import::context(&state.db, user.id, zone_of(user), Utc::now()).await?;
    Ok(ctx
        .connections
        .into_iter()
        .map(|c| (c.id, format!("{} ({})", c.name, c.platform.display_name())))
        .chain(ctx.products.into_iter().map(|p| (p.id, p.title)))
        .collect())
}

async fn render_preview(
    state: &AppState,
    ctx: PageContext,
    user: &users::Model,
    preview: Result<Preview, ImportError>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let names = names_of(state, user).await?;
    let (status, preview, file_error) = match preview {
        Ok(p) => {
            let status = if p.is_valid() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, Some(view_of(&p, user, &names)), None)
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(e.to_string())),
    };
    render::page_with_status(
        status,
        &ImportPage {
            ctx: ctx.at("posts"),
            max_rows: import::MAX_ROWS,
            file_error,
            notice,
            preview,
        },
    )
}

/// `GET /posts/import`: the upload form, or the preview of the file waiting for its confirm.
async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let Some(csv) = state
        .redis
        .get(&draft_key(user.id))
        .await
        .map_err(anyhow::Error::from)?
    else {
        return render::page(&ImportPage {
            ctx: ctx.at("posts"),
            max_rows: import::MAX_ROWS,
            file_error: None,
            notice: None,
            preview: None,
        });
    };
    let preview = import::preview(
        &state.db,
        user.id,
        zone_of(&user),
        csv.as_bytes(),
        Utc::now(),
    )
    .await?;
    render_preview(&state, ctx, &user, preview, None).await
}

/// `POST /posts/import` (multipart, field `file`): keeps the file as the user's draft and shows
/// its preview.
async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut csv: Option<Vec<u8>> = None;
    let mut too_large = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large = true;
                break;
            }
            Err(_) => {
                return Err(AppError::BadRequest(
                    "The upload stopped before the whole file arrived. Please try again.".into(),
                ));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_BYTES {
                        too_large = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    too_large = true;
                    break;
                }
                Err(_) => {
                    return Err(AppError::BadRequest(
                        "The upload stopped before the whole file arrived. Please try again."
                            .into(),
                    ));
                }
            }
        }
        csv = Some(bytes);
        break;
    }
    let zone = zone_of(&user);
    let preview = if too_large {
        Err(ImportError::TooLarge)
    } else {
        let csv = csv.unwrap_or_default();
        match import::preview(&state.db, user.id, zone, &csv, Utc::now()).await? {
            Ok(p) => {
                // `preview` accepted the file, so it is UTF-8 (after an optional BOM).
                let text = String::from_utf8_lossy(&csv).into_owned();
                state
                    .redis
                    .set_ex(&draft_key(user.id), &text, DRAFT_TTL)
                    .await
                    .map_err(anyhow::Error::from)?;
                Ok(p)
            }
            Err(e) => Err(e),
        }
    };
    render_preview(&state, ctx, &user, preview, None).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    fingerprint: String,
}

/// `POST /posts/import/confirm`: creates every post of the draft, or none.
async fn confirm(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    session: Session,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    let key = draft_key(user.id);
    // Claimed with GETDEL, so a second click (or tab) finds nothing and can't import twice; the
    // file is put back whenever this confirm creates nothing.
    let claimed: Option<String> = {
        use fred::interfaces::KeysInterface as _;
        state
            .redis
            .pool()
            .getdel(state.redis.key(&key))
            .await
            .map_err(anyhow::Error::from)?
    };
    let Some(csv) = claimed else {
        session::flash(
            &session,
            FlashKind::Error,
            "That import has expired or was already done. Upload the file again.",
        )
        .await?;
        return Ok(Redirect::to("/posts/import").into_response());
    };
    let zone = zone_of(&user);
    let outcome = import::confirm(
        &state.db,
        &import::Fetching {
            store: &state.media,
            fetcher: &state.outbound,
            timeout: std::time::Duration::from_secs(state.config.outbound_timeout_secs),
        },
        user.id,
        zone,
        csv.as_bytes(),
        &form.fingerprint,
        Utc::now(),
    )
    .await;
    if outcome.is_err() {
        state
            .redis
            .set_ex(&key, &csv, DRAFT_TTL)
            .await
            .map_err(anyhow::Error::from)?;
    }
    match outcome {
        Ok(created) => {
            let n = created.len();
            session::flash(
                &session,
                FlashKind::Success,
                format!("Imported {n} post{}.", if n == 1 { "" } else { "s" }),
            )
            .await?;
            Ok(Redirect::to("/posts").into_response())
        }
        Err(ConfirmError::Changed(preview)) => {
            render_preview(
                &state,
                ctx,
                &user,
                preview,
                Some("Something changed since the preview (an account, a product, a photo, or a time that has now passed). Here it is again: check it and confirm once more.".into()),
            )
            .await
        }
        Err(ConfirmError::Invalid(preview)) => {
            render_preview(
                &state,
                ctx,
                &user,
                Ok(preview),
                Some("Nothing was created: fix the rows below and upload the file again.".into()),
            )
            .await
        }
        Err(ConfirmError::Db(e)) => Err(e.into()),
    }
}

/// `POST /posts/import/discard`: forgets the uploaded file.
async fn discard(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    state
        .redis
        .del(&draft_key(user.id))
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Redirect::to("/posts/import").into_response())
}

/// `GET /posts/export.csv`: every post of the user, times on their clock.
async fn export_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, AppError> {
    let zone = zone_of(&user);
    let mut out = csv_line(export::COLUMNS.iter().map(|c| (*c).to_owned()));
    for row in export::rows(&state.db, user.id, zone).await? {
        out.push_str(&csv_line(row));
    }
    let name = format!("picscripter-posts-{}.csv", Utc::now().format("%Y-%m-%d"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        out,
    )
        .into_response())
}
