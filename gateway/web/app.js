// The buyer's page: state, the flows (join → wait → choose → hold → pay → receipt), the
// live connection to the waiting line, and the buyer's tickets (QR codes, cancellation).
//
// State lives in one object `S`; every change calls `render()`, which morphs the DOM into
// `view(S)` (views.js) and then draws the tickets' QR codes on their canvases. What must
// survive a reload lives in sessionStorage, per concert: the newest queue token, the first
// position seen (for the progress bar), whether the line was seen sold out, the id of the
// order being held, and an unfinished payment attempt with its Idempotency-Key (so a
// reload mid-payment replays the same attempt and the buyer is charged at most once); and
// an unanswered cancellation with its key. The remembered language and, in identity mode
// `none`, the user id and the newest queue token (who cancels a ticket) live in
// localStorage.

import { api, ApiError, now, setUserToken, onRetryChange, currentRetry, uuid, jwtClaims } from './api.js';
import { setLang, pickLang, t } from './i18n.js';
import { view, morph, listen, showsCode, cancellable, QR_QUIET } from './views.js';

const store = (kind) => ({
  get(k) {
    try { return window[kind].getItem(k); } catch { return null; }
  },
  set(k, v) {
    try { window[kind].setItem(k, v); } catch { /* storage disabled: works until reload */ }
  },
  del(k) {
    try { window[kind].removeItem(k); } catch { /* idem */ }
  },
});
const session = store('sessionStorage');
const local = store('localStorage');
const parseJson = (s) => {
  try { return JSON.parse(s); } catch { return null; }
};

/** `{identity_mode, self_charge}`, put in the page by the server. */
function readConfig() {
  const c = parseJson(document.getElementById('page-config')?.textContent);
  const mode = ['none', 'jwt', 'header'].includes(c?.identity_mode) ? c.identity_mode : 'none';
  return { identity_mode: mode, self_charge: c?.self_charge === true };
}

const match = /^\/concerts\/(\d+)\/?$/.exec(location.pathname);
const cid = match ? Number(match[1]) : null;

const S = {
  cfg: readConfig(),
  route: { name: cid ? 'concert' : 'home' },
  lang: 'en',
  concerts: null, // GET /v1/concerts
  rooms: {}, // concert id -> GET /v1/rooms/{id}
  concert: null,
  room: null,
  uid: null, // the buyer's user id, once known
  userIdInput: '',
  // idle | joining | notopen | queue (waiting, or on a sold-out concert's waiting list) |
  // active | paid | gone | soldout (the end: no place kept)
  phase: 'idle',
  ticket: null, // newest TicketView
  fig: null, // position and wait as shown (throttled for the live region)
  figPending: null,
  firstPos: null,
  soldOutSeen: false, // this place was on the waiting list of a sold-out concert
  seatsBack: null, // seats buyable again since then (seats_left), while waiting or admitted
  notOpen: null, // { opens_at, retryAt }
  gone: null, // { code, reason }
  schedules: null,
  scheduleId: null,
  venue: null, // GET /v1/schedules/{id}/sections of the chosen date
  section: null, // the chosen section's name
  seatMap: null, // GET /v1/schedules/{id}/seats?section= of the chosen section
  picked: [], // seats (as the seat map gave them) chosen to hold together, by seat_no
  maxPicks: null, // seats one order may have (set with the sections)
  taken: new Map(), // seat_no -> when a hold or the map found it taken under the buyer
  bestCount: 1,
  bestScope: null, // 'section:A' | 'grade:VIP' | '' (the whole date); null: the section shown
  order: null, // the held order: { order_id, held_until, amount, reservations }
  balance: null,
  chargeInput: '',
  flash: null, // { amount, balance } after a charge
  busy: {},
  payAttempt: null, // { key, order_id, seats }
  receipt: null,
  tickets: null, // the buyer's tickets (GET /v1/users/{id}/tickets), newest first
  qr: new Map(), // ticket code -> { n, dark }: its QR modules, once the encoder is loaded
  qrFailed: false,
  cancel: null, // the cancellation being confirmed: { ticket, busy }
  cancelled: null, // the last one done: { ticket_id, refund, fee, balance }
  showTickets: false,
  notice: null, // { code, reason?, status?, seatList?, available?, limit?, owned?, kind? }
  retry: null,
};

const key = {
  token: () => `queue_token:${cid}`,
  first: () => `first_position:${cid}`,
  payment: () => `payment_attempt:${cid}`,
  order: () => `order:${cid}`,
  soldOut: () => `sold_out_seen:${cid}`,
};
const queueToken = () => session.get(key.token());
/** localStorage: the newest queue token of any concert, in identity mode `none` the
 * buyer's proof of who they are to cancel a ticket (the gateway takes an expired one). */
const CALLER_TOKEN = 'caller_token';
/** sessionStorage: a confirmed cancellation whose answer never came, `{ ticket_id, key }`. */
const CANCEL_ATTEMPT = 'cancel_attempt';

function dropTicket() {
  session.del(key.token());
  session.del(key.first());
  session.del(key.soldOut());
  Object.assign(S, { firstPos: null, soldOutSeen: false, seatsBack: null });
}

// ---- rendering -------------------------------------------------------------------------

const root = document.getElementById('app');
const A = {}; // actions, filled below

function render() {
  S.retry = currentRetry();
  document.title = S.concert ? `${S.concert.title} · ${t('appName')}` : t('appName');
  morph(root, view(S, A));
  paintCodes();
  openDialog();
}

function applyLang(lang) {
  setLang(lang);
  S.lang = lang;
  document.documentElement.lang = lang;
}

function notify(code, extra = {}) {
  S.notice = { code, ...extra };
  render();
}

function notifyError(e) {
  if (e?.name === 'AbortError') return;
  if (e instanceof ApiError) {
    const p = e.problem;
    // The problem's own figures fill its message (NOT_ENOUGH_SEATS, TICKET_LIMIT).
    notify(e.code || 'UNKNOWN', {
      reason: p.reason, status: e.status, available: p.available, limit: p.limit, owned: p.owned,
      until: p.cancel_until,
    });
  } else {
    console.warn('unexpected answer', e);
    notify('UNKNOWN', { status: '?' });
  }
}

const focus = (id) => document.getElementById(id)?.focus();

// ---- identity (see the README's "Security model") --------------------------------------

function initIdentity() {
  const mode = S.cfg.identity_mode;
  if (mode === 'jwt') {
    // The site links to …/concerts/1#user_token=<JWT>: keep it for this tab only, and out
    // of the address bar (and so out of bookmarks, history and screenshots).
    const m = /[#&]user_token=([^&]*)/.exec(location.hash);
    if (m) {
      session.set('user_token', decodeURIComponent(m[1]));
      history.replaceState(history.state, '', location.pathname + location.search);
    }
    const token = session.get('user_token');
    const claims = token && jwtClaims(token);
    const valid = claims && (!claims.exp || claims.exp * 1000 > Date.now());
    if (valid && /^\d+$/.test(String(claims.sub))) {
      setUserToken(token);
      S.uid = Number(claims.sub);
    }
  } else if (mode === 'header') {
    S.uid = Number(session.get('header_user_id')) || null;
  } else {
    S.userIdInput = local.get('user_id') || '';
    S.uid = Number(S.userIdInput) || null;
  }
}

// ---- joining and the ticket ------------------------------------------------------------

A.setUserId = (v) => {
  S.userIdInput = v;
};

A.join = async () => {
  if (S.busy.join) return;
  const body = { concert_id: cid };
  if (S.cfg.identity_mode === 'none') {
    const id = Number(S.userIdInput);
    if (!Number.isSafeInteger(id) || id < 1) {
      S.phase = 'idle';
      notify('USER_ID_REQUIRED');
      focus('user-id');
      return;
    }
    body.user_id = id;
    local.set('user_id', String(id));
    S.uid = id;
  } else if (S.cfg.identity_mode === 'jwt' && !S.uid) {
    S.phase = 'idle';
    notify('SIGN_IN_REQUIRED');
    return;
  }
  // A queue token names its user: present it only for the same user.
  let token = queueToken();
  if (token && body.user_id && String(jwtClaims(token)?.sub) !== String(body.user_id)) {
    dropTicket();
    token = null;
  }
  S.busy.join = true;
  S.notice = null;
  S.gone = null;
  S.phase = 'joining';
  render();
  try {
    const tv = await api('POST', '/v1/queue/tokens', { body, token, user: true });
    S.busy.join = false;
    onTicket(tv);
  } catch (e) {
    S.busy.join = false;
    joinFailed(e, token);
  }
};

A.joinAgain = () => {
  dropTicket();
  A.join();
};

function joinFailed(e, hadToken) {
  const code = e.code;
  if (hadToken && (code === 'INVALID_TOKEN' || code === 'WRONG_CONCERT')) {
    // A stale token (other concert, rotated key): join afresh.
    dropTicket();
    A.join();
    return;
  }
  if (code === 'QUEUE_NOT_OPEN') {
    // Retry-After says when the pre-queue opens; join again then, automatically.
    const pre = S.room?.prequeue_opens_at ? (Date.parse(S.room.prequeue_opens_at) - now()) / 1000 : null;
    const secs = Math.max(1, e.retryAfter ?? pre ?? 30);
    S.phase = 'notopen';
    S.notOpen = {
      opens_at: e.problem.opens_at || S.room?.opens_at || null,
      retryAt: now() + secs * 1000 + Math.random() * 2000,
    };
    render();
    return;
  }
  if (code === 'SOLD_OUT') {
    S.phase = 'soldout';
    render();
    return;
  }
  S.phase = 'idle';
  notifyError(e);
  if (code === 'QUEUE_CLOSED') loadRoom(cid);
}

/** A TicketView from the join, the status route or the stream. */
function onTicket(tv) {
  if (S.phase === 'paid' || tv.concert_id !== cid) return;
  if (tv.token) {
    session.set(key.token(), tv.token);
    if (S.cfg.identity_mode === 'none') local.set(CALLER_TOKEN, tv.token);
  }
  if (tv.user_id) {
    S.uid = tv.user_id;
    if (S.cfg.identity_mode === 'header') session.set('header_user_id', String(tv.user_id));
  }
  const was = S.ticket?.status;
  S.ticket = tv;
  if (tv.status === 'sold_out' && !waitlisted(tv)) {
    // Sold out with no place kept: the end (as a 410 `sold_out` is).
    liveStop();
    stopSeats();
    dropTicket();
    S.phase = 'soldout';
    render();
    return;
  }
  if (tv.status === 'sold_out') {
    // The waiting list: the place is kept until seats come back.
    S.soldOutSeen = true;
    S.seatsBack = null;
    session.set(key.soldOut(), '1');
  } else if (S.soldOutSeen && tv.seats_left != null) {
    S.seatsBack = tv.seats_left;
  }
  if (tv.status === 'active') {
    S.phase = 'active';
    if (was !== 'active') admitted();
  } else {
    S.phase = 'queue';
    stopSeats();
    if (tv.status === 'waiting' && tv.position > 0 && (!S.firstPos || tv.position > S.firstPos)) {
      S.firstPos = tv.position;
      session.set(key.first(), String(tv.position));
    }
  }
  // The position sits in an aria-live region: change it at most every 10 s (tick() shows
  // the latest then), but at once when the status itself changes.
  const fig = {
    status: tv.status, position: tv.position, eta_seconds: tv.eta_seconds, seats_back: S.seatsBack, at: Date.now(),
  };
  if (!S.fig || S.fig.status !== fig.status || fig.at - S.fig.at >= 10_000) {
    S.fig = fig;
    S.figPending = null;
  } else {
    S.figPending = fig;
  }
  liveStart();
  render();
}

/**
 * On the waiting list of a sold-out concert: `sold_out` with a place kept. Without one
 * (an older gateway, or a room without a waiting list) `sold_out` is the end.
 */
const waitlisted = (tv) => tv.status === 'sold_out' && Number.isInteger(tv.position) && tv.position > 0;

/** The ticket ended (`gone` event, 410, or a token the server no longer accepts). */
function ticketGone(problem) {
  if (S.phase === 'paid') return; // the end of the ticket we just paid with
  liveStop();
  stopSeats();
  dropTicket();
  Object.assign(S, { ticket: null, order: null, schedules: null, notice: null });
  resetSchedule(null);
  S.gone = { code: problem?.code || 'TICKET_GONE', reason: problem?.reason };
  S.phase = S.gone.reason === 'sold_out' ? 'soldout' : 'gone';
  render();
}

function ticketError(e) {
  if (e.name === 'AbortError') return;
  if (e.code === 'TICKET_GONE') ticketGone(e.problem);
  else if (e.code === 'INVALID_TOKEN' || e.code === 'WRONG_CONCERT') ticketGone({ code: e.code });
  else notifyError(e);
}

/** Asks for the ticket's state (after a reload, or when a deadline passed). */
async function resume() {
  try {
    onTicket(await api('GET', '/v1/queue/status', { token: queueToken() }));
  } catch (e) {
    if (S.phase === 'joining') S.phase = 'idle';
    ticketError(e);
  }
}

// ---- live updates: Server-Sent Events, polling when the stream is refused ---------------

const live = { on: false, es: null, esToken: null, sseRetry: null, polling: false, pollGen: 0, pollTimer: null, ctrl: null };

function liveStart() {
  if (live.on) return;
  live.on = true;
  live.ctrl = new AbortController();
  openStream();
}

function liveStop() {
  live.on = false;
  live.es?.close();
  live.es = null;
  clearTimeout(live.sseRetry);
  stopPolling();
  live.ctrl?.abort();
}

function openStream() {
  clearTimeout(live.sseRetry);
  if (!live.on) return;
  if (typeof EventSource !== 'function') {
    startPolling();
    return;
  }
  const token = queueToken();
  const es = new EventSource(`/v1/queue/events?token=${encodeURIComponent(token)}`);
  live.es = es;
  live.esToken = token;
  es.addEventListener('status', (ev) => {
    if (live.es !== es) return;
    stopPolling();
    const tv = parseJson(ev.data);
    if (tv) onTicket(tv);
  });
  es.addEventListener('gone', (ev) => {
    if (live.es !== es) return;
    es.close();
    live.es = null;
    ticketGone(parseJson(ev.data) || { code: 'TICKET_GONE' });
  });
  es.onerror = () => {
    if (live.es !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      // Refused (e.g. 503: this gateway holds too many streams): poll, try again later.
      live.es = null;
      startPolling();
      live.sseRetry = setTimeout(openStream, 20_000 + Math.random() * 20_000);
    } else if (queueToken() !== live.esToken) {
      // The browser would reconnect with the token it started with: use the newest one.
      es.close();
      live.es = null;
      openStream();
    } else {
      // The browser reconnects by itself; poll meanwhile (the stream's first event stops
      // it), which also shows "cannot reach the server" if that is what happened.
      startPolling();
    }
  };
}

function startPolling() {
  if (live.polling || !live.on) return;
  live.polling = true;
  pollOnce(++live.pollGen);
}

function stopPolling() {
  live.polling = false;
  live.pollGen++;
  clearTimeout(live.pollTimer);
}

async function pollOnce(gen) {
  let wait = 2000;
  try {
    const tv = await api('GET', '/v1/queue/status', { token: queueToken(), signal: live.ctrl.signal });
    if (gen !== live.pollGen) return;
    onTicket(tv);
    wait = tv.poll_after_ms;
  } catch (e) {
    if (gen !== live.pollGen) return;
    ticketError(e);
  }
  if (gen === live.pollGen && live.on) {
    live.pollTimer = setTimeout(() => pollOnce(gen), Math.min(30_000, Math.max(1000, wait || 2000)));
  }
}

// ---- admitted: dates, sections, seats, the order ---------------------------------------
//
// A date, then its sections (grade, price, seats left, drawn as the hall's plan), then the
// seats of one section row by row. The buyer picks several seats (or asks for the best N)
// and holds them together: one order, one deadline, paid or released as a whole. One order
// at a time; its id is kept in sessionStorage, so a reload finds it again.

/** Most seats one hold request may name or ask for (the contract's MAX_SEATS_PER_ORDER). */
const MAX_SEATS_PER_ORDER = 10;
/** A seat found taken stays marked at least this long (the seat read may lag the hold). */
const TAKEN_MARK_MS = 5000;
/** Problem codes that mean the order's seats are no longer held for the buyer. */
const ORDER_GONE = ['RESERVATION_NOT_FOUND', 'RESERVATION_EXPIRED', 'RESERVATION_NOT_HELD'];

function admitted() {
  loadSchedules();
  loadBalance();
  restoreOrder();
}

/** Errors of the booking routes; the admission ones end or rewind the flow. */
function bookingError(e) {
  if (e.name === 'AbortError') return;
  if (['TICKET_GONE', 'INVALID_TOKEN', 'WRONG_CONCERT'].includes(e.code)) ticketError(e);
  else if (e.code === 'NOT_ADMITTED') {
    notifyError(e);
    resume(); // back to waiting, with the current position
  } else notifyError(e);
}

async function loadSchedules() {
  try {
    const list = await api('GET', `/v1/concerts/${cid}/schedules`, { token: queueToken() });
    if (S.phase !== 'active') return;
    S.schedules = list;
    if (S.scheduleId && !list.some((s) => s.schedule_id === S.scheduleId)) resetSchedule(null);
    if (!S.scheduleId && list.length === 1) resetSchedule(list[0].schedule_id);
    render();
    if (S.scheduleId) refresh({ sections: true });
  } catch (e) {
    bookingError(e);
  }
}

/** Chooses date `sid` (or none): what was shown or picked for another date goes. */
function resetSchedule(sid) {
  Object.assign(S, {
    scheduleId: sid, venue: null, section: null, seatMap: null, picked: [], taken: new Map(), bestScope: null,
  });
  seats.sectionsAt = 0;
}

A.selectSchedule = (sid) => {
  if (S.scheduleId !== sid) resetSchedule(sid);
  render();
  refresh({ sections: true });
};

A.selectSection = (name) => {
  if (S.section !== name) {
    S.section = name;
    S.seatMap = null;
    S.bestScope = null; // "best available" follows the section shown
  }
  render();
  focus('seats-h');
  refresh();
};

const seats = { timer: null, ctrl: null, sectionsAt: 0 };

function stopSeats() {
  clearTimeout(seats.timer);
  seats.ctrl?.abort();
  seats.ctrl = null;
}

/**
 * Loads the chosen section's seats now and then every ~3 s while they are shown, and the
 * sections (seats left per section) with them when asked, when none is chosen yet, or
 * every ~15 s.
 */
async function refresh({ sections = false } = {}) {
  stopSeats();
  const sid = S.scheduleId;
  if (S.phase !== 'active' || !sid) return;
  const ctrl = (seats.ctrl = new AbortController());
  const opts = { token: queueToken(), signal: ctrl.signal };
  const section = S.section;
  const wantSections = sections || !S.venue || !section || Date.now() - seats.sectionsAt > 15_000;
  let next = document.hidden ? 10_000 : 3000;
  try {
    const [venue, map] = await Promise.all([
      wantSections ? api('GET', `/v1/schedules/${sid}/sections`, opts) : null,
      section ? api('GET', `/v1/schedules/${sid}/seats?section=${encodeURIComponent(section)}`, opts) : null,
    ]);
    if (ctrl.signal.aborted) return;
    if (venue) {
      seats.sectionsAt = Date.now();
      onSections(venue);
    }
    if (map && S.section === section) onSeats(map);
    if (S.section !== section) next = 0; // the only section was chosen: its seats now
    render();
  } catch (e) {
    if (ctrl.signal.aborted) return;
    if (e.code === 'SCHEDULE_NOT_FOUND' || e.code === 'SCHEDULE_CLOSED') {
      resetSchedule(null);
      notifyError(e);
      loadSchedules();
      return;
    }
    bookingError(e);
  }
  if (seats.ctrl === ctrl && S.phase === 'active' && S.scheduleId === sid) {
    seats.timer = setTimeout(refresh, next);
  }
}

function onSections(venue) {
  S.venue = venue;
  const names = (venue.sections || []).map((s) => s.section);
  if (S.section != null && !names.includes(S.section)) Object.assign(S, { section: null, seatMap: null });
  if (S.section == null && names.length === 1) S.section = names[0];
  S.maxPicks = pickCap(venue);
  S.bestCount = Math.min(Math.max(1, S.bestCount), S.maxPicks);
}

function onSeats(map) {
  S.seatMap = map;
  const byNo = new Map(map.seats.map((s) => [s.seat_no, s]));
  for (const [no, at] of S.taken) {
    if (byNo.get(no)?.status === 'AVAILABLE' && Date.now() - at > TAKEN_MARK_MS) S.taken.delete(no);
  }
  if (S.busy.hold) return; // our own hold is under way: its seats turn HELD for us
  // A picked seat someone else took meanwhile: out of the selection, and the buyer told.
  const lost = S.picked.filter((p) => byNo.has(p.seat_no) && byNo.get(p.seat_no).status !== 'AVAILABLE');
  if (lost.length) seatsTaken(lost.map((p) => p.seat_no));
}

/** Seats someone else has: marked on the map, dropped from the selection, named to the buyer. */
function seatsTaken(nos) {
  const at = Date.now();
  const known = new Map([...(S.seatMap?.seats || []), ...S.picked].map((s) => [s.seat_no, s]));
  for (const no of nos) S.taken.set(no, at);
  S.picked = S.picked.filter((p) => !nos.includes(p.seat_no));
  S.notice = { code: 'SEAT_UNAVAILABLE', seatList: nos.map((no) => known.get(no) || { seat_no: no }) };
}

/** How many seats one order may have: the concert's limit per buyer, at most an order's. */
function pickCap(venue) {
  const max = venue.max_tickets_per_user;
  return Number.isInteger(max) && max > 0 ? Math.min(max, MAX_SEATS_PER_ORDER) : MAX_SEATS_PER_ORDER;
}

A.togglePick = (seat) => {
  if (S.phase !== 'active' || S.busy.hold) return; // a hold under way takes the picks as sent
  const i = S.picked.findIndex((p) => p.seat_no === seat.seat_no);
  if (i >= 0) S.picked.splice(i, 1);
  else if (S.picked.length >= S.maxPicks) {
    notify('PICK_LIMIT', { limit: S.maxPicks, kind: 'info' });
    return;
  } else {
    S.picked.push(seat);
    S.picked.sort((a, b) => a.seat_no - b.seat_no);
  }
  if (S.notice?.code === 'PICK_LIMIT') S.notice = null;
  render();
};

A.clearPicks = () => {
  S.picked = [];
  if (S.notice?.code === 'PICK_LIMIT') S.notice = null;
  render();
};

A.setBestCount = (v) => {
  S.bestCount = Math.min(Math.max(1, Number(v) || 1), S.maxPicks || 1);
  render();
};

A.setBestScope = (v) => {
  S.bestScope = v;
  render();
};

/** Where "best available" looks: `section:A`, `grade:VIP` or '' (the whole date). */
function bestScope() {
  return S.bestScope ?? (S.section != null ? `section:${S.section}` : '');
}

A.holdPicked = () => {
  if (!S.picked.length) return;
  hold({ seat_nos: S.picked.map((p) => p.seat_no) });
};

A.holdBest = () => {
  const best = { count: S.bestCount };
  const scope = bestScope();
  const at = scope.indexOf(':');
  if (at > 0) best[scope.slice(0, at)] = scope.slice(at + 1);
  hold({ best_available: best });
};

/** Holds `body`'s seats (named, or the best N) as one order. */
async function hold(body) {
  if (S.busy.hold || S.phase !== 'active' || S.order || !S.scheduleId) return;
  stopSeats();
  S.busy.hold = true;
  S.notice = null;
  S.flash = null;
  render();
  let held = false;
  try {
    const order = await api('POST', '/v1/reservations', {
      token: queueToken(),
      body: { schedule_id: S.scheduleId, ...body },
    });
    setOrder(order);
    S.picked = [];
    held = true;
    if (S.balance == null) loadBalance();
  } catch (e) {
    const taken = (e.problem?.seat_nos || []).filter(Number.isInteger);
    if (e.code === 'SEAT_UNAVAILABLE' && taken.length) seatsTaken(taken);
    else if (e.code === 'SCHEDULE_CLOSED') {
      resetSchedule(null);
      loadSchedules();
      bookingError(e);
    } else bookingError(e);
  } finally {
    S.busy.hold = false;
    render();
    refresh({ sections: true });
  }
  if (held) focus('holds-h');
}

function setOrder(order) {
  const rs = order.reservations || [];
  S.order = {
    ...order,
    reservations: rs,
    held_until: order.held_until || rs.map((r) => r.held_until).sort()[0],
    amount: order.amount ?? rs.reduce((sum, r) => sum + r.price, 0),
  };
  session.set(key.order(), order.order_id);
}

function dropOrder() {
  S.order = null;
  session.del(key.order());
}

A.releaseOrder = async () => {
  const o = S.order;
  if (!o || S.busy.release || S.busy.pay) return;
  S.busy.release = true;
  S.notice = null;
  render();
  try {
    await api('DELETE', `/v1/orders/${encodeURIComponent(o.order_id)}`, { token: queueToken() });
    if (S.order === o) dropOrder();
  } catch (e) {
    if (e.status === 404 || ORDER_GONE.includes(e.code)) {
      if (S.order === o) dropOrder();
    } else bookingError(e);
  } finally {
    S.busy.release = false;
    render();
    focus('holds-h'); // the pressed button is gone
    refresh({ sections: true });
  }
};

/** The order this tab held before a reload, if its seats are still held. */
async function restoreOrder() {
  const id = session.get(key.order());
  if (!id || S.order) return;
  try {
    const o = await api('GET', `/v1/orders/${encodeURIComponent(id)}`, { token: queueToken() });
    const rs = o.reservations || [];
    const live = rs.length && rs.every((r) => r.status === 'HELD') && Date.parse(o.held_until) > now();
    if (live && !S.order) setOrder(o);
    else if (!live) session.del(key.order());
    render();
  } catch (e) {
    if (e.status === 404) session.del(key.order());
    /* else best effort: the order shows again after the next reload */
  }
}

// ---- points and payment ----------------------------------------------------------------

async function loadBalance() {
  if (!S.uid) return;
  try {
    S.balance = (await api('GET', `/v1/users/${S.uid}/points`, { user: true })).balance;
    render();
  } catch (e) {
    notifyError(e);
  }
}

A.setCharge = (v) => {
  S.chargeInput = v;
};

A.charge = async () => {
  if (S.busy.charge || !S.uid) return;
  const amount = Number(S.chargeInput);
  if (!Number.isInteger(amount) || amount < 1 || amount > 10_000_000) {
    notify('INVALID_AMOUNT');
    focus('charge-amount');
    return;
  }
  S.busy.charge = true;
  S.notice = null;
  S.flash = null;
  render();
  try {
    // One key per charge; api() resends it on its retries, so a lost answer never charges twice.
    const b = await api('POST', `/v1/users/${S.uid}/points/charge`, { user: true, idem: uuid(), body: { amount } });
    S.balance = b.balance;
    S.chargeInput = '';
    const input = document.getElementById('charge-amount');
    if (input) input.value = ''; // render() leaves a focused input alone
    S.flash = { amount, balance: b.balance };
  } catch (e) {
    notifyError(e);
  } finally {
    S.busy.charge = false;
    render();
  }
};

A.pay = () => {
  const o = S.order;
  if (S.busy.pay || !o) return;
  let attempt = S.payAttempt;
  // The same order as the unfinished attempt: the same attempt, the same key.
  if (!attempt || attempt.order_id !== o.order_id) {
    const startsAt = S.schedules?.find((s) => s.schedule_id === S.scheduleId)?.starts_at;
    attempt = {
      key: uuid(),
      order_id: o.order_id,
      seats: o.reservations.map((r) => ({
        reservation_id: r.reservation_id, schedule_id: r.schedule_id, seat_no: r.seat_no, price: r.price,
        section: r.section, row: r.row, number: r.number, grade: r.grade,
        starts_at: S.schedules?.find((s) => s.schedule_id === r.schedule_id)?.starts_at || startsAt,
      })),
    };
  }
  submitPayment(attempt);
};

async function submitPayment(attempt) {
  S.payAttempt = attempt;
  session.set(key.payment(), JSON.stringify(attempt));
  S.busy.pay = true;
  S.notice = null;
  S.flash = null;
  render();
  try {
    // An attempt saved by the page before orders (`ids`) is replayed as it was sent.
    const body = attempt.order_id ? { order_id: attempt.order_id } : { reservation_ids: attempt.ids };
    const p = await api('POST', '/v1/payments', { token: queueToken(), idem: attempt.key, body });
    S.busy.pay = false;
    paid(p, attempt);
  } catch (e) {
    S.busy.pay = false;
    // A 4xx is a definite "no": the next press is a new attempt with a new key. After a
    // 5xx the payment may have gone through: keep the key so a retry replays it.
    if (e.status < 500) {
      S.payAttempt = null;
      session.del(key.payment());
    }
    if (e.code === 'INSUFFICIENT_BALANCE') {
      notifyError(e);
      await loadBalance();
      const total = attempt.seats.reduce((sum, s) => sum + s.price, 0);
      if (S.cfg.self_charge && S.balance != null && !S.chargeInput) S.chargeInput = String(Math.max(1, total - S.balance));
      render();
      focus('charge-amount');
    } else if (ORDER_GONE.includes(e.code) || e.status === 404) {
      notifyError(e);
      if (S.order?.order_id === attempt.order_id) dropOrder();
      refresh({ sections: true });
    } else {
      bookingError(e);
    }
    render();
  }
}

function paid(payment, attempt) {
  S.payAttempt = null;
  session.del(key.payment());
  liveStop();
  stopSeats();
  dropTicket(); // the admission ends with the payment
  session.del(key.order());
  Object.assign(S, {
    receipt: { ...payment, seats: attempt.seats },
    balance: payment.balance,
    order: null,
    picked: [],
    phase: 'paid',
    notice: null,
  });
  render();
  focus('receipt-h');
  loadTickets();
}

// ---- my tickets ------------------------------------------------------------------------
//
// Every paid seat is a ticket with a signed code (a JWS) for the door. The page draws each
// code as a QR code (byte mode, error correction M, a quiet zone of 4 modules, 4 px a
// module) on a canvas, with the vendored encoder (qrcode.js), imported the first time
// tickets show: nothing comes from another host. A valid ticket can be cancelled until its
// `cancel_until` for its price less a fee: the refund is shown before the buyer confirms,
// and a confirmed attempt keeps its Idempotency-Key until a definite answer, so confirming
// again after a lost answer replays it and the refund is made once.

let encoder = null; // import('./qrcode.js'), once it is asked for

async function loadTickets() {
  const uid = S.uid;
  if (!uid) return;
  try {
    const list = await api('GET', `/v1/users/${uid}/tickets`, { user: true });
    if (S.uid !== uid) return;
    S.tickets = list.tickets || [];
    // An unanswered cancellation whose ticket is not valid any more was answered after all.
    const attempt = parseJson(session.get(CANCEL_ATTEMPT));
    if (attempt && !S.tickets.some((tk) => tk.ticket_id === attempt.ticket_id && tk.status === 'VALID')) {
      session.del(CANCEL_ATTEMPT);
    }
    render();
    await makeCodes();
  } catch (e) {
    notifyError(e);
  }
}

/** The QR modules of every code to show that has none yet. */
async function makeCodes() {
  const codes = (S.tickets || []).filter(showsCode).map((tk) => tk.code).filter((code) => !S.qr.has(code));
  if (!codes.length) return;
  try {
    encoder ||= import('./qrcode.js');
    const { qrcode } = await encoder;
    for (const code of codes) S.qr.set(code, qrModules(qrcode, code));
    S.qrFailed = false;
  } catch (e) {
    encoder = null; // "Refresh" tries again
    console.warn('ticket codes not drawn', e);
    S.qrFailed = true;
  }
  render();
}

/** `code` as QR modules: `n` × `n`, `dark[row * n + col]`. */
function qrModules(qrcode, code) {
  const qr = qrcode(0, 'M'); // version 0: the smallest that holds the code
  qr.addData(code, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const dark = new Uint8Array(n * n);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) dark[row * n + col] = qr.isDark(row, col) ? 1 : 0;
  }
  return { n, dark };
}

/**
 * Draws each ticket's QR code on its canvas, after a render: the view sized the canvas
 * ((n + 2 × quiet zone) × px a module); a canvas already showing that code is left alone.
 */
function paintCodes() {
  for (const canvas of root.querySelectorAll('canvas[data-ticket-code]')) {
    const tk = S.tickets?.find((x) => x.ticket_id === canvas.dataset.ticketCode);
    const m = tk && S.qr.get(tk.code);
    const stamp = m && `${tk.code}@${canvas.width}`;
    if (!m || canvas.__drawn === stamp) continue;
    const px = canvas.width / (m.n + 2 * QR_QUIET);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#000000';
    for (let row = 0; row < m.n; row++) {
      for (let col = 0; col < m.n; col++) {
        if (m.dark[row * m.n + col]) ctx.fillRect((col + QR_QUIET) * px, (row + QR_QUIET) * px, px, px);
      }
    }
    canvas.__drawn = stamp;
  }
}

A.toggleTickets = () => {
  S.showTickets = !S.showTickets;
  render();
  if (S.showTickets) {
    focus('tickets-h');
    loadTickets();
  }
};
A.refreshTickets = () => loadTickets();

/** In identity mode `none`: a queue token of this buyer's (any concert, expired or not). */
function callerToken() {
  const token = local.get(CALLER_TOKEN);
  return token && S.uid && String(jwtClaims(token)?.sub) === String(S.uid) ? token : null;
}

/** "Cancel this ticket": the confirmation, with the refund, as a modal dialog. */
A.askCancel = (id) => {
  const tk = S.tickets?.find((x) => x.ticket_id === id);
  if (!tk || !cancellable(tk) || S.cancel) return;
  Object.assign(S, { cancel: { ticket: tk, busy: false }, cancelled: null, notice: null });
  render(); // openDialog() shows it; focus goes to "keep my ticket"
};

A.keepTicket = () => closeCancel();

/** Closes the confirmation (not while its answer is awaited); focus back on its button. */
function closeCancel() {
  const c = S.cancel;
  if (!c || c.busy) return;
  S.cancel = null;
  render();
  focus(`cancel-${c.ticket.ticket_id}`);
}

/** Shows the confirmation modal once the view has put it in the page. The state decides
 * when it closes: Escape asks closeCancel(), and a dialog the browser closed anyway is shown
 * again at the next render while the state still has it. */
function openDialog() {
  const dialog = document.getElementById('cancel-dialog');
  if (!dialog || dialog.open) return;
  if (!dialog.__wired) {
    dialog.__wired = true;
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      closeCancel();
    });
  }
  dialog.showModal();
}

A.confirmCancel = async () => {
  const c = S.cancel;
  if (!c || c.busy) return;
  const tk = c.ticket;
  const token = S.cfg.identity_mode === 'none' ? callerToken() : undefined;
  if (token === null) {
    S.cancel = null;
    notify('CANCEL_NEEDS_LINE');
    focus('tickets-h');
    return;
  }
  // An unanswered attempt on this ticket is replayed with its key.
  let attempt = parseJson(session.get(CANCEL_ATTEMPT));
  if (attempt?.ticket_id !== tk.ticket_id || !attempt.key) attempt = { ticket_id: tk.ticket_id, key: uuid() };
  session.set(CANCEL_ATTEMPT, JSON.stringify(attempt));
  c.busy = true;
  S.notice = null;
  render();
  try {
    const path = `/v1/tickets/${encodeURIComponent(tk.ticket_id)}/cancel`;
    const done = await api('POST', path, { user: true, token, idem: attempt.key });
    session.del(CANCEL_ATTEMPT);
    Object.assign(S, {
      cancel: null,
      cancelled: done,
      balance: done.balance,
      tickets: (S.tickets || []).map((x) => (x.ticket_id === tk.ticket_id
        ? { ...x, status: 'CANCELLED', refund_if_cancelled: null } : x)),
    });
    render();
    focus('cancel-result');
    loadTickets();
  } catch (e) {
    if (e.name === 'AbortError') return;
    // A 4xx is a definite "no": the next confirmation is a new attempt. After a 5xx the
    // ticket may be cancelled already: the key stays, so the next one replays it.
    if (e.status < 500) session.del(CANCEL_ATTEMPT);
    S.cancel = null;
    notifyError(e); // in the page's alert, once the dialog is gone
    focus('tickets-h');
    if (e.status < 500) loadTickets(); // cancelled, checked in or closed meanwhile: show it
  }
};

// ---- the rest --------------------------------------------------------------------------

A.setLang = (lang) => {
  applyLang(lang);
  local.set('lang', lang);
  render();
};

A.dismiss = () => {
  S.notice = null;
  render();
};

async function loadRoom(id) {
  try {
    const room = await api('GET', `/v1/rooms/${id}`);
    S.rooms[id] = room;
    if (id === cid) S.room = room;
    render();
  } catch {
    /* the badge is optional */
  }
}

/** Once a second: countdowns, deadlines, and the throttled position. */
function tick() {
  const at = now();
  if (S.figPending && Date.now() - S.fig.at >= 10_000) {
    S.fig = { ...S.figPending, at: Date.now() };
    S.figPending = null;
  }
  if (S.phase === 'notopen' && at >= S.notOpen.retryAt) {
    S.notOpen.retryAt = Infinity;
    A.join();
  }
  const tk = S.ticket;
  // Safety nets in case the stream missed a change: ask once after the deadline.
  if (S.phase === 'queue' && tk?.status === 'prequeue' && tk.opens_at && S.checked !== tk.opens_at
    && at > Date.parse(tk.opens_at) + 5000 + Math.random() * 10_000) {
    S.checked = tk.opens_at;
    resume();
  }
  if (S.phase === 'active' && tk?.expires_at && S.checked !== tk.expires_at && at >= Date.parse(tk.expires_at)) {
    S.checked = tk.expires_at;
    resume();
  }
  if (S.phase === 'active' && !S.busy.pay && S.order && Date.parse(S.order.held_until) <= at) {
    S.notice = { code: 'HOLD_EXPIRED', seatList: S.order.reservations, kind: 'info' };
    dropOrder();
    refresh({ sections: true });
  }
  render();
}

async function bootConcert() {
  loadRoom(cid);
  api('GET', `/v1/concerts/${cid}`).then(
    (c) => { S.concert = c; render(); },
    (e) => notifyError(e),
  );
  if (!queueToken()) return;
  S.firstPos = Number(session.get(key.first())) || null;
  S.soldOutSeen = session.get(key.soldOut()) === '1';
  S.phase = 'joining';
  render();
  const pending = parseJson(session.get(key.payment()));
  if (pending?.key && (pending.order_id || pending.ids?.length)) await submitPayment(pending);
  if (S.phase !== 'paid' && queueToken()) await resume();
}

async function bootHome() {
  try {
    const list = await api('GET', '/v1/concerts');
    S.concerts = Array.isArray(list) ? list : [];
  } catch (e) {
    S.concerts = [];
    notifyError(e);
  }
  render();
  await Promise.all(S.concerts.map((c) => loadRoom(c.concert_id)));
}

applyLang(pickLang(local.get('lang'), navigator.languages || [navigator.language]));
initIdentity();
listen(root);
// The site may hand over a (new) user token to a page that is already open.
window.addEventListener('hashchange', () => {
  if (!location.hash.includes('user_token=')) return;
  initIdentity();
  render();
});
onRetryChange(render);
render();
setInterval(tick, 1000);
if (S.route.name === 'concert') bootConcert();
else bootHome();
