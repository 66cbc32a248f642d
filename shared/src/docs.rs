//! OpenAPI plumbing both services share: the problem+json schema, reusable error responses,
//! the two bearer security schemes, and the router that serves `GET /openapi.json` and the
//! interactive `GET /docs` page.
//!
//! Each service derives its own `ApiDoc` from `#[utoipa::path]` annotations on its handlers,
//! adds [`Conventions`] as a modifier, and merges [`router`] into its public routes.
//!
//! Offline by construction: the docs page is Swagger UI compiled into the binary
//! (`utoipa-swagger-ui` with `vendored`: the assets come from the crates.io package
//! `utoipa-swagger-ui-vendored`, nothing is downloaded at build or run time), and the
//! online spec validator is switched off, so the page makes no request outside the service.
//!
//! Error responses name their codes in backticks (`` `SEAT_UNAVAILABLE`: ... ``); the docs
//! tests check every code so named exists and has the response's status.

use axum::Router;
use serde::Serialize;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, OpenApi, RefOr, Response, Type};
use utoipa::{Modify, PartialSchema, ToResponse, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::contract::ops::{Liveness, Readiness};
use crate::contract::Code;

/// Content type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where the interactive docs page is served (it redirects to `/docs/`, under which the
/// page and its assets live).
pub const DOCS_PATH: &str = "/docs";
/// Security scheme of buyer routes: an active queue token (JWT) issued by the gateway.
pub const QUEUE_TOKEN: &str = "queue_token";
/// Security scheme of operator routes: the admin token from configuration.
pub const ADMIN_TOKEN: &str = "admin_token";

/// An RFC 9457 problem, the body of every error response (`application/problem+json`).
///
/// Some problems carry extra members, e.g. `position` on `NOT_ADMITTED` from the gateway.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:ticketing:problem:SEAT_UNAVAILABLE",
    "title": "Seat unavailable",
    "status": 409,
    "detail": "the seat is held or sold",
    "code": "SEAT_UNAVAILABLE"
}))]
pub struct ProblemDetails {
    /// `urn:ticketing:problem:<CODE>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, human-readable summary of the code; the same for every occurrence.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// Stable, machine-readable code; clients switch on this.
    pub code: Code,
}

/// `INVALID_REQUEST`: a malformed path parameter, query, header or JSON body (unknown
/// fields are rejected too).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct InvalidRequest(pub ProblemDetails);

/// `INVALID_TOKEN`: the queue token is missing, malformed, tampered, signed with another
/// key or expired.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct InvalidToken(pub ProblemDetails);

/// `UNAUTHORIZED`: the admin token is missing or wrong.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct AdminUnauthorized(pub ProblemDetails);

/// `PAYLOAD_TOO_LARGE`: the body is over 64 KiB.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(pub ProblemDetails);

/// `UNSUPPORTED_MEDIA_TYPE`: the body is not sent as `Content-Type: application/json`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(pub ProblemDetails);

/// `IDEMPOTENCY_KEY_REUSED`: this `Idempotency-Key` was used before with another request.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct IdempotencyKeyReused(pub ProblemDetails);

/// `INTERNAL`: the server failed; the cause is logged under the response's `X-Request-Id`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Internal(pub ProblemDetails);

/// `SERVICE_UNAVAILABLE`: PostgreSQL or Redis is unreachable or overloaded; nothing was
/// changed. Retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
pub struct Unavailable(pub ProblemDetails);

/// `TICKET_GONE`: the token's ticket was dropped (its admission expired, the buyer left or
/// paid); join the line again with `POST /v1/queue/tokens`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct TicketGone(pub ProblemDetails);

/// `RATE_LIMITED`: too many joins from this client. Retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
pub struct RateLimited(pub ProblemDetails);

/// `UNAUTHORIZED`: with `identity.mode = jwt`, the `X-User-Token` header is missing, not
/// valid, or names another user than the request.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct IdentityUnverified(pub ProblemDetails);

/// A 403 problem. `NOT_ADMITTED` (the token is still waiting) carries the buyer's current
/// `position` in line; the other 403 codes do not.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:ticketing:problem:NOT_ADMITTED",
    "title": "Not admitted yet",
    "status": 403,
    "detail": "this token is still waiting in line; poll /v1/queue/status",
    "code": "NOT_ADMITTED",
    "position": 1234
}))]
pub struct Forbidden {
    /// `urn:ticketing:problem:<CODE>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: Code,
    /// `NOT_ADMITTED` only: the place in line, 1 for the head.
    #[schema(minimum = 1)]
    pub position: Option<u64>,
}

/// A `SERVICE_UNAVAILABLE` problem from `/readyz`, with the checks (`ok` / `unavailable`).
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: Code,
    pub checks: std::collections::BTreeMap<String, String>,
}

/// The probes and metrics both services serve (`shared::service::probes`), merged into
/// each document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(healthz, readyz, metrics),
    tags((name = "operations", description = "Probes and metrics."))
)]
pub struct OpsApi;

#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "operations",
    summary = "Liveness: the process is up",
    responses((status = 200, description = "Always `{\"status\": \"ok\"}`.", body = Liveness))
)]
pub fn healthz() {}

#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "operations",
    summary = "Readiness: every dependency answers",
    description = "The gateway checks Redis and booking; booking checks PostgreSQL and Redis, \
                   concurrently. A load balancer stops sending buyers to an instance that could \
                   only answer 503.",
    responses(
        (status = 200, description = "Every dependency answers.", body = Readiness),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: a dependency does not answer \
         (`checks` says which).",
         body = NotReady, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    )
)]
pub fn readyz() {}

#[utoipa::path(
    get, path = "/metrics", operation_id = "metrics", tag = "operations",
    summary = "Prometheus metrics",
    description = "Requests and latency by route and status, pool usage, Redis call latency, \
                   and each service's own figures (the README lists them).",
    responses(
        (status = 200, description = "Prometheus text exposition format.", body = String,
         content_type = "text/plain; version=0.0.4"),
    )
)]
pub fn metrics() {}

/// What every service's document has in common; add it as a modifier:
/// `#[openapi(modifiers(&shared::docs::Conventions))]`.
///
/// - the bearer security schemes [`QUEUE_TOKEN`] and [`ADMIN_TOKEN`];
/// - the reusable error responses above and the [`ProblemDetails`] / [`Code`] schemas;
/// - an `X-Request-Id` header on every response (SPEC §2).
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            QUEUE_TOKEN,
            bearer(
                "An active queue token (JWT) from `POST /v1/queue/tokens` on the gateway. \
                 A waiting token gets 403 `NOT_ADMITTED`.",
                Some("JWT"),
            ),
        );
        components.add_security_scheme(
            ADMIN_TOKEN,
            bearer(
                "The operator token from configuration (`*__ADMIN__TOKEN`).",
                None,
            ),
        );
        for (name, response) in [
            InvalidRequest::response(),
            InvalidToken::response(),
            AdminUnauthorized::response(),
            PayloadTooLarge::response(),
            UnsupportedMediaType::response(),
            IdempotencyKeyReused::response(),
            Internal::response(),
            Unavailable::response(),
            TicketGone::response(),
            RateLimited::response(),
            IdentityUnverified::response(),
        ] {
            components.responses.insert(name.to_string(), response);
        }
        let mut schemas = vec![
            (
                ProblemDetails::name().into_owned(),
                ProblemDetails::schema(),
            ),
            (Code::name().into_owned(), Code::schema()),
            (Forbidden::name().into_owned(), Forbidden::schema()),
        ];
        ProblemDetails::schemas(&mut schemas);
        for (name, schema) in schemas {
            components.schemas.entry(name).or_insert(schema);
        }

        // X-Request-Id on every response, inline or reusable.
        for response in components.responses.values_mut() {
            add_request_id(response);
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for response in operation.responses.responses.values_mut() {
                    add_request_id(response);
                }
            }
        }
    }
}

fn bearer(description: &str, format: Option<&str>) -> SecurityScheme {
    let mut http = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(description));
    if let Some(format) = format {
        http = http.bearer_format(format);
    }
    SecurityScheme::Http(http.build())
}

fn add_request_id(response: &mut RefOr<Response>) {
    if let RefOr::T(response) = response {
        response
            .headers
            .entry("X-Request-Id".into())
            .or_insert_with(|| {
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(Object::with_type(Type::String)))
                        .description(Some(
                            "The request's id: the client's `X-Request-Id` when it sent one, \
                         else a new UUID. Logs carry it.",
                        ))
                        .build(),
                )
            });
    }
}

/// Adds the two routes [`router`] serves to the document, so it lists every route.
fn describe_docs_routes(openapi: &mut OpenApi) {
    let mut document = RefOr::T(
        ResponseBuilder::new()
            .description("This OpenAPI 3.1 document.")
            .content(
                "application/json",
                Content::new(Some(Object::with_type(Type::Object))),
            )
            .build(),
    );
    add_request_id(&mut document);
    openapi.paths.add_path_operation(
        OPENAPI_PATH,
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .tag("docs")
            .operation_id(Some("openapi_document"))
            .summary(Some("The OpenAPI document"))
            .response("200", document)
            .build(),
    );
    let mut redirect = RefOr::T(
        ResponseBuilder::new()
            .description(
                "Redirect to `/docs/`: the interactive Swagger UI page. It and its assets are \
                 served from the binary; the page works with no internet access.",
            )
            .header(
                "Location",
                HeaderBuilder::new()
                    .schema(Some(Object::with_type(Type::String)))
                    .build(),
            )
            .build(),
    );
    add_request_id(&mut redirect);
    openapi.paths.add_path_operation(
        DOCS_PATH,
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .tag("docs")
            .operation_id(Some("docs_page"))
            .summary(Some("Interactive API docs (offline)"))
            .response("303", redirect)
            .build(),
    );
}

/// `GET /openapi.json` (the document) and `GET /docs` (Swagger UI from the binary); merge it
/// into the service's public routes. `openapi` should already have [`Conventions`] applied.
pub fn router<S>(mut openapi: OpenApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    describe_docs_routes(&mut openapi);
    let config = Config::new([OPENAPI_PATH])
        // The default validator is an online service: never call out.
        .validator_url("none")
        .persist_authorization(true)
        .display_request_duration(true);
    SwaggerUi::new(DOCS_PATH)
        .url(OPENAPI_PATH, openapi)
        .config(config)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions_register_what_they_promise() {
        let mut openapi = OpenApi::new(
            utoipa::openapi::Info::new("t", "0"),
            utoipa::openapi::Paths::new(),
        );
        Conventions.modify(&mut openapi);
        let doc = serde_json::to_value(&openapi).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let components = &doc["components"];
        assert_eq!(
            components["securitySchemes"][QUEUE_TOKEN]["scheme"],
            "bearer"
        );
        assert_eq!(
            components["securitySchemes"][ADMIN_TOKEN]["scheme"],
            "bearer"
        );
        assert!(components["schemas"]["ProblemDetails"].is_object());
        assert!(components["schemas"]["Code"].is_object());
        let unavailable = &components["responses"]["Unavailable"];
        assert!(unavailable["content"][PROBLEM_JSON].is_object());
        assert!(unavailable["headers"]["Retry-After"].is_object());
        assert!(unavailable["headers"]["X-Request-Id"].is_object());
    }
}
