//! Venues: a layout of sections (each with a price grade), rows and seats, created once by
//! an operator and used by any number of schedules, which price each grade.
//!
//! Seats are numbered `seat_no` 1..N in the order the layout lists sections, rows and
//! seats; each seat also has its section, row label, number in the row (1..) and grade
//! ([`places`]). A schedule created in the one-price form gets [`general_admission`]: one
//! section `GA`, grade `GENERAL`, one row per 50 seats.

pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use shared::contract::admin::{
    NewVenue, VenueCreated, VenueRow, VenueSection, VenueSummary, VenueView, GA_GRADE,
    GA_ROW_SEATS, GA_SECTION, MAX_NAME_CHARS, MAX_PRICE, MAX_ROW_SEATS, MAX_VENUE_SEATS,
};
use shared::docs::ProblemDetails;
use shared::http::{Json, Path};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/venues", post(create).get(list))
        .route("/admin/venues/{venue_id}", get(show))
}

/// One seat of a layout, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub seat_no: i32,
    pub section: String,
    pub row: String,
    pub number: i32,
    pub grade: String,
}

/// The seats of a layout, numbered 1..N in layout order.
pub fn places(sections: &[VenueSection]) -> Vec<Place> {
    let mut out = Vec::new();
    for section in sections {
        for row in &section.rows {
            for number in 1..=row.seats as i32 {
                out.push(Place {
                    seat_no: out.len() as i32 + 1,
                    section: section.name.clone(),
                    row: row.label.clone(),
                    number,
                    grade: section.grade.clone(),
                });
            }
        }
    }
    out
}

/// The one-price form's layout: section `GA`, grade `GENERAL`, rows "1", "2", ... of 50.
pub fn general_admission(seats: i32) -> Vec<VenueSection> {
    let rows = (0..seats)
        .step_by(GA_ROW_SEATS as usize)
        .enumerate()
        .map(|(i, first)| VenueRow {
            label: (i + 1).to_string(),
            seats: i64::from((seats - first).min(GA_ROW_SEATS)),
        })
        .collect();
    vec![VenueSection {
        name: GA_SECTION.into(),
        grade: GA_GRADE.into(),
        rows,
    }]
}

/// The grades a layout uses.
pub fn grades(sections: &[VenueSection]) -> BTreeSet<String> {
    sections.iter().map(|s| s.grade.clone()).collect()
}

/// A schedule's prices checked against its venue's grades: every grade priced, no other.
pub fn check_prices(sections: &[VenueSection], prices: &BTreeMap<String, i64>) -> ApiResult<()> {
    let grades = grades(sections);
    if let Some(missing) = grades.iter().find(|g| !prices.contains_key(*g)) {
        return Err(ApiError::Invalid(format!(
            "prices must price every grade of the venue: {missing} has no price"
        )));
    }
    if let Some(unknown) = prices.keys().find(|g| !grades.contains(*g)) {
        return Err(ApiError::Invalid(format!(
            "prices names grade {unknown}, which the venue does not have"
        )));
    }
    if prices.values().any(|p| !(1..=MAX_PRICE).contains(p)) {
        return Err(ApiError::InvalidAmount(format!(
            "every price must be 1 to {MAX_PRICE}"
        )));
    }
    Ok(())
}

fn check_name(name: &str, what: &str) -> ApiResult<()> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS {
        return Err(ApiError::Invalid(format!(
            "{what} must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

/// Every rule a new venue breaks, first one first; its seat count when it keeps them all.
pub fn validate(venue: &NewVenue) -> ApiResult<i64> {
    check_name(&venue.name, "name")?;
    if venue.sections.is_empty() {
        return Err(ApiError::Invalid("sections must not be empty".into()));
    }
    let mut section_names = HashSet::new();
    let mut seats = 0i64;
    for section in &venue.sections {
        check_name(&section.name, "a section's name")?;
        check_name(&section.grade, "a section's grade")?;
        if !section_names.insert(section.name.as_str()) {
            return Err(ApiError::Invalid(format!(
                "section {} is listed twice",
                section.name
            )));
        }
        if section.rows.is_empty() {
            return Err(ApiError::Invalid(format!(
                "section {} has no rows",
                section.name
            )));
        }
        let mut labels = HashSet::new();
        for row in &section.rows {
            check_name(&row.label, "a row's label")?;
            if !labels.insert(row.label.as_str()) {
                return Err(ApiError::Invalid(format!(
                    "row {} of section {} is listed twice",
                    row.label, section.name
                )));
            }
            if !(1..=MAX_ROW_SEATS).contains(&row.seats) {
                return Err(ApiError::Invalid(format!(
                    "a row has 1 to {MAX_ROW_SEATS} seats"
                )));
            }
            seats += row.seats;
        }
        if seats > MAX_VENUE_SEATS {
            return Err(ApiError::Invalid(format!(
                "a venue has at most {MAX_VENUE_SEATS} seats"
            )));
        }
    }
    Ok(seats)
}

#[utoipa::path(
    post, path = "/admin/venues", operation_id = "create_venue", tag = "admin",
    summary = "Create a venue: sections (each with a grade), rows and seats",
    description = "Seats are numbered `seat_no` 1..N in the order sections, rows and seats are \
                   listed. At most 100,000 seats; names 1 to 40 characters, sections unique in \
                   the venue, rows unique in their section, 1 to 1,000 seats a row.",
    security(("admin_token" = [])),
    request_body = NewVenue,
    responses(
        (status = 201, description = "Created.", body = VenueCreated),
        (status = 400, description = "`INVALID_REQUEST`: malformed body or a rule above broken.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = shared::docs::PayloadTooLarge),
        (status = 415, response = shared::docs::UnsupportedMediaType),
    )
)]
#[tracing::instrument(skip(state, _admin, venue))]
async fn create(
    State(state): State<AppState>,
    _admin: Admin,
    Json(venue): Json<NewVenue>,
) -> ApiResult<(StatusCode, Json<VenueCreated>)> {
    let seats = validate(&venue)?;
    let mut conn = state.db.acquire().await?;
    let venue_id = store::insert(&mut conn, venue.name.trim(), seats, &venue.sections).await?;
    tracing::info!(venue_id, seats, "venue created");
    Ok((StatusCode::CREATED, Json(VenueCreated { venue_id, seats })))
}

#[utoipa::path(
    get, path = "/admin/venues", operation_id = "list_venues", tag = "admin",
    summary = "Every venue, newest first",
    security(("admin_token" = [])),
    responses((status = 200, description = "The venues.", body = Vec<VenueSummary>))
)]
#[tracing::instrument(skip(state, _admin))]
async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Vec<VenueSummary>>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(store::list(&mut conn).await?))
}

#[utoipa::path(
    get, path = "/admin/venues/{venue_id}", operation_id = "get_venue", tag = "admin",
    summary = "A venue's layout",
    params(("venue_id" = i64, Path, description = "Venue id")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The layout as created.", body = VenueView),
        (status = 400, response = shared::docs::InvalidRequest),
        (status = 404, description = "`NOT_FOUND`: no such venue.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip(state, _admin))]
async fn show(
    State(state): State<AppState>,
    _admin: Admin,
    Path(venue_id): Path<i64>,
) -> ApiResult<Json<VenueView>> {
    let mut conn = state.db.acquire().await?;
    store::find(&mut conn, venue_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("venue {venue_id} does not exist")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venue(rows: &[(&str, &str, &[i64])]) -> Vec<VenueSection> {
        rows.iter()
            .map(|(name, grade, seats)| VenueSection {
                name: (*name).into(),
                grade: (*grade).into(),
                rows: seats
                    .iter()
                    .enumerate()
                    .map(|(i, n)| VenueRow {
                        label: (i + 1).to_string(),
                        seats: *n,
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn seats_are_numbered_in_layout_order() {
        let p = places(&venue(&[("A", "VIP", &[2, 1]), ("B", "R", &[2])]));
        let got: Vec<(i32, &str, &str, i32, &str)> = p
            .iter()
            .map(|p| (p.seat_no, &*p.section, &*p.row, p.number, &*p.grade))
            .collect();
        assert_eq!(
            got,
            [
                (1, "A", "1", 1, "VIP"),
                (2, "A", "1", 2, "VIP"),
                (3, "A", "2", 1, "VIP"),
                (4, "B", "1", 1, "R"),
                (5, "B", "1", 2, "R"),
            ]
        );
    }

    #[test]
    fn the_one_price_form_is_rows_of_fifty() {
        let ga = general_admission(120);
        let rows: Vec<i64> = ga[0].rows.iter().map(|r| r.seats).collect();
        assert_eq!(rows, [50, 50, 20]);
        let p = places(&ga);
        assert_eq!(p.len(), 120);
        assert_eq!((&*p[50].row, p[50].number), ("2", 1));
        assert_eq!((&*p[119].section, &*p[119].grade), ("GA", "GENERAL"));
    }

    #[test]
    fn layouts_that_break_a_rule_are_refused() {
        let ok = NewVenue {
            name: "Hall".into(),
            sections: venue(&[("A", "VIP", &[10])]),
        };
        assert_eq!(validate(&ok).unwrap(), 10);
        let bad = |f: &dyn Fn(&mut NewVenue)| {
            let mut v = ok.clone();
            f(&mut v);
            validate(&v).is_err()
        };
        assert!(bad(&|v| v.name = String::new()));
        assert!(bad(&|v| v.name = "x".repeat(41)));
        assert!(bad(&|v| v.sections.clear()));
        assert!(bad(&|v| v.sections.push(v.sections[0].clone())));
        assert!(bad(&|v| v.sections[0].rows.clear()));
        assert!(bad(&|v| v.sections[0].rows[0].seats = 0));
        assert!(bad(&|v| v.sections[0].rows[0].seats = 1001));
        assert!(bad(&|v| v.sections[0].grade = " ".into()));
        assert!(bad(&|v| {
            let row = v.sections[0].rows[0].clone();
            v.sections[0].rows.push(row)
        }));
        assert!(bad(&|v| {
            v.sections = (0..101)
                .map(|i| VenueSection {
                    name: format!("S{i}"),
                    grade: "A".into(),
                    rows: (0..1)
                        .map(|_| VenueRow {
                            label: "1".into(),
                            seats: 1000,
                        })
                        .collect(),
                })
                .collect()
        }));
    }

    #[test]
    fn every_grade_is_priced_and_no_other() {
        let layout = venue(&[("A", "VIP", &[1]), ("B", "R", &[1])]);
        let prices = |p: &[(&str, i64)]| -> BTreeMap<String, i64> {
            p.iter().map(|(g, v)| ((*g).into(), *v)).collect()
        };
        assert!(check_prices(&layout, &prices(&[("VIP", 10), ("R", 5)])).is_ok());
        assert!(check_prices(&layout, &prices(&[("VIP", 10)])).is_err());
        assert!(check_prices(&layout, &prices(&[("VIP", 10), ("R", 5), ("S", 1)])).is_err());
        assert!(check_prices(&layout, &prices(&[("VIP", 0), ("R", 5)])).is_err());
    }
}
