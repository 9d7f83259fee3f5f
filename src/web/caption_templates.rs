//! `/templates`: named captions with placeholders (`{product.title}`, `{product.price}`…) and
//! the networks they are usually posted to. The composer starts from one; placeholders are
//! filled from a product when the post has one. Unknown placeholders are refused with a hint.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Set, SqlErr,
};
use tower_sessions::Session;
use uuid::Uuid;

use crate::domain::template::{Placeholder, Template};
use crate::domain::{Platform, PlatformKind};
use crate::entities::templates;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list).post(create))
        .route("/templates/{id}", get(edit_page).post(update))
        .route("/templates/{id}/delete", post(delete))
}

pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub body: String,
    pub platforms: Vec<Platform>,
}

/// The form, as typed, with its problems.
pub struct TemplateForm {
    pub action: String,
    pub name: String,
    pub body: String,
    pub platforms: Vec<(Platform, bool)>,
    pub name_error: Option<String>,
    pub body_errors: Vec<String>,
}

impl TemplateForm {
    fn new(action: String, name: &str, body: &str, chosen: &[String]) -> Self {
        Self {
            action,
            name: name.to_owned(),
            body: body.to_owned(),
            platforms: Platform::ALL
                .into_iter()
                .filter(|p| p.kind() == PlatformKind::Social)
                .map(|p| (p, chosen.iter().any(|c| c == p.as_str())))
                .collect(),
            name_error: None,
            body_errors: Vec::new(),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "templates/index.html")]
struct ListPage {
    ctx: PageContext,
    rows: Vec<Row>,
    form: TemplateForm,
    placeholders: Vec<&'static str>,
}

#[derive(askama::Template)]
#[template(path = "templates/edit.html")]
struct EditPage {
    ctx: PageContext,
    form: TemplateForm,
    placeholders: Vec<&'static str>,
}

fn placeholder_names() -> Vec<&'static str> {
    Placeholder::ALL.iter().map(|p| p.name()).collect()
}

async fn rows(state: &AppState, user_id: Uuid) -> Result<Vec<Row>, AppError> {
    Ok(templates::Entity::find()
        .filter(templates::Column::UserId.eq(user_id))
        .order_by_asc(templates::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| Row {
            id: t.id,
            name: t.name,
            body: t.body,
            platforms: t
                .default_platforms
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
        })
        .collect())
}

/// Checks the form; `Ok` has the cleaned name, body and networks.
fn validate(form: &mut TemplateForm, data: &FormData) -> Option<(String, String, Vec<String>)> {
    let name = data.str("name").trim().to_owned();
    let body = data.str("body").replace("\r\n", "\n");
    match name.chars().count() {
        0 => form.name_error = Some("Give the template a name, such as “New product”.".into()),
        n if n > 100 => form.name_error = Some("Keep the name under 100 characters.".into()),
        _ => {}
    }
    if body.trim().is_empty() {
        form.body_errors
            .push("Write the caption the template starts from.".into());
    } else if let Err(errors) = Template::parse(&body) {
        form.body_errors
            .extend(errors.iter().map(|e| e.to_string()));
    }
    let platforms: Vec<String> = data
        .all("platform")
        .into_iter()
        .filter(|p| {
            p.parse::<Platform>()
                .is_ok_and(|p| p.kind() == PlatformKind::Social)
        })
        .map(str::to_owned)
        .collect();
    (form.name_error.is_none() && form.body_errors.is_empty()).then_some((name, body, platforms))
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let form = TemplateForm::new("/templates".into(), "", "", &[]);
    render::page(&ListPage {
        ctx: ctx.at("posts"),
        rows: rows(&state, user.id).await?,
        form,
        placeholders: placeholder_names(),
    })
}

async fn create(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    body: Bytes,
) -> Result<Response, AppError> {
    let data = FormData::parse(&body);
    let chosen: Vec<String> = data
        .all("platform")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut form = TemplateForm::new(
        "/templates".into(),
        data.str("name"),
        data.str("body"),
        &chosen,
    );
    if let Some((name, text, platforms)) = validate(&mut form, &data) {
        let now = Utc::now();
        let inserted = templates::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user.id),
            name: Set(name.clone()),
            body: Set(text),
            default_platforms: Set(platforms),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&state.db)
        .await;
        match inserted {
            Ok(_) => {
                session::flash(
                    &session,
                    FlashKind::Success,
                    format!("Saved the template “{name}”."),
                )
                .await?;
                return Ok(Redirect::to("/templates").into_response());
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                form.name_error =
                    Some("You already have a template with this name. Choose another.".into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = ListPage {
        ctx: ctx.at("posts"),
        rows: rows(&state, user.id).await?,
        form,
        placeholders: placeholder_names(),
    };
    render::page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

async fn owned(state: &AppState, user_id: Uuid, id: &str) -> Result<templates::Model, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    templates::Entity::find_by_id(id)
        .filter(templates::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn edit_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = owned(&state, user.id, &id).await?;
    let form = TemplateForm::new(
        format!("/templates/{}", t.id),
        &t.name,
        &t.body,
        &t.default_platforms,
    );
    render::page(&EditPage {
        ctx: ctx.at("posts"),
        form,
        placeholders: placeholder_names(),
    })
}

async fn update(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let t = owned(&state, user.id, &id).await?;
    let data = FormData::parse(&body);
    let chosen: Vec<String> = data
        .all("platform")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut form = TemplateForm::new(
        format!("/templates/{}", t.id),
        data.str("name"),
        data.str("body"),
        &chosen,
    );
    if let Some((name, text, platforms)) = validate(&mut form, &data) {
        let mut active: templates::ActiveModel = t.into();
        active.name = Set(name.clone());
        active.body = Set(text);
        active.default_platforms = Set(platforms);
        active.updated_at = Set(Utc::now());
        match active.update(&state.db).await {
            Ok(_) => {
                session::flash(
                    &session,
                    FlashKind::Success,
                    format!("Saved the template “{name}”."),
                )
                .await?;
                return Ok(Redirect::to("/templates").into_response());
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                form.name_error =
                    Some("You already have a template with this name. Choose another.".into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    render::page_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &EditPage {
            ctx: ctx.at("posts"),
            form,
            placeholders: placeholder_names(),
        },
    )
}

async fn delete(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = owned(&state, user.id, &id).await?;
    templates::Entity::delete_by_id(t.id)
        .exec(&state.db)
        .await?;
    session::flash(
        &session,
        FlashKind::Success,
        format!(
            "Deleted the template “{}”. Posts made from it keep their text.",
            t.name
        ),
    )
    .await?;
    Ok(Redirect::to("/templates").into_response())
}

/// A template of the user, for the composer.
pub async fn find_for_user(
    state: &AppState,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<templates::Model>, sea_orm::DbErr> {
    templates::Entity::find_by_id(id)
        .filter(templates::Column::UserId.eq(user_id))
        .one(&state.db)
        .await
}
