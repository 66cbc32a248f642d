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
//! tests check every code so named exists and has the response's status. The responses
//! every route of a kind has are added by [`Conventions`], not written on each route:
//! 500 and 503 on every API route, 401 `INVALID_TOKEN` on routes that take a queue token
//! (and 410 `TICKET_GONE` on the booking ones), 401 `UNAUTHORIZED` on operator routes.

pub mod ops;
mod responses;

pub use ops::OpsApi;
pub use responses::*;

use axum::Router;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, OpenApi, Ref, RefOr, Response, Type};
use utoipa::{Modify, PartialSchema, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

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
/// Security scheme of booking's routes for the gateways: `X-Internal-Token`.
pub const INTERNAL_TOKEN: &str = "internal_token";

/// What every service's document has in common; add it as a modifier:
/// `#[openapi(modifiers(&shared::docs::Conventions))]`.
///
/// - the bearer security schemes [`QUEUE_TOKEN`] and [`ADMIN_TOKEN`];
/// - the reusable error responses ([`responses`]) and the [`ProblemDetails`] / [`Code`]
///   schemas;
/// - the responses every route of a kind has (see the module docs);
/// - an `X-Request-Id` header on every response.
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
        components.add_security_scheme(
            INTERNAL_TOKEN,
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "X-Internal-Token",
                    "The token booking shares with the gateways (`BOOKING__INTERNAL__TOKEN`); \
                     booking's buyer and internal routes answer only callers sending it.",
                ),
            )),
        );
        for (name, response) in responses::all() {
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
                add_standard_responses(operation);
                for response in operation.responses.responses.values_mut() {
                    add_request_id(response);
                }
            }
        }
    }
}

/// Whether the operation is secured by `scheme`.
fn secured_by(operation: &Operation, scheme: &str) -> bool {
    operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(scheme)))
            .unwrap_or(false)
    })
}

/// The responses every route of a kind has (see the module docs), unless it names its own.
fn add_standard_responses(operation: &mut Operation) {
    let tags = operation.tags.clone().unwrap_or_default();
    if tags.iter().any(|t| t == "operations" || t == "docs") {
        return;
    }
    let mut standard = vec![("500", "Internal"), ("503", "Unavailable")];
    if secured_by(operation, QUEUE_TOKEN) {
        standard.push(("401", "InvalidToken"));
        if !tags.iter().any(|t| t == "queue") {
            standard.push(("410", "TicketGone"));
        }
    }
    if secured_by(operation, ADMIN_TOKEN) {
        standard.push(("401", "AdminUnauthorized"));
    }
    for (status, name) in standard {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

/// A service's whole document: its own routes, `merged` documents (booking's public routes,
/// the probes), then the [`Conventions`].
pub fn document(own: OpenApi, merged: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut doc = own;
    for other in merged {
        doc.merge(other);
    }
    doc.merge(<OpsApi as utoipa::OpenApi>::openapi());
    Conventions.modify(&mut doc);
    doc
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
