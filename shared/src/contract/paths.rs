//! OpenAPI description of booking's public routes, as buyers reach them through the
//! gateway (nothing here runs). Booking's document and the gateway's both merge
//! [`BookingApi`], so each route is described once.
//!
//! Routes that need an admission answer the gateway's admission errors too: 401
//! `INVALID_TOKEN`, 403 `NOT_ADMITTED` with the buyer's `position`, 410 `TICKET_GONE`.

use utoipa::OpenApi;

use crate::contract::{concerts, payments, points, reservations, seats, tickets};
use crate::docs::{self, ProblemDetails};

/// The booking routes buyers use (merged into both services' documents).
#[derive(OpenApi)]
#[openapi(
    paths(
        list_concerts,
        get_concert,
        list_schedules,
        get_sections,
        get_seat_map,
        hold_seat,
        get_order,
        release_order,
        get_reservation,
        release_reservation,
        pay,
        get_payment,
        get_balance,
        charge_points,
        list_point_history,
        list_reservations,
        list_tickets,
        ticket_keys,
        cancel_ticket,
    ),
    tags(
        (name = "concerts", description = "Concerts and their bookable schedules."),
        (name = "seats", description = "Seat maps."),
        (name = "reservations", description = "Seat holds: 5 minutes unless paid."),
        (name = "payments", description = "Paying held seats from the points balance."),
        (name = "points", description = "Balances, charges and history; no queue token needed."),
        (name = "tickets", description = "Paid seats: signed codes for the door, cancellation \
                                          for a refund; no queue token needed."),
    )
)]
pub struct BookingApi;

#[utoipa::path(
    get, path = "/v1/concerts", operation_id = "list_concerts", tag = "concerts",
    summary = "Concerts on sale: those with a show still ahead (public)",
    description = "No queue token needed. Each with all its schedules; soonest show first, at \
                   most 100.",
    responses(
        (status = 200, description = "The concerts.", body = Vec<concerts::ConcertView>),
    )
)]
pub fn list_concerts() {}

#[utoipa::path(
    get, path = "/v1/concerts/{concert_id}", operation_id = "get_concert", tag = "concerts",
    summary = "A concert and all its schedules (public)",
    description = "No queue token needed.",
    params(("concert_id" = i64, Path, description = "Concert id")),
    responses(
        (status = 200, description = "The concert.", body = concerts::ConcertView),
        (status = 400, response = docs::InvalidRequest),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn get_concert() {}

#[utoipa::path(
    get, path = "/v1/concerts/{concert_id}/schedules", operation_id = "list_schedules",
    tag = "concerts", summary = "Bookable schedules of a concert (admitted buyers)",
    description = "Only schedules still open for booking and in the future, with live seat \
                   counts.",
    params(("concert_id" = i64, Path, description = "Concert id; must be the token's concert")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "Bookable schedules, earliest first.",
         body = Vec<concerts::ScheduleView>),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedHere),
        (status = 404, description = "`CONCERT_NOT_FOUND`: no such concert.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn list_schedules() {}

#[utoipa::path(
    get, path = "/v1/schedules/{schedule_id}/sections", operation_id = "get_sections",
    tag = "seats", summary = "Sections of a schedule: grade, price, seats left, rows (admitted buyers)",
    description = "In layout order, with each section's rows (the layout a section map is drawn \
                   from) and the concert's `max_tickets_per_user`. Counted at most a second \
                   before `as_of`: one database read per schedule per half second, however many \
                   buyers ask.",
    params(("schedule_id" = i64, Path, description = "Schedule id; its concert must be the token's")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The sections.", body = seats::SectionMap),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedHere),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`: no such schedule.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn get_sections() {}

#[utoipa::path(
    get, path = "/v1/schedules/{schedule_id}/seats", operation_id = "get_seat_map",
    tag = "seats", summary = "Seat map of a schedule, or of one section (admitted buyers)",
    description = "Gzipped when the client sends `Accept-Encoding: gzip` (a 60,000-seat \
                   schedule is about 5 MB of JSON, a tenth of that gzipped).",
    params(
        ("schedule_id" = i64, Path, description = "Schedule id; its concert must be the token's"),
        seats::SeatQuery,
    ),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The seats (of the section when given), by seat number.",
         body = seats::SeatMap),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedHere),
        (status = 404, description = "`SCHEDULE_NOT_FOUND`: no such schedule.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn get_seat_map() {}

#[utoipa::path(
    post, path = "/v1/reservations", operation_id = "hold_seat", tag = "reservations",
    summary = "Hold seats: one, several named, or the best available (admitted buyers)",
    description = "One of `seat_no`, `seat_nos` (1 to 10, all or nothing) or `best_available` \
                   (`count` 1 to 10, optional `grade` and `section`: side by side in one row \
                   when such a run exists, else the closest found). The seats form one order: \
                   one `held_until` (`holds.ttl_secs`, 5 minutes by default), released together \
                   (`DELETE /v1/orders/{order_id}`) and paid together. Seats held plus seats \
                   bought by the buyer for the concert never exceed its `max_tickets_per_user`. \
                   While someone else holds a one-seat form's seat, or it is sold, the gateway \
                   answers 409 `SEAT_UNAVAILABLE` itself, without calling booking. Safe to \
                   retry: a buyer who repeats a hold of seats they hold as one order (the first \
                   answer was lost) gets that order back, 200; while the first attempt is still \
                   being made, 503 with `Retry-After`. The one-seat form's answer also carries \
                   the seat's reservation at the top level, as before orders.",
    security(("queue_token" = [])),
    request_body = reservations::HoldRequest,
    responses(
        (status = 200, description = "The buyer already holds these seats as one order: that \
         order, unchanged.", body = reservations::OrderView),
        (status = 201, description = "The seats are held.", body = reservations::OrderView),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedHere),
        (status = 404, description = "`SEAT_NOT_FOUND`: no such schedule, or no such seat in it.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`SEAT_UNAVAILABLE`: a seat is held by another buyer or \
         sold (`seat_nos` lists them; nothing was held). `NOT_ENOUGH_SEATS`: fewer than `count` \
         seats like these are left (`available`). `TICKET_LIMIT`: the order would take the \
         buyer past the concert's `max_tickets_per_user` (`limit`, and `owned`: seats held and \
         bought now). `HOLD_LIMIT`: the buyer would hold more than `holds.max_per_user` seats \
         (4 by default). `SCHEDULE_CLOSED`: the show has started.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = docs::PayloadTooLarge),
        (status = 415, response = docs::UnsupportedMediaType),
    )
)]
pub fn hold_seat() {}

#[utoipa::path(
    get, path = "/v1/orders/{order_id}", operation_id = "get_order", tag = "reservations",
    summary = "One of the buyer's orders (admitted buyers)",
    params(("order_id" = Uuid, Path, description = "Order id")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The order, each seat with its status now.",
         body = reservations::OrderView),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedOrNotYours),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such order.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn get_order() {}

#[utoipa::path(
    delete, path = "/v1/orders/{order_id}", operation_id = "release_order", tag = "reservations",
    summary = "Release every seat of an order now (admitted buyers)",
    params(("order_id" = Uuid, Path, description = "Order id")),
    security(("queue_token" = [])),
    responses(
        (status = 204, description = "Released, or already expired or released."),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedOrNotYours),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such order.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_NOT_HELD`: the order is paid.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn release_order() {}

#[utoipa::path(
    get, path = "/v1/reservations/{reservation_id}", operation_id = "get_reservation",
    tag = "reservations", summary = "One of the buyer's reservations (admitted buyers)",
    params(("reservation_id" = Uuid, Path, description = "Reservation id")),
    security(("queue_token" = [])),
    responses(
        (status = 200, description = "The reservation.", body = reservations::ReservationView),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedOrNotYours),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such reservation.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn get_reservation() {}

#[utoipa::path(
    delete, path = "/v1/reservations/{reservation_id}", operation_id = "release_reservation",
    tag = "reservations", summary = "Release a hold now, with the rest of its order (admitted buyers)",
    params(("reservation_id" = Uuid, Path, description = "Reservation id")),
    security(("queue_token" = [])),
    responses(
        (status = 204, description = "Released, or already expired or released."),
        (status = 400, response = docs::InvalidRequest),
        (status = 403, response = docs::NotAdmittedOrNotYours),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: no such reservation.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_NOT_HELD`: the reservation is already paid \
         (CONFIRMED).",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn release_reservation() {}

#[utoipa::path(
    post, path = "/v1/payments", operation_id = "pay", tag = "payments",
    summary = "Pay for held seats or an order from the points balance (admitted buyers)",
    description = "All or nothing, in one transaction: debit, seats `SOLD`, reservations \
                   `CONFIRMED`, payment and point-history rows. Then the buyer's admission ends \
                   and the slot goes to the next in line. The same `Idempotency-Key` with the \
                   same body returns the first result again and charges once — also after the \
                   admission ended (paid, expired, the line lost) and with the token past its \
                   `exp`: a buyer whose answer was lost retries and learns that they paid (410 \
                   `TICKET_GONE` for a key never used). Saved answers are kept \
                   `idempotency.retention_hours` (48 by default).",
    security(("queue_token" = [])),
    params(("Idempotency-Key" = String, Header,
            description = "1-255 visible ASCII characters, unique per payment attempt")),
    request_body = payments::PaymentRequest,
    responses(
        (status = 201, description = "Paid (or the replay of an earlier identical request).",
         body = payments::PaymentView),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, missing or invalid \
         `Idempotency-Key`, neither or both of `reservation_ids` and `order_id`, \
         `reservation_ids` empty, over 20 or repeated, or naming only some of an order's held \
         seats.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 402, description = "`INSUFFICIENT_BALANCE`: the balance is below the total; \
         nothing changed.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, response = docs::NotAdmittedOrNotYours),
        (status = 404, description = "`RESERVATION_NOT_FOUND`: a reservation (or the order) does \
         not exist.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`RESERVATION_EXPIRED`: a hold ran out before payment. \
         `RESERVATION_NOT_HELD`: a reservation is already paid or released. \
         `SEAT_UNAVAILABLE`: a seat was sold under another reservation meanwhile.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = docs::PayloadTooLarge),
        (status = 415, response = docs::UnsupportedMediaType),
        (status = 422, response = docs::IdempotencyKeyReused),
    )
)]
pub fn pay() {}

#[utoipa::path(
    get, path = "/v1/users/{user_id}/points", operation_id = "get_balance", tag = "points",
    summary = "A user's points balance",
    description = "No queue token needed. A user never seen has 0. With a verified identity \
                   (`identity.mode` `jwt` or `header`) only the user themself may ask.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id")),
    responses(
        (status = 200, description = "The balance.", body = points::Balance),
        (status = 400, description = "`INVALID_REQUEST`: `user_id` is not a positive integer.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = docs::IdentityUnverified),
    )
)]
pub fn get_balance() {}

#[utoipa::path(
    post, path = "/v1/users/{user_id}/points/charge", operation_id = "charge_points",
    tag = "points", summary = "Add points to a balance",
    description = "No queue token needed. The same `Idempotency-Key` with the same amount returns \
                   the first result again and charges once. Allowed only when the gateway runs \
                   with `points.self_charge` (development); in production points come from the \
                   operator side (`POST /admin/users/{user_id}/points/charge` on booking).",
    params(
        ("user_id" = i64, Path, minimum = 1, description = "User id"),
        ("Idempotency-Key" = String, Header,
         description = "1-255 visible ASCII characters, unique per charge"),
    ),
    request_body = points::ChargeRequest,
    responses(
        (status = 200, description = "Charged (or the replay of an earlier identical request).",
         body = points::Balance),
        (status = 400, description = "`INVALID_REQUEST`: malformed body, bad `user_id`, missing \
         or invalid `Idempotency-Key`. `INVALID_AMOUNT`: `amount` is not an integer from 1 to \
         10,000,000, or the balance would exceed its maximum.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = docs::IdentityUnverified),
        (status = 403, description = "`SELF_CHARGE_DISABLED`: buyers cannot add points \
         themselves here. `IDENTITY_MISMATCH`: the path's user is not the caller.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, response = docs::PayloadTooLarge),
        (status = 415, response = docs::UnsupportedMediaType),
        (status = 422, response = docs::IdempotencyKeyReused),
    )
)]
pub fn charge_points() {}

#[utoipa::path(
    get, path = "/v1/users/{user_id}/points/history", operation_id = "list_point_history",
    tag = "points", summary = "A user's point history, newest first",
    description = "No queue token needed.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id"), points::HistoryQuery),
    responses(
        (status = 200, description = "One page of history.", body = points::HistoryPage),
        (status = 400, description = "`INVALID_REQUEST`: bad `user_id`, `limit` or `before`, or \
         an unknown query parameter.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = docs::IdentityUnverified),
        (status = 403, response = docs::IdentityMismatch),
    )
)]
pub fn list_point_history() {}

#[utoipa::path(
    get, path = "/v1/users/{user_id}/reservations", operation_id = "list_reservations",
    tag = "reservations", summary = "A buyer's holds and purchases, newest first",
    description = "No queue token needed: a buyer can always see what they bought. Bound to the \
                   identity like the points routes.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id"), reservations::ReservationQuery),
    responses(
        (status = 200, description = "One page of reservations.", body = reservations::ReservationPage),
        (status = 400, description = "`INVALID_REQUEST`: bad `user_id`, `limit` or `before`, or \
         an unknown query parameter.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, response = docs::IdentityUnverified),
        (status = 403, response = docs::IdentityMismatch),
    )
)]
pub fn list_reservations() {}

#[utoipa::path(
    get, path = "/v1/payments/{payment_id}", operation_id = "get_payment", tag = "payments",
    summary = "One of the caller's payments and the seats it bought",
    description = "No admission needed. The caller is the verified identity or, with \
                   `identity.mode = none`, the user of the queue token sent as Bearer (expired \
                   tokens included). Another buyer's payment is 404, like one that does not exist.",
    params(("payment_id" = Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The payment.", body = payments::PaymentDetail),
        (status = 400, response = docs::InvalidRequest),
        (status = 401, description = "`IDENTITY_REQUIRED`: no identity (and, with \
         `identity.mode = none`, no queue token). `IDENTITY_INVALID`: the identity is not valid. \
         `INVALID_TOKEN`: with `identity.mode = none`, the queue token is not valid.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`: no such payment of the caller's.",
         body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
pub fn get_payment() {}

#[utoipa::path(
    get, path = "/v1/users/{user_id}/tickets", operation_id = "list_tickets", tag = "tickets",
    summary = "A buyer's tickets, each with its signed code (no admission)",
    description = "Newest purchase first, at most 200. `code` is an EdDSA (Ed25519) JWS \
                   (header `kid`; claims `tid`, `sch`, `seat`, `sub`, `iat`) a door verifies \
                   offline with `GET /v1/tickets/keys`; the page shows it as a QR code. \
                   Bound to the caller like the points routes.",
    params(("user_id" = i64, Path, minimum = 1, description = "User id")),
    responses(
        (status = 200, description = "The tickets.", body = tickets::TicketList),
        (status = 400, response = docs::InvalidRequest),
        (status = 401, response = docs::IdentityUnverified),
        (status = 403, response = docs::IdentityMismatch),
    )
)]
pub fn list_tickets() {}

#[utoipa::path(
    get, path = "/v1/tickets/keys", operation_id = "ticket_keys", tag = "tickets",
    summary = "The public keys tickets' codes are signed with (a JWKS, public)",
    description = "RFC 8037 OKP keys (`crv: Ed25519`), each with its `kid`; after a key \
                   rotation the retired keys stay listed, so codes issued before still verify.",
    responses((status = 200, description = "The JWKS.", body = tickets::Jwks))
)]
pub fn ticket_keys() {}

#[utoipa::path(
    post, path = "/v1/tickets/{ticket_id}/cancel", operation_id = "cancel_ticket",
    tag = "tickets", summary = "Cancel one of the caller's tickets for a refund (no admission)",
    description = "Until the schedule's `cancel_until` (by default 24 h before the show). The \
                   refund is the price minus the fee, floor(price × \
                   `orders.cancel_fee_percent` / 100) (10 % by default), credited to the \
                   balance (history kind `REFUND`); the seat is for sale again at once. One \
                   transaction; the same `Idempotency-Key` again returns the same answer and \
                   refunds once. The caller is the verified identity or, with \
                   `identity.mode = none`, the user of the queue token sent as Bearer.",
    params(
        ("ticket_id" = Uuid, Path, description = "Ticket id"),
        ("Idempotency-Key" = String, Header,
         description = "1-255 visible ASCII characters, unique per cancellation"),
    ),
    responses(
        (status = 200, description = "Cancelled and refunded (or the replay of that answer).",
         body = tickets::Cancelled),
        (status = 400, description = "`INVALID_REQUEST`: bad ticket id, missing or invalid \
         `Idempotency-Key`.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "`IDENTITY_REQUIRED`: no identity (and, with \
         `identity.mode = none`, no queue token). `IDENTITY_INVALID`: the identity is not valid. \
         `INVALID_TOKEN`: with `identity.mode = none`, the queue token is not valid.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`TICKET_NOT_FOUND`: no such ticket of the caller's.",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "`CANCEL_CLOSED`: past `cancel_until` (given), or the show \
         is cancelled. `ALREADY_CHECKED_IN`: the ticket was used at the door. \
         `TICKET_CANCELLED`: cancelled already (with another key).",
         body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, response = docs::IdempotencyKeyReused),
    )
)]
pub fn cancel_ticket() {}
