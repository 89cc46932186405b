//! SCIM 2.0 (RFC 7643/7644) under `/scim/v2`: an identity provider provisions users and groups
//! with the bearer token from the Users tab's Provisioning card. This layer speaks the protocol
//! (resources as JSON, filters, PATCH operations, SCIM error bodies); what a change does and
//! may not do is `app::provisioning::ssr::directory`'s.

mod patch;
mod schemas;

use crate::{
    AppState,
    auth::caller::{Caller, client_of},
};
use app::db::Pool;
use app::{
    error::AppError,
    provisioning::ssr::directory::{
        self, Attribute, Filter, Group, GroupFields, MAX_PAGE, User, UserFields,
    },
    users::Email,
};
use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, Query, State, rejection::JsonRejection},
    http::{HeaderValue, StatusCode, header, request::Parts},
    middleware,
    response::{IntoResponse, Response},
    routing::{any, get, post},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use tower_http::limit::RequestBodyLimitLayer;

pub const BASE: &str = "/scim/v2";
const CONTENT_TYPE: &str = "application/scim+json";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Without `count`, a page holds this many resources.
const DEFAULT_COUNT: i64 = 100;

/// The SCIM layer's error: a status, a `scimType` where RFC 7644 §3.12 names one, and a
/// detail for the identity provider's log. Never an internal message.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: Cow<'static, str>,
}

impl ScimError {
    fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub(crate) fn bad(scim_type: &'static str, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "No such resource.")
    }

    #[cfg(test)]
    pub(crate) fn scim_type(&self) -> Option<&'static str> {
        self.scim_type
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => Self::not_found(),
            AppError::Conflict(m) => Self::new(StatusCode::CONFLICT, Some("uniqueness"), m),
            AppError::Invalid { message, .. } => Self::bad("invalidValue", message),
            AppError::BadRequest(m) => Self::bad("invalidSyntax", m),
            other => {
                let status = StatusCode::from_u16(other.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Self::new(status, None, other.to_string())
            }
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        let mut response = scim_json(self.status, body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

fn scim_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

type Result<T> = std::result::Result<T, ScimError>;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(schemas::service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(schemas::resource_types))
        .route("/scim/v2/ResourceTypes/{name}", get(schemas::resource_type))
        .route("/scim/v2/Schemas", get(schemas::schemas))
        .route("/scim/v2/Schemas/{id}", get(schemas::schema))
        .route("/scim/v2/Users", get(list::<Users>).post(create::<Users>))
        .route("/scim/v2/Users/.search", post(search::<Users>))
        .route(
            "/scim/v2/Users/{id}",
            get(get_one::<Users>)
                .put(put::<Users>)
                .patch(patch_one::<Users>)
                .delete(delete::<Users>),
        )
        .route(
            "/scim/v2/Groups",
            get(list::<Groups>).post(create::<Groups>),
        )
        .route("/scim/v2/Groups/.search", post(search::<Groups>))
        .route(
            "/scim/v2/Groups/{id}",
            get(get_one::<Groups>)
                .put(put::<Groups>)
                .patch(patch_one::<Groups>)
                .delete(delete::<Groups>),
        )
        .route("/scim/v2/.search", post(search_everything))
        // Anything else under the base answers as SCIM does, not with the site's 404 page.
        .route("/scim/v2/{*rest}", any(unknown_endpoint))
        .route_layer(middleware::from_extractor_with_state::<ProvisioningClient, _>(state.clone()))
        // A provisioning request is a resource or a batch of PATCH operations: small.
        .layer(RequestBodyLimitLayer::new(256 * 1024))
}

/// The identity provider's provisioning client, by the enabled provisioning token: every SCIM
/// route requires it. Refusals count towards the same per-client limit as the REST API's.
pub struct ProvisioningClient;

impl FromRequestParts<AppState> for ProvisioningClient {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        match Caller::of(parts) {
            Caller::ProvisioningClient => Ok(Self),
            Caller::Throttled => Err(ScimError::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                "Too many failed attempts; try again later.",
            )),
            _ => {
                state.api_throttle.fail(client_of(&parts.extensions));
                Err(ScimError::new(
                    StatusCode::UNAUTHORIZED,
                    None,
                    "Send the provisioning token from the Users tab as Authorization: Bearer <token>; it may have been regenerated or disabled.",
                ))
            }
        }
    }
}

async fn unknown_endpoint() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, "No such SCIM endpoint.")
}

/// The resource id in a path: ours are integers; anything else names nothing.
fn resource_id(raw: &str) -> Result<i64> {
    raw.parse().map_err(|_| ScimError::not_found())
}

fn location(kind: &str, id: i64) -> String {
    format!("{BASE}/{kind}/{id}")
}

/// The attributes kept as the identity provider sent them (`scim_attributes`).
const KEPT: [&str; 4] = ["displayName", "name", "emails", "active"];

/// A user as SCIM shows them: what the identity provider set reads back as it was sent; a
/// user added on the Users tab shows their name, email and state.
fn user_json(u: &User) -> Value {
    let mut v = json!({
        "schemas": [USER],
        "id": u.id.to_string(),
        "userName": u.scim_user_name.as_deref().unwrap_or(&u.handle),
        "meta": {
            "resourceType": "User",
            "created": u.created_at,
            "lastModified": u.updated_at,
            "location": location("Users", u.id),
        },
    });
    let kept = u
        .scim_attributes
        .as_deref()
        .and_then(|a| serde_json::from_str::<Map<String, Value>>(a).ok());
    match kept {
        Some(kept) => {
            for (k, value) in kept {
                v[k] = value;
            }
            // Given or not, the state is the one sign-in goes by.
            if v.get("active").is_some() {
                v["active"] = json!(u.active);
            }
        }
        None => {
            v["displayName"] = json!(u.name);
            v["active"] = json!(u.active);
            if Email::parse(&u.handle).is_ok() {
                v["emails"] = json!([{ "value": u.handle, "type": "work", "primary": true }]);
            }
        }
    }
    if let Some(x) = &u.external_id {
        v["externalId"] = json!(x);
    }
    v
}

fn group_json(g: &Group) -> Value {
    let mut v = json!({
        "schemas": [GROUP],
        "id": g.id.to_string(),
        "displayName": g.name,
        "meta": {
            "resourceType": "Group",
            "created": g.created_at,
            "lastModified": g.updated_at,
            "location": location("Groups", g.id),
        },
    });
    {
        v["members"] = g
            .members
            .iter()
            // As a client writes a member: what it reads back compares equal to what it sent.
            .map(|(id, _email)| json!({ "value": id.to_string(), "$ref": location("Users", *id) }))
            .collect();
    }
    if let Some(x) = &g.external_id {
        v["externalId"] = json!(x);
    }
    v
}

fn created(kind: &str, id: i64, body: Value) -> Response {
    let mut response = scim_json(StatusCode::CREATED, body);
    if let Ok(l) = HeaderValue::from_str(&location(kind, id)) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    response
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListParams {
    /// A SearchRequest body's parameters (attribute lists may come as arrays).
    fn from_search(body: &Map<String, Value>) -> Self {
        let text = |name: &str| match patch::get(body, name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        Self {
            filter: text("filter"),
            start_index: text("startIndex"),
            count: text("count"),
            attributes: text("attributes"),
            excluded_attributes: text("excludedAttributes"),
        }
    }

    /// `attributes` keeps only the named ones, `excludedAttributes` drops the named ones
    /// (RFC 7644 §3.4.2.5); `id` and `schemas` are always returned.
    fn project(&self, resource: Value) -> Value {
        let Value::Object(mut map) = resource else {
            return resource;
        };
        let names = |list: &Option<String>| -> Option<Vec<String>> {
            list.as_ref().map(|l| {
                l.split(',')
                    .map(|a| {
                        let a = a.trim();
                        let a = if a.starts_with("urn:") {
                            a.rsplit(':').next().unwrap_or(a)
                        } else {
                            a
                        };
                        a.split('.').next().unwrap_or(a).to_ascii_lowercase()
                    })
                    .filter(|a| !a.is_empty())
                    .collect()
            })
        };
        let always = |k: &str| k == "id" || k == "schemas";
        if let Some(keep) = names(&self.attributes) {
            map.retain(|k, _| always(k) || keep.contains(&k.to_ascii_lowercase()));
        }
        if let Some(drop) = names(&self.excluded_attributes) {
            map.retain(|k, _| always(k) || !drop.contains(&k.to_ascii_lowercase()));
        }
        Value::Object(map)
    }
}

/// `startIndex` (1-based, below 1 means 1) and `count` (0 to 200), as RFC 7644 §3.4.2.4 reads
/// them; anything that is not a number is refused.
fn paging(p: &ListParams) -> Result<(i64, i64)> {
    let number = |raw: &Option<String>, name: &str, default: i64| -> Result<i64> {
        match raw {
            None => Ok(default),
            Some(s) => s.trim().parse::<i64>().map_err(|_| {
                ScimError::bad("invalidValue", format!("{name} must be a whole number."))
            }),
        }
    };
    Ok((
        number(&p.start_index, "startIndex", 1)?.max(1),
        number(&p.count, "count", DEFAULT_COUNT)?.clamp(0, MAX_PAGE),
    ))
}

/// A list request's page and filter.
fn listing(params: &ListParams, kind: &str) -> Result<(i64, i64, Filter)> {
    let (start, count) = paging(params)?;
    let filter = params
        .filter
        .as_deref()
        .map(|f| parse_filter(f, kind))
        .transpose()?;
    Ok((start, count, filter))
}

/// `attr eq "value"`: the filters identity providers send to find a resource before creating
/// it (RFC 7644 §3.4.2.2). Other operators and combinations are refused as `invalidFilter`.
fn parse_filter(raw: &str, kind: &str) -> Result<(Attribute, String)> {
    let unsupported = || {
        ScimError::bad(
            "invalidFilter",
            "Supported filters: userName, externalId, displayName or id, with eq and a quoted value.",
        )
    };
    let raw = raw.trim();
    let (attr, rest) = raw
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    let (op, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value: String = serde_json::from_str(value.trim()).map_err(|_| unsupported())?;
    let attr = attr.rsplit(':').next().unwrap_or(attr).to_ascii_lowercase();
    let attribute = match (attr.as_str(), kind) {
        ("username" | "emails.value" | "emails", "user") => Attribute::Name,
        ("displayname", "user") => Attribute::DisplayName,
        ("displayname", "group") => Attribute::Name,
        ("externalid", _) => Attribute::ExternalId,
        ("id", _) => Attribute::Id,
        _ => return Err(unsupported()),
    };
    Ok((attribute, value))
}

fn list_response(total: i64, start: i64, resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": [LIST],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

fn body(json: std::result::Result<Json<Value>, JsonRejection>) -> Result<Map<String, Value>> {
    match json {
        Ok(Json(Value::Object(map))) => Ok(map),
        Ok(_) => Err(ScimError::bad(
            "invalidSyntax",
            "The body must be a JSON object.",
        )),
        Err(e) => Err(ScimError::bad(
            "invalidSyntax",
            format!(
                "The body is not JSON a SCIM server can read: {}",
                e.body_text()
            ),
        )),
    }
}

/// A user's fields from a resource body (POST, PUT, and a PATCH applied to the current one).
/// Gatehouse signs users in by email: `userName` when it is one, else the primary (or first)
/// of `emails`, and `userName` is then kept beside it.
fn user_fields(doc: &Map<String, Value>) -> Result<UserFields> {
    let get = |name: &str| patch::get(doc, name);
    let user_name = get("userName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required."))?;
    if user_name.chars().count() > 254 {
        return Err(ScimError::bad(
            "invalidValue",
            "userName has at most 254 characters.",
        ));
    }
    let listed = || -> Option<Email> {
        let emails = get("emails")?.as_array()?;
        let primary = emails
            .iter()
            .find(|e| e.get("primary").and_then(patch::boolean) == Some(true));
        primary
            .into_iter()
            .chain(emails.iter())
            .find_map(|e| Email::parse(e.get("value")?.as_str()?).ok())
    };
    // Signed in by email: userName when it is one, else the primary (or first) of emails; an
    // identity provider that sends neither gets a user known by the userName alone.
    let (handle, own_user_name) = match (Email::parse(user_name), listed()) {
        (Ok(email), _) => (email.as_str().to_owned(), None),
        (Err(_), Some(email)) => (email.as_str().to_owned(), Some(user_name.to_owned())),
        // Kept as sent in userName; the handle is folded like an email, so that it is found
        // alike on every database.
        (Err(_), None) => (
            user_name.to_ascii_lowercase(),
            (user_name.to_ascii_lowercase() != user_name).then(|| user_name.to_owned()),
        ),
    };
    let kept: Map<String, Value> = KEPT
        .iter()
        .filter_map(|k| {
            get(k)
                .filter(|v| !v.is_null())
                .map(|v| ((*k).to_owned(), v.clone()))
        })
        .collect();
    let name_part = |n: &str| {
        get("name")
            .and_then(|name| patch::get(name.as_object()?, n))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let joined = [name_part("givenName"), name_part("familyName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(name_part("formatted"))
        .map(str::to_owned)
        .or((!joined.is_empty()).then_some(joined));
    Ok(UserFields {
        handle,
        user_name: own_user_name,
        attributes: Value::Object(kept).to_string(),
        name,
        external_id: external_id(doc)?,
        active: match get("active") {
            None | Some(Value::Null) => true,
            Some(v) => patch::boolean(v)
                .ok_or_else(|| ScimError::bad("invalidValue", "active must be true or false."))?,
        },
    })
}

fn external_id(doc: &Map<String, Value>) -> Result<Option<String>> {
    match patch::get(doc, "externalId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            "externalId must be a string.",
        )),
    }
}

fn group_fields(doc: &Map<String, Value>) -> Result<GroupFields> {
    let name = patch::get(doc, "displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::bad("invalidValue", "displayName is required."))?
        .to_owned();
    let members = match patch::get(doc, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                patch::member_id(m).ok_or_else(|| {
                    ScimError::bad(
                        "invalidValue",
                        "Each member needs the value (or the $ref) of a user's id.",
                    )
                })
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(ScimError::bad("invalidValue", "members must be a list.")),
    };
    Ok(GroupFields {
        name,
        external_id: external_id(doc)?,
        members,
    })
}

/// What differs between Users and Groups; the handlers below are written once for both.
trait Resource: Send + Sync + 'static {
    /// The `kind` of its rows.
    const KIND: &'static str;
    /// Its endpoint under the base.
    const PLURAL: &'static str;
    type Item: Send;
    type Fields: Send;
    fn json(item: &Self::Item) -> Value;
    fn id(item: &Self::Item) -> i64;
    fn fields(doc: &Map<String, Value>) -> Result<Self::Fields>;
    fn page(
        pool: &Pool,
        filter: Filter,
        start: i64,
        count: i64,
    ) -> impl Future<Output = AppResult<(i64, Vec<Self::Item>)>> + Send;
    fn one(pool: &Pool, id: i64) -> impl Future<Output = AppResult<Self::Item>> + Send;
    fn create(
        pool: &Pool,
        fields: Self::Fields,
    ) -> impl Future<Output = AppResult<Self::Item>> + Send;
    fn replace(
        pool: &Pool,
        id: i64,
        fields: Self::Fields,
    ) -> impl Future<Output = AppResult<Self::Item>> + Send;
}

type AppResult<T> = std::result::Result<T, AppError>;

struct Users;
struct Groups;

impl Resource for Users {
    const KIND: &'static str = "user";
    const PLURAL: &'static str = "Users";
    type Item = User;
    type Fields = UserFields;
    fn json(item: &User) -> Value {
        user_json(item)
    }
    fn id(item: &User) -> i64 {
        item.id
    }
    fn fields(doc: &Map<String, Value>) -> Result<UserFields> {
        user_fields(doc)
    }
    fn page(
        pool: &Pool,
        filter: Filter,
        start: i64,
        count: i64,
    ) -> impl Future<Output = AppResult<(i64, Vec<User>)>> + Send {
        directory::users(pool, filter, start, count)
    }
    fn one(pool: &Pool, id: i64) -> impl Future<Output = AppResult<User>> + Send {
        directory::user(pool, id)
    }
    fn create(pool: &Pool, fields: UserFields) -> impl Future<Output = AppResult<User>> + Send {
        directory::create_user(pool, fields)
    }
    fn replace(
        pool: &Pool,
        id: i64,
        fields: UserFields,
    ) -> impl Future<Output = AppResult<User>> + Send {
        directory::replace_user(pool, id, fields)
    }
}

impl Resource for Groups {
    const KIND: &'static str = "group";
    const PLURAL: &'static str = "Groups";
    type Item = Group;
    type Fields = GroupFields;
    fn json(item: &Group) -> Value {
        group_json(item)
    }
    fn id(item: &Group) -> i64 {
        item.id
    }
    fn fields(doc: &Map<String, Value>) -> Result<GroupFields> {
        group_fields(doc)
    }
    fn page(
        pool: &Pool,
        filter: Filter,
        start: i64,
        count: i64,
    ) -> impl Future<Output = AppResult<(i64, Vec<Group>)>> + Send {
        directory::groups(pool, filter, start, count)
    }
    fn one(pool: &Pool, id: i64) -> impl Future<Output = AppResult<Group>> + Send {
        directory::group(pool, id)
    }
    fn create(pool: &Pool, fields: GroupFields) -> impl Future<Output = AppResult<Group>> + Send {
        directory::create_group(pool, fields)
    }
    fn replace(
        pool: &Pool,
        id: i64,
        fields: GroupFields,
    ) -> impl Future<Output = AppResult<Group>> + Send {
        directory::replace_group(pool, id, fields)
    }
}

type JsonBody = std::result::Result<Json<Value>, JsonRejection>;

/// One page of resources, filtered and projected: for GET and for POST `.search`.
async fn list_of<R: Resource>(state: &AppState, params: &ListParams) -> Result<Response> {
    let (start, count, filter) = listing(params, R::KIND)?;
    let (total, items) = R::page(&state.ctx.pool, filter, start, count).await?;
    let resources = items.iter().map(|i| params.project(R::json(i))).collect();
    Ok(list_response(total, start, resources))
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    list_of::<R>(&state, &params).await
}

/// `POST /Users/.search` and `/Groups/.search` (RFC 7644 §3.4.3): a query in the body, for
/// filters too long or too private for a URL.
async fn search<R: Resource>(State(state): State<AppState>, json: JsonBody) -> Result<Response> {
    list_of::<R>(&state, &ListParams::from_search(&body(json)?)).await
}

/// `POST /.search` across resource types: not offered (RFC 7644 §3.4.3 lets a server answer 501).
async fn search_everything() -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "Search one resource type at a time: POST /Users/.search or /Groups/.search.",
    )
}

async fn get_one<R: Resource>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    let item = R::one(&state.ctx.pool, resource_id(&id)?).await?;
    Ok(scim_json(StatusCode::OK, params.project(R::json(&item))))
}

async fn create<R: Resource>(State(state): State<AppState>, json: JsonBody) -> Result<Response> {
    let fields = R::fields(&body(json)?)?;
    let item = R::create(&state.ctx.pool, fields).await?;
    Ok(created(R::PLURAL, R::id(&item), R::json(&item)))
}

async fn put<R: Resource>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    json: JsonBody,
) -> Result<Response> {
    let id = resource_id(&id)?;
    let fields = R::fields(&body(json)?)?;
    let item = R::replace(&state.ctx.pool, id, fields).await?;
    Ok(scim_json(StatusCode::OK, R::json(&item)))
}

/// PATCH: the operations are applied to the resource as it reads now, and the result is
/// stored as a PUT of it would be.
async fn patch_one<R: Resource>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    json: JsonBody,
) -> Result<Response> {
    let id = resource_id(&id)?;
    let operations = patch::operations(&body(json)?)?;
    let current = R::one(&state.ctx.pool, id).await?;
    let Value::Object(mut doc) = R::json(&current) else {
        return Err(ScimError::not_found());
    };
    patch::apply(&mut doc, &operations)?;
    let item = R::replace(&state.ctx.pool, id, R::fields(&doc)?).await?;
    Ok(scim_json(StatusCode::OK, R::json(&item)))
}

async fn delete<R: Resource>(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response> {
    directory::delete(&state.ctx.pool, R::KIND, resource_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_identity_providers_send_are_understood() {
        assert_eq!(
            parse_filter(r#"userName eq "Ada@Example.com""#, "user").unwrap(),
            (Attribute::Name, "Ada@Example.com".into())
        );
        assert_eq!(
            parse_filter(r#"externalId EQ "a \"b\"""#, "group").unwrap(),
            (Attribute::ExternalId, "a \"b\"".into())
        );
        assert_eq!(
            parse_filter(r#"displayName eq "Ops""#, "group").unwrap().0,
            Attribute::Name
        );
        for bad in [
            r#"userName co "ada""#,
            r#"userName eq ada"#,
            r#"password eq "x""#,
            r#"userName eq "a" and active eq true"#,
            "",
        ] {
            assert!(parse_filter(bad, "user").is_err(), "{bad}");
        }
    }
}
