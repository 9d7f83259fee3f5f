//! Bulk operations (shopify.dev "Perform bulk operations with the GraphQL Admin API"):
//! `bulkOperationRunQuery` starts one, `currentBulkOperation` and `node(id:)` report it
//! (`CREATED` → `RUNNING` → `COMPLETED`, then `EXPIRED` when its file is gone), and its result is
//! a JSONL file on a storage host, one object a line, nested connections flattened into lines of
//! their own that carry `__parentId`. Also `deletionEvents`, which is how a client learns what
//! was deleted since its last sync.
//!
//! The file is never stored: it is the deterministic catalog as of the operation's completion,
//! rendered line by line while it is being sent (a `Range: bytes=N-` request starts rendering at
//! the nearest product boundary recorded when the operation completed), so a shop of 100 000
//! products costs a few hundred checkpoints, not the file.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::super::catalog::ShopCatalog;
use super::super::graphql::{self, Document, Exec, Field, GqlError, OpKind};
use super::super::state::{Shared, lock};
use super::products::{self, SortKey, Term};
use crate::domain::Platform;

/// The storage host and bucket the result files are served from, as Shopify's are.
pub(crate) const FILE_HOST: &str = "storage.googleapis.com";
const FILE_PREFIX: &str = "/shopify-tiers-assets-prod-us-east1/bulk-operation-outputs/";
/// A product's line offset is recorded every this many products, for ranged downloads.
const MARK_EVERY: u64 = 50;
/// Nested connections in a bulk query are not paginated: every node comes (the sandbox's
/// products have at most 6 images and 5 variants).
const NESTED_CONNECTIONS: &[&str] = &["media", "images", "variants"];
/// How long an operation stays `CREATED` before it is `RUNNING` (long enough that the mutation's
/// own answer says `CREATED` however slow the machine is).
const CREATED_MS: i64 = 1000;

/// Every bulk operation the sandbox has run.
#[derive(Default)]
pub(crate) struct BulkState {
    ops: Vec<Arc<BulkOp>>,
    summaries: std::collections::HashMap<u64, Arc<Summary>>,
}

pub(crate) struct BulkOp {
    id: u64,
    shop: String,
    query: String,
    prepared: Prepared,
    created_at: DateTime<Utc>,
    completes_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// Products the query selected when it started, for `objectCount` while it runs.
    estimate: u64,
    /// The unguessable part of the file's URL.
    file: String,
}

/// What the finished file holds, measured once by rendering it.
struct Summary {
    object_count: u64,
    root_count: u64,
    file_size: u64,
    /// `(product index, byte offset of its line)` every [`MARK_EVERY`] products.
    marks: Vec<(usize, u64)>,
}

/// A validated bulk query, its nested connections unpaginated.
struct Prepared {
    doc: Document,
    /// The `products(query:)` filter.
    filter: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Created,
    Running,
    Completed,
    Expired,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Expired => "EXPIRED",
        }
    }
}

impl BulkOp {
    fn gid(&self) -> String {
        format!("gid://shopify/BulkOperation/{}", self.id)
    }

    fn status(&self, now: DateTime<Utc>) -> Status {
        if now < self.created_at + Duration::milliseconds(CREATED_MS) {
            Status::Created
        } else if now < self.completes_at {
            Status::Running
        } else if now < self.expires_at {
            Status::Completed
        } else {
            Status::Expired
        }
    }

    fn url(&self, shared: &Shared) -> String {
        let signature = super::sign(
            shared.client_secret(Platform::Shopify),
            &[("file", self.file.clone())],
        );
        let ttl = (self.expires_at - self.completes_at).num_seconds();
        format!(
            "https://{FILE_HOST}{FILE_PREFIX}{}-final?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires={ttl}&X-Goog-Signature={signature}",
            self.file
        )
    }
}

fn user_error(field: Option<&str>, message: String, code: &str) -> Value {
    json!({ "field": field.map(|f| vec![f]), "message": message, "code": code })
}

/// The field whose selection is a product: `products { edges { node } }` or `products { nodes }`.
fn node_field(doc: &Document) -> Result<(&Field, &Field), String> {
    let [op] = doc.operations.as_slice() else {
        return Err("Bulk queries must contain exactly one operation.".into());
    };
    if op.kind != OpKind::Query {
        return Err("Bulk queries must be queries, not mutations or subscriptions.".into());
    }
    let top = doc.all_fields(&op.selection);
    let [products] = top.as_slice() else {
        return Err("Bulk queries must contain exactly one top-level connection field.".into());
    };
    if products.name != "products" {
        return Err(format!(
            "The sandbox's bulk queries read `products` only, not `{}`.",
            products.name
        ));
    }
    for field in doc.all_fields(&products.selection) {
        match field.name.as_str() {
            "nodes" => return Ok((products, field)),
            "edges" => {
                if let Some(node) = doc
                    .all_fields(&field.selection)
                    .into_iter()
                    .find(|f| f.name == "node")
                {
                    return Ok((products, node));
                }
            }
            _ => {}
        }
    }
    Err(
        "Bulk queries must select `edges { node { … } }` or `nodes { … }` of the connection."
            .into(),
    )
}

/// Parses and checks a bulk query the way `bulkOperationRunQuery` does, and drops the
/// pagination of its nested connections.
fn prepare(query: &str) -> Result<Prepared, String> {
    let mut doc =
        graphql::parse(query).map_err(|e| format!("Invalid bulk query: {}", e.message))?;
    let filter = {
        let (products, node) = node_field(&doc)?;
        let fields = doc.all_fields(&node.selection);
        if let Some(nested) = fields
            .iter()
            .find(|f| NESTED_CONNECTIONS.contains(&f.name.as_str()))
            && !fields.iter().any(|f| f.name == "id")
        {
            return Err(format!(
                "The parent 'node' field for a nested connection must select the 'id' field. Connection field: '{}'.",
                nested.name
            ));
        }
        match products.args.iter().find(|(n, _)| n == "query") {
            Some((_, graphql::GValue::Str(s))) => Some(s.clone()),
            _ => None,
        }
    };
    doc.fields_mut(&mut |f| {
        if NESTED_CONNECTIONS.contains(&f.name.as_str()) {
            f.args
                .retain(|(n, _)| !matches!(n.as_str(), "first" | "last" | "after" | "before"));
            f.args.push(("first".into(), graphql::GValue::Int(250)));
        }
    });
    Ok(Prepared { doc, filter })
}

/// Whether a JSON value is a rendered connection (only `edges`, `nodes`, `pageInfo`).
fn is_connection(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        !m.is_empty()
            && m.keys()
                .all(|k| matches!(k.as_str(), "edges" | "nodes" | "pageInfo"))
            && (m.contains_key("edges") || m.contains_key("nodes"))
    })
}

/// One object and, after it, the nodes of its connections, each line with `__parentId`.
fn flatten(mut obj: Value, parent: Option<&str>, out: &mut Vec<u8>) -> u64 {
    let mut children = Vec::new();
    if let Value::Object(map) = &mut obj {
        let keys: Vec<String> = map
            .iter()
            .filter(|(_, v)| is_connection(v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            children.extend(map.remove(&k));
        }
        if let Some(p) = parent {
            map.insert("__parentId".into(), json!(p));
        }
    }
    let id = obj.get("id").and_then(Value::as_str).map(str::to_owned);
    if serde_json::to_writer(&mut *out, &obj).is_err() {
        return 0;
    }
    out.push(b'\n');
    let mut objects = 1;
    for mut connection in children {
        let nodes: Vec<Value> = match connection.get_mut("nodes").map(Value::take) {
            Some(Value::Array(nodes)) => nodes,
            _ => match connection.get_mut("edges").map(Value::take) {
                Some(Value::Array(edges)) => edges
                    .into_iter()
                    .filter_map(|mut e| e.get_mut("node").map(Value::take))
                    .collect(),
                _ => Vec::new(),
            },
        };
        for node in nodes {
            objects += flatten(node, id.as_deref(), out);
        }
    }
    objects
}

/// Product `index`'s lines; how many objects they hold.
fn render(
    cat: &ShopCatalog<'_>,
    prepared: &Prepared,
    index: usize,
    out: &mut Vec<u8>,
) -> Result<u64, GqlError> {
    let (mut exec, _) = Exec::new(&prepared.doc, None, Map::new())?;
    let (_, node) = node_field(&prepared.doc).map_err(|message| GqlError {
        message,
        line: 1,
        column: 1,
        path: Vec::new(),
        extensions: None,
    })?;
    let value = products::product_object(&mut exec, cat, &cat.product(index), node, &[])?;
    Ok(flatten(value, None, out))
}

fn selects(cat: &ShopCatalog<'_>, terms: &[Term], index: usize) -> bool {
    // Without a filter the product's keys (a dozen hashes) aren't needed.
    cat.exists(index) && (terms.is_empty() || products::matches(terms, &cat.head(index)))
}

fn terms_of(prepared: &Prepared) -> Vec<Term> {
    prepared
        .filter
        .as_deref()
        .map(products::terms)
        .unwrap_or_default()
}

fn find(shared: &Shared, id: u64) -> Option<Arc<BulkOp>> {
    lock(&shared.shopify_bulk)
        .ops
        .iter()
        .find(|o| o.id == id)
        .cloned()
}

/// The finished file's measurements, rendering it once the first time they are asked for.
fn summary(shared: &Shared, op: &BulkOp) -> Arc<Summary> {
    if let Some(s) = lock(&shared.shopify_bulk).summaries.get(&op.id) {
        return s.clone();
    }
    let cat = ShopCatalog::new(shared, Platform::Shopify, &op.shop, op.completes_at);
    let terms = terms_of(&op.prepared);
    let (mut object_count, mut root_count, mut file_size) = (0, 0, 0u64);
    let mut marks = Vec::new();
    let mut buf = Vec::new();
    for index in (0..cat.count).filter(|i| selects(&cat, &terms, *i)) {
        if root_count % MARK_EVERY == 0 {
            marks.push((index, file_size));
        }
        buf.clear();
        if let Ok(n) = render(&cat, &op.prepared, index, &mut buf) {
            object_count += n;
            root_count += 1;
            file_size += buf.len() as u64;
        }
    }
    let s = Arc::new(Summary {
        object_count,
        root_count,
        file_size,
        marks,
    });
    lock(&shared.shopify_bulk)
        .summaries
        .insert(op.id, s.clone());
    s
}

/// `bulkOperationRunQuery(query:) { bulkOperation { … } userErrors { field message code } }`.
pub(crate) fn run_query<'a>(
    exec: &mut Exec<'a>,
    shared: &Shared,
    shop: &str,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    products::check_args(field, path, &["query", "groupObjects"])?;
    exec.needs_selection(field, path, "BulkOperationRunQueryPayload")?;
    let Some(query) = exec
        .arg(field, "query")
        .and_then(|v| v.as_str().map(str::to_owned))
    else {
        return Err(products::error(
            field,
            path,
            "Field 'bulkOperationRunQuery' is missing required arguments: query".into(),
            "missingRequiredArguments",
        ));
    };
    let now = shared.clock.now();
    let outcome = start(shared, shop, &query, now);
    let (op, errors) = match outcome {
        Ok(op) => (Some(op), Vec::new()),
        Err(e) => (None, vec![e]),
    };
    exec.object(
        "BulkOperationRunQueryPayload",
        &field.selection,
        path,
        &mut |exec, f, path| match f.name.as_str() {
            "bulkOperation" => {
                exec.no_arguments(f, path)?;
                match &op {
                    Some(op) => operation_object(exec, shared, op, f, path).map(Some),
                    None => {
                        exec.needs_selection(f, path, "BulkOperation")?;
                        Ok(Some(Value::Null))
                    }
                }
            }
            "userErrors" => {
                exec.no_arguments(f, path)?;
                exec.needs_selection(f, path, "BulkOperationUserError")?;
                let mut out = Vec::new();
                for e in &errors {
                    out.push(exec.object(
                        "BulkOperationUserError",
                        &f.selection,
                        path,
                        &mut |exec, g, path| match g.name.as_str() {
                            "field" | "message" | "code" => {
                                exec.scalar(g, path, e[g.name.as_str()].clone())
                            }
                            _ => Ok(None),
                        },
                    )?);
                }
                Ok(Some(Value::Array(out)))
            }
            _ => Ok(None),
        },
    )
}

/// Starts an operation, or says why not as a user error.
fn start(
    shared: &Shared,
    shop: &str,
    query: &str,
    now: DateTime<Utc>,
) -> Result<Arc<BulkOp>, Value> {
    let prepared = prepare(query).map_err(|m| user_error(Some("query"), m, "INVALID"))?;
    let cat = ShopCatalog::new(shared, Platform::Shopify, shop, now);
    let terms = terms_of(&prepared);
    // Fields the query names that don't exist fail now, as Shopify validates before it runs.
    if let Some(first) = (0..cat.count).find(|i| cat.exists(*i)) {
        render(&cat, &prepared, first, &mut Vec::new()).map_err(|e| {
            user_error(
                Some("query"),
                format!("Invalid bulk query: {}", e.message),
                "INVALID",
            )
        })?;
    }
    let estimate = (0..cat.count).filter(|i| selects(&cat, &terms, *i)).count() as u64;
    let config = &shared.config;
    let run_ms = config.shopify_bulk_base_ms
        + (estimate * config.shopify_bulk_us_per_product).div_ceil(1000);
    let mut state = lock(&shared.shopify_bulk);
    if let Some(running) = state
        .ops
        .iter()
        .find(|o| o.shop == shop && matches!(o.status(now), Status::Created | Status::Running))
    {
        return Err(user_error(
            None,
            format!(
                "A bulk query operation for this app and shop is already in progress: {}.",
                running.gid()
            ),
            "OPERATION_IN_PROGRESS",
        ));
    }
    let id = 4_412_000_000_000 + state.ops.len() as u64 * 7 + 1;
    let completes_at = now + Duration::milliseconds(run_ms as i64);
    let op = Arc::new(BulkOp {
        id,
        shop: shop.to_owned(),
        query: query.to_owned(),
        prepared,
        created_at: now,
        completes_at,
        expires_at: completes_at + Duration::seconds(config.shopify_bulk_url_ttl_secs),
        estimate,
        file: shared.new_chars("", 40),
    });
    state.ops.push(op.clone());
    Ok(op)
}

/// `currentBulkOperation(type: QUERY)`: the shop's latest query operation, or null.
pub(crate) fn current<'a>(
    exec: &mut Exec<'a>,
    shared: &Shared,
    shop: &str,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    products::check_args(field, path, &["type"])?;
    let latest = lock(&shared.shopify_bulk)
        .ops
        .iter()
        .rev()
        .find(|o| o.shop == shop)
        .cloned();
    match latest {
        // Mutation operations are not emulated, so `type: MUTATION` has none.
        Some(op)
            if exec
                .arg(field, "type")
                .is_none_or(|t| t.as_str() == Some("QUERY")) =>
        {
            operation_object(exec, shared, &op, field, path)
        }
        _ => {
            exec.needs_selection(field, path, "BulkOperation")?;
            Ok(Value::Null)
        }
    }
}

/// `node(id:)` for a bulk operation of this shop or a product; null for anything else.
pub(crate) fn node<'a>(
    exec: &mut Exec<'a>,
    shared: &Shared,
    catalog: &ShopCatalog<'_>,
    shop: &str,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    products::check_args(field, path, &["id"])?;
    exec.needs_selection(field, path, "Node")?;
    let id = exec
        .arg(field, "id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if let Some(n) = id.strip_prefix("gid://shopify/BulkOperation/") {
        return match n.parse().ok().and_then(|n| find(shared, n)) {
            Some(op) if op.shop == shop => operation_object(exec, shared, &op, field, path),
            _ => Ok(Value::Null),
        };
    }
    if id.starts_with("gid://shopify/Product/") {
        return products::product(exec, catalog, field, path);
    }
    Ok(Value::Null)
}

fn operation_object<'a>(
    exec: &mut Exec<'a>,
    shared: &Shared,
    op: &BulkOp,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    exec.needs_selection(field, path, "BulkOperation")?;
    let now = shared.clock.now();
    let status = op.status(now);
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    // Measuring the file renders it; only a question that needs the numbers pays for that.
    let needs_summary = status == Status::Completed
        && selected_names(field).iter().any(|n| {
            matches!(
                n.as_str(),
                "objectCount" | "rootObjectCount" | "fileSize" | "url"
            )
        });
    let summary = needs_summary.then(|| summary(shared, op));
    let (objects, roots, size) = match (&summary, status) {
        (Some(s), _) => (s.object_count, s.root_count, Some(s.file_size)),
        (None, Status::Running) => {
            let done = (now - op.created_at).num_milliseconds().max(0) as u64;
            let all = (op.completes_at - op.created_at).num_milliseconds().max(1) as u64;
            let roots = op.estimate * done.min(all) / all;
            (roots, roots, None)
        }
        _ => (0, 0, None),
    };
    let url = summary
        .as_ref()
        .filter(|s| s.file_size > 0)
        .map(|_| op.url(shared));
    exec.object(
        "BulkOperation",
        &field.selection,
        path,
        &mut |exec, f, path| {
            let v = match f.name.as_str() {
                "id" => json!(op.gid()),
                "status" => json!(status.name()),
                "errorCode" => Value::Null,
                "type" => json!("QUERY"),
                "query" => json!(op.query),
                // UnsignedInt64 is a string in JSON.
                "objectCount" => json!(objects.to_string()),
                "rootObjectCount" => json!(roots.to_string()),
                "fileSize" => json!(size.map(|s| s.to_string())),
                "url" => json!(url),
                "partialDataUrl" => Value::Null,
                "createdAt" => json!(rfc(op.created_at)),
                "completedAt" => json!(
                    matches!(status, Status::Completed | Status::Expired)
                        .then(|| rfc(op.completes_at))
                ),
                _ => return Ok(None),
            };
            exec.scalar(f, path, v)
        },
    )
}

/// The names of the fields selected on `field` (any type).
fn selected_names(field: &Field) -> Vec<String> {
    fn walk(selection: &[graphql::Selection], out: &mut Vec<String>) {
        for s in selection {
            match s {
                graphql::Selection::Field(f) => out.push(f.name.clone()),
                graphql::Selection::Inline { selection, .. } => walk(selection, out),
                // Named fragments: assume the worst (the file is measured).
                graphql::Selection::Spread(_) => out.push("url".into()),
            }
        }
    }
    let mut out = Vec::new();
    walk(&field.selection, &mut out);
    out
}

/// `deletionEvents(subjectTypes:, query: "occurred_at:>'…'", first:, after:, reverse:)`.
pub(crate) fn deletion_events<'a>(
    exec: &mut Exec<'a>,
    catalog: &ShopCatalog<'_>,
    field: &'a Field,
    path: &[String],
) -> Result<Value, GqlError> {
    products::check_args(
        field,
        path,
        &[
            "first",
            "after",
            "query",
            "subjectTypes",
            "sortKey",
            "reverse",
        ],
    )?;
    let Some(first) = exec.arg(field, "first").and_then(|v| v.as_u64()) else {
        return Err(products::error(
            field,
            path,
            "you must provide one of first or last".into(),
            "BAD_REQUEST",
        ));
    };
    if first > 250 {
        return Err(products::error(
            field,
            path,
            "The 'first' argument must be between 0 and 250.".into(),
            "BAD_REQUEST",
        ));
    }
    let products_asked = exec
        .arg(field, "subjectTypes")
        .and_then(|v| v.as_array().cloned())
        .is_none_or(|types| types.iter().any(|t| t.as_str() == Some("PRODUCT")));
    let terms = exec
        .arg(field, "query")
        .and_then(|v| v.as_str().map(products::terms))
        .unwrap_or_default();
    let reverse = exec
        .arg(field, "reverse")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut rows: Vec<(i64, u64)> = catalog
        .deletions()
        .into_iter()
        .filter(|_| products_asked)
        .filter(|(at, _)| {
            terms.iter().all(|t| match t.field.as_str() {
                "occurred_at" => products::parse_time(&t.value)
                    .is_none_or(|bound| products::compare(*at, t.op, bound)),
                _ => true,
            })
        })
        .map(|(at, id)| (at.timestamp_millis(), id))
        .collect();
    if reverse {
        rows.reverse();
    }
    let after = match exec.arg(field, "after") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|c| products::decode_cursor(SortKey::UpdatedAt, c))
                .ok_or_else(|| {
                    products::error(
                        field,
                        path,
                        "Invalid cursor for current pagination sort.".into(),
                        "BAD_REQUEST",
                    )
                })?,
        ),
    };
    let start = after.map_or(0, |a| {
        rows.iter()
            .position(|r| if reverse { *r < a } else { *r > a })
            .unwrap_or(rows.len())
    });
    let end = (start + first as usize).min(rows.len());
    let page = products::Page {
        items: rows[start..end]
            .iter()
            .map(|(at, id)| {
                (
                    products::cursor_of(SortKey::UpdatedAt, *at, *id),
                    (*at, *id),
                )
            })
            .collect(),
        has_next: end < rows.len(),
        has_previous: start > 0,
    };
    products::connection(
        exec,
        "DeletionEvent",
        field,
        path,
        &page,
        &mut |exec, (at, id), f, path| {
            let at = DateTime::from_timestamp_millis(*at)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
            exec.object("DeletionEvent", &f.selection, path, &mut |exec, g, path| {
                let v = match g.name.as_str() {
                    "subjectId" => json!(format!("gid://shopify/Product/{id}")),
                    "subjectType" => json!("PRODUCT"),
                    "occurredAt" => json!(at),
                    _ => return Ok(None),
                };
                exec.scalar(g, path, v)
            })
        },
    )
}

/// Renders the file from product `next` on, dropping the first `skip` bytes.
struct FileBody {
    shared: Arc<Shared>,
    op: Arc<BulkOp>,
    terms: Vec<Term>,
    next: usize,
    skip: u64,
}

impl Iterator for FileBody {
    type Item = Result<Bytes, Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        let cat = ShopCatalog::new(
            &self.shared,
            Platform::Shopify,
            &self.op.shop,
            self.op.completes_at,
        );
        loop {
            if self.next >= cat.count {
                return None;
            }
            let mut out = Vec::new();
            while self.next < cat.count && out.len() < 64 * 1024 {
                let index = self.next;
                self.next += 1;
                if selects(&cat, &self.terms, index) {
                    let _ = render(&cat, &self.op.prepared, index, &mut out);
                }
            }
            if self.skip > 0 {
                let drop = (self.skip as usize).min(out.len());
                out.drain(..drop);
                self.skip -= drop as u64;
            }
            if !out.is_empty() {
                return Some(Ok(Bytes::from(out)));
            }
        }
    }
}

fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=UTF-8"),
    );
    res
}

/// `Range: bytes=N-` → N; other forms are answered with the whole file, as a server may.
fn range_start(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(header::RANGE)?.to_str().ok()?;
    v.trim()
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

/// `GET https://storage.googleapis.com/…/bulk-operation-outputs/{file}-final`.
pub(crate) async fn file(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = shared.clock.now();
    let token = name.strip_suffix("-final").unwrap_or(&name);
    let op = lock(&shared.shopify_bulk)
        .ops
        .iter()
        .find(|o| o.file == token)
        .cloned();
    let Some(op) = op.filter(|o| o.status(now) != Status::Created && now >= o.completes_at) else {
        return storage_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if op.status(now) == Status::Expired {
        return storage_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let summary = {
        let shared = shared.clone();
        let op = op.clone();
        tokio::task::spawn_blocking(move || summary(&shared, &op))
            .await
            .unwrap_or_else(|_| {
                Arc::new(Summary {
                    object_count: 0,
                    root_count: 0,
                    file_size: 0,
                    marks: Vec::new(),
                })
            })
    };
    let size = summary.file_size;
    let from = range_start(&headers);
    let start = from.unwrap_or(0);
    if from.is_some() && start >= size {
        let mut res = storage_error(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range cannot be satisfied.",
        );
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
        return res;
    }
    let (next, at) = summary
        .marks
        .iter()
        .rev()
        .find(|(_, offset)| *offset <= start)
        .copied()
        .unwrap_or((0, 0));
    let body = FileBody {
        shared: shared.clone(),
        terms: terms_of(&op.prepared),
        op,
        next,
        skip: start - at,
    };
    let mut res = Response::new(Body::from_stream(futures::stream::iter(body)));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&(size - start).to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if from.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", size - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    res
}
