//! The AI Studio page (`/studio`): a product and/or photos, a brief and a tone in; one editable
//! caption card per network out, each with the composer's counters and preflight, and "What we
//! changed and why" from the authenticity pass.
//!
//! The whole page is one form, and everything it knows travels in it (each card's text, its
//! variation, the changes, pending proofreading suggestions), so nothing lives on the server
//! between requests and nothing typed is lost when a model call is slow or fails: every answer
//! is rendered from what was sent. Without JavaScript each button posts the form and the page
//! comes back; with htmx a card's button swaps only that card (`hx-select`), so edits in other
//! cards made while it works are untouched. "Schedule" opens the composer (the drawer with
//! htmx, the page without) on a draft with every caption and photo; "Post now" creates the post
//! straight away.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use crate::ai::builtin::Tone;
use crate::ai::gemini::Rewrite;
use crate::domain::authenticity::Change;
use crate::domain::preflight::{self, Severity, TargetContext, TargetDraft};
use crate::domain::{Platform, PlatformKind, TargetOptions};
use crate::entities::{connections, users};
use crate::error::AppError;
use crate::posts::{self, Draft, PostError, Problems, TargetInput, When};
use crate::products::queries::{self as product_queries, Filter};
use crate::state::AppState;
use crate::studio::{ImageCheck, Input, Provider, Raw, StudioError, Suggestion, Verdict};
use crate::web::compose::{self, Counter, IssueView, MediaChoice};
use crate::web::form::FormData;
use crate::web::render;
use crate::web::session::{self, CurrentUser, FlashKind, PageContext};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/studio", get(page).post(act))
        .route("/studio/products", get(product_search))
}

/// Products offered by the picker's search at once.
const SEARCH_RESULTS: u64 = 12;

// ---- view model ----

pub struct ProductChoice {
    pub id: Uuid,
    pub title: String,
    pub price: Option<String>,
    pub shop: String,
}

pub struct NetworkChoice {
    pub platform: Platform,
    pub checked: bool,
    /// The connected accounts a caption for it would go to.
    pub accounts: Vec<String>,
}

pub struct Card {
    pub platform: Platform,
    pub text: String,
    pub variation: u64,
    pub changes: Vec<Change>,
    pub changes_json: String,
    pub counters: Vec<Counter>,
    pub issues: Vec<IssueView>,
    pub suggestions: Vec<Suggestion>,
    pub suggestions_json: String,
    /// What the last action did, in words ("Added ☕ and ✨").
    pub note: Option<String>,
    /// Why the last action didn't work; the text is as it was.
    pub error: Option<String>,
}

pub struct ImageView {
    pub media_id: Uuid,
    pub name: String,
    /// `matches`, `mismatch` or `not_checked`.
    pub kind: &'static str,
    pub reason: String,
}

/// The media picker, shaped like the composer's (`posts/_media.html`) so both share it and its
/// upload-in-place.
pub struct MediaPanel {
    pub media: Vec<MediaChoice>,
    pub upload_errors: Vec<String>,
    pub errors: BTreeMap<String, String>,
}

impl MediaPanel {
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

pub struct View {
    pub provider: Provider,
    pub product: Option<ProductChoice>,
    pub product_q: String,
    pub results: Vec<ProductChoice>,
    pub searched: bool,
    pub has_products: bool,
    pub brief: String,
    pub tones: Vec<(&'static str, bool)>,
    pub languages: Vec<(&'static str, bool)>,
    pub call_to_action: String,
    pub hashtags: bool,
    pub networks: Vec<NetworkChoice>,
    pub cards: Vec<Card>,
    pub images: Vec<ImageView>,
    pub images_json: String,
    pub errors: BTreeMap<String, String>,
    /// A problem with the whole request (the model failed, the allowance is used up).
    pub notice: Option<String>,
}

impl View {
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// A problem with one card (`card.{platform}`).
    pub fn card_error(&self, platform: &Platform) -> Option<&String> {
        self.errors.get(&format!("card.{platform}"))
    }
}

#[derive(Template)]
#[template(path = "studio/index.html")]
struct StudioPage {
    ctx: PageContext,
    s: View,
    c: MediaPanel,
}

#[derive(Template)]
#[template(path = "studio/_workspace.html")]
struct Workspace {
    ctx: PageContext,
    s: View,
    c: MediaPanel,
}

// ---- reading the form ----

/// Everything the form carried, as typed.
struct Sent {
    raw: Raw,
    product_q: String,
    action: String,
    /// Card texts and state, in the order the cards were shown.
    cards: Vec<SentCard>,
    images: Vec<ImageCheck>,
}

struct SentCard {
    platform: Platform,
    text: String,
    variation: u64,
    changes: Vec<Change>,
    suggestions: Vec<Suggestion>,
    accepted: Vec<usize>,
}

fn read(form: &FormData) -> Sent {
    // Media in the order the order boxes give (then their place in the form).
    let mut media: Vec<(usize, usize, String)> = form
        .all("media_id")
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let order = form
                .get(&format!("media_order.{id}"))
                .and_then(|o| o.trim().parse().ok())
                .unwrap_or(usize::MAX);
            (order, i, id.to_owned())
        })
        .collect();
    media.sort();
    let raw = Raw {
        platforms: form
            .all("platform")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        product_id: form.get("product_id").map(str::to_owned),
        media_ids: media.into_iter().map(|(_, _, id)| id).collect(),
        brief: form.str("brief").to_owned(),
        tone: form.get("tone").map(str::to_owned),
        language: form.get("language").map(str::to_owned),
        call_to_action: form.get("call_to_action").map(str::to_owned),
        // An unticked checkbox sends nothing: `hashtags_shown` tells it from "not on the form".
        hashtags: Some(form.get("hashtags").is_some() || form.get("hashtags_shown").is_none()),
    };
    // A card is there when its text is: removing a card removes its textarea.
    let mut platforms: Vec<Platform> = Vec::new();
    for (name, _) in form.prefixed("caption.") {
        if let Ok(p) = name.parse::<Platform>()
            && p.kind() == PlatformKind::Social
            && !platforms.contains(&p)
        {
            platforms.push(p);
        }
    }
    let cards = platforms
        .into_iter()
        .map(|p| SentCard {
            platform: p,
            text: form.str(&format!("caption.{p}")).replace("\r\n", "\n"),
            variation: form
                .get(&format!("variation.{p}"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            changes: serde_json::from_str(form.str(&format!("changes.{p}"))).unwrap_or_default(),
            suggestions: serde_json::from_str(form.str(&format!("suggestions.{p}")))
                .unwrap_or_default(),
            accepted: form
                .all(&format!("accept.{p}"))
                .into_iter()
                .filter_map(|i| i.parse().ok())
                .collect(),
        })
        .collect();
    Sent {
        raw,
        product_q: form.str("product_q").trim().to_owned(),
        action: form.str("action").to_owned(),
        cards,
        images: serde_json::from_str(form.str("images")).unwrap_or_default(),
    }
}

// ---- building the view ----

async fn view(
    state: &AppState,
    user: &users::Model,
    sent: &Sent,
    input: Option<&Input>,
    errors: BTreeMap<String, String>,
) -> Result<(View, MediaPanel), AppError> {
    let studio = &state.studio;
    let connections = posts::postable_connections(&state.db, user.id).await?;
    let networks = Platform::ALL
        .into_iter()
        .filter(|p| p.kind() == PlatformKind::Social)
        .map(|p| NetworkChoice {
            platform: p,
            checked: sent.raw.platforms.iter().any(|n| n == p.as_str()),
            accounts: connections
                .iter()
                .filter(|c| c.platform == p.as_str())
                .map(|c| c.display_name.clone())
                .collect(),
        })
        .collect();

    let product = match input.and_then(|i| i.product.as_ref()) {
        Some(p) => Some(choice_of_detail(p)),
        None => match sent
            .raw
            .product_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id.trim()).ok())
        {
            Some(id) => product_queries::detail(&state.db, user.id, id)
                .await?
                .as_ref()
                .map(choice_of_detail),
            None => None,
        },
    };
    let has_products = product.is_some()
        || crate::entities::products::Entity::find()
            .filter(crate::entities::products::Column::UserId.eq(user.id))
            .one(&state.db)
            .await?
            .is_some();
    let searched = !sent.product_q.is_empty();
    let results = if searched {
        search(state, user.id, &sent.product_q).await?
    } else {
        Vec::new()
    };

    // The library: the newest photos, plus whatever was chosen.
    let chosen: Vec<Uuid> = sent
        .raw
        .media_ids
        .iter()
        .filter_map(|id| Uuid::parse_str(id.trim()).ok())
        .collect();
    let library = compose::library_with(&state.db, user.id, &chosen).await?;
    let names: HashMap<Uuid, String> = library
        .iter()
        .map(|m| (m.id, m.original_filename.clone()))
        .collect();
    let panel = MediaPanel {
        media: library
            .iter()
            .map(|m| MediaChoice {
                id: m.id,
                name: m.original_filename.clone(),
                is_video: m.mime.starts_with("video/"),
                selected: chosen.contains(&m.id),
                order: chosen
                    .iter()
                    .position(|id| *id == m.id)
                    .map_or(0, |i| i + 1),
            })
            .collect(),
        upload_errors: Vec::new(),
        errors: errors.clone(),
    };

    let tone = sent.raw.tone.as_deref().unwrap_or("friendly");
    let language = sent.raw.language.as_deref().unwrap_or("English");
    let images = sent
        .images
        .iter()
        .filter(|c| chosen.contains(&c.media_id))
        .map(|c| {
            let (kind, reason) = match &c.verdict {
                Verdict::Matches(r) => ("matches", r.clone()),
                Verdict::Mismatch(r) => ("mismatch", r.clone()),
                Verdict::NotChecked(r) => ("not_checked", r.clone()),
            };
            ImageView {
                media_id: c.media_id,
                name: names.get(&c.media_id).cloned().unwrap_or_default(),
                kind,
                reason,
            }
        })
        .collect();
    let mut s = View {
        provider: studio.provider(),
        product,
        product_q: sent.product_q.clone(),
        results,
        searched,
        has_products,
        brief: sent.raw.brief.clone(),
        tones: Tone::ALL
            .into_iter()
            .map(|t| (t.as_str(), t.as_str() == tone))
            .collect(),
        languages: studio
            .languages()
            .iter()
            .map(|l| (*l, l.eq_ignore_ascii_case(language)))
            .collect(),
        call_to_action: sent.raw.call_to_action.clone().unwrap_or_default(),
        hashtags: sent.raw.hashtags.unwrap_or(true),
        networks,
        cards: Vec::new(),
        images,
        images_json: serde_json::to_string(&sent.images).unwrap_or_else(|_| "[]".into()),
        errors,
        notice: None,
    };
    let facts: Vec<_> = library
        .iter()
        .filter(|m| chosen.contains(&m.id))
        .filter_map(posts::media_facts)
        .collect();
    for sc in &sent.cards {
        s.cards.push(card(sc, &facts));
    }
    Ok((s, panel))
}

fn choice_of_detail(p: &product_queries::ProductDetail) -> ProductChoice {
    ProductChoice {
        id: p.id,
        title: p.title.clone(),
        price: p
            .price
            .filter(|d| !d.is_zero())
            .map(|d| crate::domain::price::display(&d.to_string(), p.currency.as_deref())),
        shop: p.shop_name.clone(),
    }
}

async fn search(state: &AppState, user_id: Uuid, q: &str) -> Result<Vec<ProductChoice>, AppError> {
    let filter = Filter {
        q: Some(q.to_owned()),
        ..Filter::default()
    };
    let page = product_queries::list(&state.db, user_id, &filter, 1, SEARCH_RESULTS).await?;
    Ok(page
        .rows
        .into_iter()
        .map(|r| ProductChoice {
            id: r.id,
            price: r
                .price
                .filter(|d| !d.is_zero())
                .map(|d| crate::domain::price::display(&d.to_string(), r.currency.as_deref())),
            title: r.title,
            shop: r.shop_name,
        })
        .collect())
}

/// A card as sent, with its counters and preflight worked out again for its current text.
fn card(sc: &SentCard, media: &[crate::domain::media::MediaFacts]) -> Card {
    let issues = match TargetOptions::default_for(sc.platform) {
        Some(options) => preflight::check(&TargetDraft {
            platform: sc.platform,
            caption: &sc.text,
            media,
            options: &options,
            context: &TargetContext::default(),
        })
        .into_iter()
        // Options (boards, titles, privacy) are chosen in the composer, not here.
        .filter(|i| matches!(i.field, "caption" | "media"))
        .map(|i| IssueView {
            error: i.severity == Severity::Error,
            message: i.message,
        })
        .collect(),
        None => Vec::new(),
    };
    Card {
        platform: sc.platform,
        text: sc.text.clone(),
        variation: sc.variation,
        changes_json: serde_json::to_string(&sc.changes).unwrap_or_else(|_| "[]".into()),
        changes: sc.changes.clone(),
        counters: compose::counters_for(sc.platform, &sc.text),
        issues,
        suggestions_json: serde_json::to_string(&sc.suggestions).unwrap_or_else(|_| "[]".into()),
        suggestions: sc.suggestions.clone(),
        note: None,
        error: None,
    }
}

// ---- handlers ----

#[derive(Deserialize)]
struct PageQuery {
    product_id: Option<String>,
    media: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let connections = posts::postable_connections(&state.db, user.id).await?;
    let mut platforms: Vec<String> = Vec::new();
    for c in &connections {
        if !platforms.contains(&c.platform) {
            platforms.push(c.platform.clone());
        }
    }
    let sent = Sent {
        raw: Raw {
            platforms,
            product_id: q.product_id.filter(|p| Uuid::parse_str(p).is_ok()),
            media_ids: q
                .media
                .unwrap_or_default()
                .split(',')
                .filter(|s| Uuid::parse_str(s.trim()).is_ok())
                .map(str::to_owned)
                .collect(),
            hashtags: Some(true),
            ..Raw::default()
        },
        product_q: String::new(),
        action: String::new(),
        cards: Vec::new(),
        images: Vec::new(),
    };
    let (s, c) = view(&state, &user, &sent, None, BTreeMap::new()).await?;
    render::page(&StudioPage {
        ctx: ctx.at("studio"),
        s,
        c,
    })
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    product_q: String,
}

/// The picker's live search (htmx): matching products as radio choices.
async fn product_search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<SearchQuery>,
) -> Result<Response, AppError> {
    #[derive(Template)]
    #[template(path = "studio/_product_results.html")]
    struct Results {
        s: View,
    }
    let sent = Sent {
        raw: Raw::default(),
        product_q: q.product_q.trim().to_owned(),
        action: String::new(),
        cards: Vec::new(),
        images: Vec::new(),
    };
    let (s, _) = view(&state, &user, &sent, None, BTreeMap::new()).await?;
    render::page(&Results { s })
}

enum Action {
    Generate,
    Search,
    ClearProduct,
    Schedule,
    PostNow,
    Card(CardAction, Platform),
}

#[derive(Clone, Copy)]
enum CardAction {
    Regenerate,
    Proofread,
    ApplyFixes,
    DismissFixes,
    Emoji,
    Shorten,
    Lengthen,
    Remove,
}

fn parse_action(raw: &str) -> Option<Action> {
    Some(match raw {
        "generate" => Action::Generate,
        "search" => Action::Search,
        "clear_product" => Action::ClearProduct,
        "schedule" => Action::Schedule,
        "post_now" => Action::PostNow,
        other => {
            let (verb, platform) = other.split_once(':')?;
            let platform = platform.parse::<Platform>().ok()?;
            let verb = match verb {
                "regenerate" => CardAction::Regenerate,
                "proofread" => CardAction::Proofread,
                "apply" => CardAction::ApplyFixes,
                "dismiss" => CardAction::DismissFixes,
                "emoji" => CardAction::Emoji,
                "shorten" => CardAction::Shorten,
                "lengthen" => CardAction::Lengthen,
                "remove" => CardAction::Remove,
                _ => return None,
            };
            Action::Card(verb, platform)
        }
    })
}

async fn act(
    State(state): State<AppState>,
    session: Session,
    CurrentUser(user): CurrentUser,
    ctx: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = FormData::parse(&body);
    let mut sent = read(&form);
    let Some(action) = parse_action(&sent.action) else {
        return Err(AppError::BadRequest(
            "That button isn't one the Studio knows. Reload the page and try again.".into(),
        ));
    };
    let studio = state.studio.clone();

    match action {
        Action::Search => {
            let (s, c) = view(&state, &user, &sent, None, BTreeMap::new()).await?;
            return respond(ctx, &headers, s, c, StatusCode::OK);
        }
        Action::ClearProduct => {
            sent.raw.product_id = None;
            let (s, c) = view(&state, &user, &sent, None, BTreeMap::new()).await?;
            return respond(ctx, &headers, s, c, StatusCode::OK);
        }
        _ => {}
    }

    // Card tools work on one card and need the product and tone, not the network list.
    let mut raw = sent.raw.clone();
    if let Action::Card(_, p) = action {
        raw.platforms = vec![p.as_str().to_owned()];
    }
    if matches!(action, Action::Schedule | Action::PostNow) {
        raw.platforms = sent
            .cards
            .iter()
            .map(|c| c.platform.as_str().to_owned())
            .collect();
    }
    let input = match studio.resolve(&state.db, user.id, &raw).await {
        Ok(i) => i,
        Err(StudioError::Invalid(p)) => {
            let (s, c) = view(&state, &user, &sent, None, p.fields).await?;
            return respond(ctx, &headers, s, c, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(e) => return Err(internal(e)),
    };

    match action {
        Action::Generate => {
            let written = studio
                .write(
                    &state.redis,
                    &state.media,
                    user.id,
                    &input,
                    &input.platforms,
                    0,
                    None,
                )
                .await;
            match written {
                Ok(written) => {
                    sent.cards = written
                        .into_iter()
                        .map(|w| SentCard {
                            platform: w.platform,
                            text: w.text,
                            variation: w.variation,
                            changes: w.changes,
                            suggestions: Vec::new(),
                            accepted: Vec::new(),
                        })
                        .collect();
                    sent.images = studio
                        .check_images(&state.redis, &state.media, user.id, &input)
                        .await;
                    let (s, c) = view(&state, &user, &sent, Some(&input), BTreeMap::new()).await?;
                    respond(ctx, &headers, s, c, StatusCode::OK)
                }
                Err(e) => {
                    let status = failure_status(&e);
                    let retry = match &e {
                        StudioError::Allowance { retry_after_secs } => Some(*retry_after_secs),
                        _ => None,
                    };
                    let (mut s, c) =
                        view(&state, &user, &sent, Some(&input), BTreeMap::new()).await?;
                    s.notice = Some(message_of(e));
                    let mut res = respond(ctx, &headers, s, c, status)?;
                    if let Some(secs) = retry {
                        res.headers_mut()
                            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
                    }
                    Ok(res)
                }
            }
        }
        Action::Card(verb, platform) => {
            card_action(&state, &user, ctx, &headers, sent, &input, verb, platform).await
        }
        Action::Schedule | Action::PostNow => {
            let now = matches!(action, Action::PostNow);
            hand_over(&state, &session, &user, ctx, &headers, sent, &input, now).await
        }
        Action::Search | Action::ClearProduct => unreachable!("answered above"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn card_action(
    state: &AppState,
    user: &users::Model,
    ctx: PageContext,
    headers: &HeaderMap,
    mut sent: Sent,
    input: &Input,
    verb: CardAction,
    platform: Platform,
) -> Result<Response, AppError> {
    let studio = &state.studio;
    let Some(i) = sent.cards.iter().position(|c| c.platform == platform) else {
        return Err(AppError::BadRequest(format!(
            "There's no {} caption on this page. Reload the page and try again.",
            platform.display_name()
        )));
    };
    let mut note = None;
    let mut error = None;
    let current = sent.cards[i].text.clone();
    match verb {
        CardAction::Remove => {
            sent.cards.remove(i);
            let (s, c) = view(state, user, &sent, Some(input), BTreeMap::new()).await?;
            return respond(ctx, headers, s, c, StatusCode::OK);
        }
        CardAction::Regenerate => {
            let next = sent.cards[i].variation.wrapping_add(1);
            match studio
                .write(
                    &state.redis,
                    &state.media,
                    user.id,
                    input,
                    &[platform],
                    next,
                    Some(&current),
                )
                .await
            {
                Ok(mut w) if !w.is_empty() => {
                    let w = w.remove(0);
                    let card = &mut sent.cards[i];
                    card.text = w.text;
                    card.variation = w.variation;
                    card.changes = w.changes;
                    card.suggestions.clear();
                    note = Some(format!("A new take (version {}).", next + 1));
                }
                Ok(_) => error = Some("No caption came back. Try again; your text is kept.".into()),
                Err(e) => error = Some(message_of(e)),
            }
        }
        CardAction::Proofread => {
            match studio
                .proofread(&state.redis, user.id, &current, &input.language)
                .await
            {
                Ok(found) if found.is_empty() => {
                    sent.cards[i].suggestions.clear();
                    note = Some("Nothing to correct.".into());
                }
                Ok(found) => {
                    note = Some(format!(
                        "{} suggestion{}: tick the ones to accept.",
                        found.len(),
                        if found.len() == 1 { "" } else { "s" }
                    ));
                    sent.cards[i].suggestions = found;
                }
                Err(e) => error = Some(message_of(e)),
            }
        }
        CardAction::ApplyFixes => {
            let card = &mut sent.cards[i];
            let accepted: Vec<Suggestion> = card
                .accepted
                .iter()
                .filter_map(|&n| card.suggestions.get(n).cloned())
                .collect();
            let before = card.text.clone();
            card.text = crate::studio::apply(&card.text, &accepted);
            let applied = if card.text == before {
                0
            } else {
                accepted.len()
            };
            card.suggestions.clear();
            note = Some(match applied {
                0 => "No corrections applied.".to_owned(),
                1 => "Applied 1 correction.".to_owned(),
                n => format!("Applied {n} corrections."),
            });
        }
        CardAction::DismissFixes => {
            sent.cards[i].suggestions.clear();
        }
        CardAction::Emoji => {
            let added = studio.add_emoji(input, platform, &current);
            note = Some(if added.emoji.is_empty() {
                format!(
                    "No emoji added: this caption already has as many as {} reads well with, or none fit.",
                    platform.display_name()
                )
            } else {
                format!("Added {}.", added.emoji.join(" "))
            });
            sent.cards[i].text = added.text;
        }
        CardAction::Shorten | CardAction::Lengthen => {
            let how = if matches!(verb, CardAction::Shorten) {
                Rewrite::Shorter
            } else {
                Rewrite::Longer
            };
            match studio
                .resize(&state.redis, user.id, input, platform, &current, how)
                .await
            {
                Ok(outcome) => {
                    let card = &mut sent.cards[i];
                    if outcome.text == current {
                        note = Some(match how {
                            Rewrite::Shorter => "It's as short as it gets without losing the link, the price or the first line.".into(),
                            Rewrite::Longer => "Nothing true is left to add: everything the product says is already in it.".into(),
                        });
                    } else {
                        note = Some(match how {
                            Rewrite::Shorter => "Shortened.".into(),
                            Rewrite::Longer => "Lengthened.".into(),
                        });
                        card.text = outcome.text;
                        card.changes.extend(outcome.changes);
                        card.suggestions.clear();
                    }
                }
                Err(e) => error = Some(message_of(e)),
            }
        }
    }
    let (mut s, c) = view(state, user, &sent, Some(input), BTreeMap::new()).await?;
    if let Some(card) = s.cards.iter_mut().find(|c| c.platform == platform) {
        card.note = note;
        card.error = error;
    }
    respond(ctx, headers, s, c, StatusCode::OK)
}

/// "Schedule" opens the composer on the captions; "Post now" creates the post directly.
#[allow(clippy::too_many_arguments)]
async fn hand_over(
    state: &AppState,
    session: &Session,
    user: &users::Model,
    ctx: PageContext,
    headers: &HeaderMap,
    sent: Sent,
    input: &Input,
    now: bool,
) -> Result<Response, AppError> {
    let mut errors = BTreeMap::new();
    if sent.cards.is_empty() {
        errors.insert(
            "cards".to_owned(),
            "Generate the captions first.".to_owned(),
        );
    }
    let connections = posts::postable_connections(&state.db, user.id).await?;
    let mut targets = Vec::new();
    let mut owner: HashMap<Uuid, Platform> = HashMap::new();
    for card in &sent.cards {
        let accounts: Vec<&connections::Model> = connections
            .iter()
            .filter(|c| c.platform == card.platform.as_str())
            .collect();
        if accounts.is_empty() {
            errors.insert(
                format!("card.{}", card.platform),
                format!(
                    "{name} isn't connected, so there's no account for this caption. Connect {name} under Connections, or remove this card.",
                    name = card.platform.display_name()
                ),
            );
        }
        if card.text.trim().is_empty() {
            errors.insert(
                format!("card.{}", card.platform),
                "This caption is empty. Write one or regenerate it.".to_owned(),
            );
        }
        for c in accounts {
            let Some(options) = TargetOptions::default_for(card.platform) else {
                continue;
            };
            let options = with_product_defaults(posts::with_account_defaults(options, c), input);
            owner.insert(c.id, card.platform);
            targets.push(TargetInput {
                connection_id: c.id,
                caption: Some(card.text.clone()),
                options,
            });
        }
    }
    if !errors.is_empty() {
        let (s, c) = view(state, user, &sent, Some(input), errors).await?;
        return respond(ctx, headers, s, c, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let draft = Draft {
        body: sent.cards[0].text.clone(),
        media_ids: input.media.iter().map(|m| m.id).collect(),
        targets,
        when: if now { When::Now } else { When::Draft(None) },
        product_id: input.product.as_ref().map(|p| p.id),
        template_id: None,
        utm_enabled: true,
    };
    if !now {
        return compose::open_with(state, user, ctx, headers, &draft).await;
    }
    match posts::create(&state.db, user.id, &draft, Utc::now()).await {
        Ok((post, _)) => {
            session::flash(
                session,
                FlashKind::Success,
                "Publishing now. You'll see each network's result on the post.",
            )
            .await?;
            let target = format!("/posts/{}", post.id);
            if headers.contains_key("hx-request") {
                let mut res = StatusCode::OK.into_response();
                if let Ok(v) = HeaderValue::from_str(&target) {
                    res.headers_mut().insert("hx-redirect", v);
                }
                return Ok(res);
            }
            Ok(Redirect::to(&target).into_response())
        }
        Err(PostError::Invalid(problems)) => {
            let errors = card_errors(&problems, &owner);
            let (s, c) = view(state, user, &sent, Some(input), errors).await?;
            respond(ctx, headers, s, c, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(PostError::Db(e)) => Err(e.into()),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// Titles and links the product gives, where a network's options want them.
fn with_product_defaults(options: TargetOptions, input: &Input) -> TargetOptions {
    let Some(p) = &input.product else {
        return options;
    };
    let title: String = p.title.chars().take(100).collect();
    match options {
        TargetOptions::Pinterest(mut o) => {
            if o.title.is_none() {
                o.title = Some(title);
            }
            if o.link.is_none() {
                o.link = p.url.clone();
            }
            TargetOptions::Pinterest(o)
        }
        TargetOptions::Youtube(mut o) => {
            if o.title.trim().is_empty() {
                o.title = title;
            }
            TargetOptions::Youtube(o)
        }
        other => other,
    }
}

/// The post's problems, moved onto the cards they belong to (`card.{platform}`).
fn card_errors(problems: &Problems, owner: &HashMap<Uuid, Platform>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (field, message) in &problems.fields {
        let platform = field
            .strip_prefix("targets.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| owner.get(&id));
        let key = match platform {
            Some(p) => format!("card.{p}"),
            None => "cards".to_owned(),
        };
        out.entry(key).or_insert_with(|| message.clone());
    }
    out
}

fn failure_status(e: &StudioError) -> StatusCode {
    match e {
        StudioError::Allowance { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::OK,
    }
}

fn message_of(e: StudioError) -> String {
    if let StudioError::Internal(err) = &e {
        tracing::error!(error = ?err, "an AI Studio call failed");
    }
    e.user_message()
}

fn internal(e: StudioError) -> AppError {
    match e {
        StudioError::Internal(e) => AppError::Internal(e),
        other => AppError::Internal(anyhow::anyhow!(other.to_string())),
    }
}

fn respond(
    ctx: PageContext,
    headers: &HeaderMap,
    s: View,
    c: MediaPanel,
    status: StatusCode,
) -> Result<Response, AppError> {
    let target = headers.get("hx-target").and_then(|v| v.to_str().ok());
    match (headers.contains_key("hx-request"), target) {
        (true, Some("drawer")) => {
            // "Schedule" aimed at the drawer, but there is something to fix first: show it on
            // the Studio instead.
            let mut res = render::page_with_status(status, &Workspace { ctx, s, c })?;
            res.headers_mut()
                .insert("hx-retarget", HeaderValue::from_static("#studio-workspace"));
            res.headers_mut()
                .insert("hx-reswap", HeaderValue::from_static("outerHTML"));
            Ok(res)
        }
        (true, _) => render::page_with_status(status, &Workspace { ctx, s, c }),
        (false, _) => render::page_with_status(
            status,
            &StudioPage {
                ctx: ctx.at("studio"),
                s,
                c,
            },
        ),
    }
}
