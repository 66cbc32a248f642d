// What the buyer sees, as a pure function of the page state: `view(S, A)` builds a fresh
// element tree and `morph` folds it into the live DOM.
//
// Morphing instead of replacing keeps the nodes that must survive an update: the focused
// button, a half-typed number, and above all the aria-live regions (a screen reader
// announces changes in a live region only if it is the same node). Nodes are matched by
// `id` or `data-key`, else by position and tag. Event handlers are stored on the nodes
// (`__on`) and reached through one delegated listener per event type. What the browser
// owns is left alone: a dialog's `open` (showModal), a canvas's pixels (app.js draws them).

import { now } from './api.js';
import { LANGS, t, problemText, seatText, fmtNum, fmtPoints, fmtDate, fmtClock, fmtEta } from './i18n.js';

/** Builds an element: props are attributes (true = present, false/null = absent), `on*`
 * handlers, `testid` (data-testid) and `key` (data-key). */
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) (el.__on ||= {})[k.slice(2)] = v;
    else el.setAttribute(k === 'testid' ? 'data-testid' : k === 'key' ? 'data-key' : k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k == null || k === false || k === '') continue;
    if (Array.isArray(k)) append(el, k);
    else el.append(k instanceof Node ? k : String(k));
  }
}

const keyOf = (n) => (n.nodeType === 1 ? n.id || n.getAttribute('data-key') || null : null);

/** Makes the live node `from` look like the new node `to` (same tag), reusing nodes. */
export function morph(from, to) {
  if (from.nodeType !== 1) {
    if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
    return;
  }
  for (const { name } of [...from.attributes]) {
    if (!to.hasAttribute(name) && !(name === 'open' && from.tagName === 'DIALOG')) from.removeAttribute(name);
  }
  for (const { name, value } of to.attributes) if (from.getAttribute(name) !== value) from.setAttribute(name, value);
  from.__on = to.__on;
  // An input's value is state; leave the one being typed in alone.
  if (from.tagName === 'INPUT' && from !== document.activeElement) from.value = to.getAttribute('value') ?? '';
  morphChildren(from, to);
  if (from.tagName === 'SELECT') from.value = to.value;
}

function morphChildren(from, to) {
  const wanted = new Set();
  for (const c of to.childNodes) if (keyOf(c)) wanted.add(keyOf(c));
  const keyed = new Map();
  for (const c of from.childNodes) if (keyOf(c)) keyed.set(keyOf(c), c);
  let cur = from.firstChild;
  for (const next of [...to.childNodes]) {
    // Old keyed nodes that are not wanted any more go first.
    while (cur && keyOf(cur) && !wanted.has(keyOf(cur))) {
      const gone = cur;
      cur = cur.nextSibling;
      gone.remove();
    }
    const k = keyOf(next);
    let match = null;
    if (k) match = keyed.get(k) || null;
    else if (cur && !keyOf(cur) && cur.nodeType === next.nodeType && cur.nodeName === next.nodeName) match = cur;
    if (match && match.nodeName !== next.nodeName) match = null;
    if (k) keyed.delete(k);
    if (!match) {
      from.insertBefore(next, cur);
      continue;
    }
    if (match === cur) cur = cur.nextSibling;
    else from.insertBefore(match, cur);
    morph(match, next);
  }
  while (cur) {
    const gone = cur;
    cur = cur.nextSibling;
    gone.remove();
  }
}

/** One listener per event type, calling the `on*` handler of the nearest node that has one. */
export function listen(root) {
  for (const type of ['click', 'input', 'change', 'submit']) {
    root.addEventListener(type, (e) => {
      for (let n = e.target; n && n !== root.parentNode; n = n.parentNode) {
        const f = n.__on?.[type];
        if (f) return f(e, n);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------

const secsUntil = (iso) => (Date.parse(iso) - now()) / 1000;

/** A ticket's QR code: a quiet zone of this many modules on each side, this many px a module. */
export const QR_QUIET = 4;
export const QR_PX = 4;
/** Tickets whose code is shown (a cancelled one lets nobody in). */
export const showsCode = (tk) => tk.status !== 'CANCELLED';
/** Tickets the buyer may still cancel, for `refund_if_cancelled`. */
export const cancellable = (tk) => tk.status === 'VALID' && tk.refund_if_cancelled != null;
const tOr = (key, fallback) => {
  const s = t(key);
  return s === key ? fallback : s;
};

export function view(S, A) {
  const page = S.route.name === 'concert' ? concertPage(S, A) : homePage(S);
  return h('div', { id: 'app' },
    h('a', { class: 'skip', href: '#main' }, t('skip')),
    header(S, A),
    h('main', { id: 'main', tabindex: '-1' },
      // Kept in view while scrolling: the answer to a press far down the page shows here.
      h('div', { class: 'alerts', id: 'alerts' }, noticeBox(S, A), retryBox(S)),
      page,
      S.uid && (S.showTickets || S.phase === 'paid') ? ticketsSection(S, A) : null,
      S.cancel ? cancelDialog(S, A) : null));
}

function header(S, A) {
  return h('header', { class: 'top', id: 'top' },
    h('div', { class: 'bar' },
      h('a', { class: 'brand', href: '/' }, t('appName')),
      h('div', { class: 'tools' },
        S.uid
          ? h('button', {
            type: 'button', id: 'tickets-toggle', class: 'link',
            'aria-expanded': String(Boolean(S.showTickets)), onclick: A.toggleTickets,
          }, t('myTickets'))
          : null,
        h('label', { for: 'lang', class: 'sr-only' }, t('language')),
        h('select', { id: 'lang', testid: 'lang-switch', onchange: (e) => A.setLang(e.target.value) },
          LANGS.map(([code, name]) => h('option', { value: code, lang: code, selected: S.lang === code }, name))))));
}

/** The current problem or notice (role=alert), with its next step and action. */
function noticeBox(S, A) {
  let n = S.notice;
  if (!n && S.phase === 'gone') n = { ...S.gone, action: S.gone?.reason === 'sold_out' ? 'list' : 'join', sticky: true };
  if (!n && S.phase === 'soldout') n = { code: 'SOLD_OUT', action: 'list', sticky: true };
  if (!n && S.phase === 'notopen') n = { code: 'QUEUE_NOT_OPEN', kind: 'info', sticky: true };
  let body = null;
  if (n) {
    const code = n.code === 'INSUFFICIENT_BALANCE' && !S.cfg.self_charge ? 'NO_SELF_CHARGE' : n.code;
    const [msg, next] = problemText(code, { ...n, seats: n.seatList?.map(seatText).join(t('listSep')) });
    const action = n.action || (n.code === 'INVALID_TOKEN' || n.code === 'WRONG_CONCERT' ? 'join' : null);
    body = h('div', { class: `box ${n.kind || 'error'}` },
      h('p', { class: 'msg' }, msg),
      h('p', { class: 'next' }, next),
      h('div', { class: 'row' },
        action === 'join'
          ? h('button', { type: 'button', class: 'primary', testid: 'join-again-button', onclick: A.joinAgain }, t('joinAgain'))
          : null,
        action === 'list' ? h('a', { href: '/', class: 'button' }, t('otherConcerts')) : null,
        n.sticky ? null : h('button', { type: 'button', class: 'secondary', onclick: A.dismiss }, t('dismiss'))));
  }
  return h('div', { id: 'notice', role: 'alert', testid: 'error', 'data-code': n?.code }, body);
}

/** "The service is busy. Retrying in 3 s." while any call waits to be retried. */
function retryBox(S) {
  const r = S.retry;
  let body = null;
  if (r) {
    const [msg, next] = problemText(r.code);
    const secs = Math.max(1, Math.ceil((r.until - Date.now()) / 1000));
    // The seconds tick every second: hidden from screen readers, who hear the message once.
    body = h('div', { class: 'box info' },
      h('p', null, msg, ' ', h('span', { 'aria-hidden': 'true', class: 'clock' }, t('retryIn', { s: secs })),
        h('span', { class: 'sr-only' }, next)));
  }
  return h('div', { id: 'retry', role: 'status', testid: 'retry-countdown', 'data-code': r?.code }, body);
}

function badge(room) {
  const at = now();
  if (room.sold_out) return ['soldout', t('badge.soldOut')];
  if (room.mode === 'closed') return ['closed', t('badge.closed')];
  if (room.opens_at && Date.parse(room.opens_at) > at) {
    const pre = room.prequeue_opens_at && Date.parse(room.prequeue_opens_at) <= at;
    return ['soon', t(pre ? 'badge.prequeue' : 'badge.opensAt', { time: fmtDate(room.opens_at) })];
  }
  if (room.mode === 'queue_all') return ['paused', t('badge.queue_all')];
  return ['open', t('badge.open')];
}

function roomInfo(room) {
  if (!room) return null;
  const [cls, text] = badge(room);
  const figures = [];
  if (room.waiting) figures.push(t('waitingN', { n: fmtNum(room.waiting) }));
  if (room.seats_left != null && !room.sold_out) figures.push(t('seatsLeftN', { n: fmtNum(room.seats_left) }));
  return h('p', { class: 'room', key: 'room' },
    h('span', { class: `badge ${cls}` }, text),
    figures.length ? h('span', { class: 'muted' }, figures.join(' · ')) : null);
}

const dateList = (schedules) => schedules.map((s) => fmtDate(s.starts_at)).join(' · ');

function homePage(S) {
  let body;
  if (!S.concerts) body = h('p', null, t('loading'));
  else if (!S.concerts.length) body = h('p', null, t('noConcerts'));
  else {
    body = h('ul', { class: 'cards' }, S.concerts.map((c) => h('li', { class: 'card', key: `c${c.concert_id}` },
      h('h2', null, h('a', { href: `/concerts/${c.concert_id}` }, c.title)),
      c.schedules?.length ? h('p', { class: 'muted' }, dateList(c.schedules)) : null,
      roomInfo(S.rooms[c.concert_id]))));
  }
  return [h('h1', { id: 'page-h' }, t('concerts')), body];
}

function statusWord(S) {
  if (S.phase === 'queue') return { prequeue: 'prequeue', sold_out: 'waitlist' }[S.ticket.status] || 'waiting';
  return { notopen: 'not_open', soldout: 'sold_out' }[S.phase] || S.phase;
}

function concertPage(S, A) {
  const c = S.concert;
  const st = statusWord(S);
  const low = S.phase === 'active' && S.ticket?.expires_at && secsUntil(S.ticket.expires_at) < 60;
  return [
    h('p', { class: 'back' }, h('a', { href: '/' }, t('backToList'))),
    h('h1', { id: 'page-h' }, c ? c.title : t('loading')),
    roomInfo(S.room),
    c?.schedules?.length ? h('p', { class: 'muted' }, `${t('dates')}: ${dateList(c.schedules)}`) : null,
    // Always present, so that every change of status (admission above all) is announced.
    h('p', { id: 'status-line', role: 'status', class: `status ${st}` },
      t('statusLabel'), ' ',
      h('strong', { testid: 'status-text', 'data-status': st }, t(`st.${st}`)), ' ',
      h('span', { class: 'hint' }, t(low ? 'hint.activeLow' : `hint.${st}`))),
    S.phase === 'idle' || S.phase === 'joining' ? joinSection(S, A) : null,
    S.phase === 'notopen' ? notOpenSection(S) : null,
    S.phase === 'queue' ? queueSection(S) : null,
    S.phase === 'active' ? activeSections(S, A, low) : null,
    S.phase === 'paid' ? receiptSection(S) : null,
  ];
}

function joinSection(S, A) {
  const mode = S.cfg.identity_mode;
  let identity;
  let canJoin = S.phase !== 'joining';
  if (mode === 'jwt') {
    if (S.uid) identity = h('p', { class: 'muted' }, t('signedInAs', { id: S.uid }));
    else {
      identity = h('p', { class: 'warn', id: 'sign-in' }, t('signInNeeded'));
      canJoin = false;
    }
  } else if (mode === 'header') {
    identity = h('p', { class: 'muted' }, t('signedInSite'));
  } else {
    identity = h('div', { class: 'field' },
      h('label', { for: 'user-id' }, t('userId')),
      h('input', {
        id: 'user-id', testid: 'user-id-input', type: 'number', inputmode: 'numeric', min: 1, step: 1,
        required: true, autocomplete: 'off', value: S.userIdInput, 'aria-describedby': 'user-id-help',
        oninput: (e) => A.setUserId(e.target.value),
      }),
      h('p', { id: 'user-id-help', class: 'help' }, t('userIdHelp')));
  }
  return h('section', { id: 'join', class: 'card', 'aria-labelledby': 'join-h' },
    h('h2', { id: 'join-h' }, t('join.h')),
    h('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); A.join(); } },
      identity,
      h('button', { type: 'submit', class: 'primary', testid: 'join-button', disabled: !canJoin }, t('join'))));
}

function countdown(iso) {
  return h('span', { testid: 'countdown', role: 'timer', class: 'clock' }, fmtClock(secsUntil(iso)));
}

function notOpenSection(S) {
  const { opens_at: opensAt, retryAt } = S.notOpen;
  return h('section', { id: 'not-open', class: 'card', 'aria-labelledby': 'not-open-h' },
    h('h2', { id: 'not-open-h' }, t('notOpen.h')),
    opensAt ? h('p', { class: 'big' }, t('opensIn'), ' ', countdown(opensAt)) : null,
    opensAt ? h('p', null, t('opensAt', { time: fmtDate(opensAt) })) : null,
    Number.isFinite(retryAt) ? h('p', { class: 'muted' }, t('notOpen.auto', { time: fmtDate(new Date(retryAt).toISOString()) })) : null);
}

function seatsLeft(tk) {
  if (tk.seats_left == null) return null;
  return [
    h('p', null, t('seatsLeft'), ' ', h('strong', { testid: 'seats-left' }, fmtNum(tk.seats_left))),
    tk.seats_left === 0 && tk.held > 0 ? h('p', { class: 'note' }, t('allHeld')) : null,
  ];
}

/** "3 seats came back" after a sell-out, while waiting or admitted. */
function seatsBack(n) {
  if (!(n > 0)) return null;
  return h('p', { class: 'back-in', id: 'seats-back', testid: 'seats-back', 'data-seats': n },
    n === 1 ? t('seatsBack.one') : t('seatsBack', { n: fmtNum(n) }));
}

function queueSection(S) {
  const tk = S.ticket;
  const opensAt = tk.opens_at || S.room?.opens_at;
  let body;
  if (tk.status === 'prequeue') {
    body = [
      opensAt ? h('p', { class: 'big' }, t('opensIn'), ' ', countdown(opensAt)) : null,
      opensAt ? h('p', null, t('opensAt', { time: fmtDate(opensAt) })) : null,
      h('p', { class: 'muted' }, t('prequeueDraw')),
    ];
  } else if (tk.status === 'sold_out') {
    // Sold out, the place kept (throttled like the position).
    const f = S.fig || tk;
    body = [
      h('div', { id: 'queue-live', 'aria-live': 'polite', 'aria-atomic': 'true' },
        h('p', { class: 'big', id: 'waitlist', testid: 'waitlist', 'data-position': f.position },
          t('waitlist.keep', { n: fmtNum(f.position) }))),
      h('p', { class: 'muted' }, t('waitlist.how')),
    ];
  } else {
    // Position and wait are throttled (S.fig): announced at most every ~10 s.
    const f = S.fig || tk;
    const pct = S.firstPos ? Math.max(0, Math.min(100, Math.round((100 * (S.firstPos - f.position)) / S.firstPos))) : 0;
    body = [
      h('div', { id: 'queue-live', 'aria-live': 'polite', 'aria-atomic': 'true' },
        seatsBack(f.seats_back),
        h('p', { class: 'big' }, t('position'), ' ', h('strong', { testid: 'position' }, fmtNum(f.position))),
        h('p', null, t('eta'), ' ', h('span', { testid: 'eta' }, fmtEta(f.eta_seconds)))),
      h('label', { for: 'progress' }, t('progress')),
      h('progress', { id: 'progress', testid: 'progress', max: 100, value: pct }, `${pct}%`),
    ];
  }
  return h('section', { id: 'queue', class: 'card', 'aria-labelledby': 'queue-h' },
    h('h2', { id: 'queue-h' }, t('queue.h')), body, seatsLeft(tk));
}

function activeSections(S, A, low) {
  const tk = S.ticket;
  return [
    seatsBack(S.seatsBack),
    tk.expires_at
      ? h('p', { class: `admission big${low ? ' warn' : ''}`, id: 'admission' },
        t('admission'), ' ',
        h('span', { testid: 'admission-remaining', role: 'timer', class: 'clock' }, fmtClock(secsUntil(tk.expires_at))))
      : null,
    datesSection(S, A),
    sectionsSection(S, A),
    seatsSection(S, A),
    bestSection(S, A),
    holdsSection(S, A),
    paySection(S, A),
  ];
}

function datesSection(S, A) {
  let body;
  if (!S.schedules) body = h('p', null, t('loading'));
  else if (!S.schedules.length) body = h('p', null, t('dates.none'));
  else {
    body = h('ul', { testid: 'schedule-list', class: 'schedules' }, S.schedules.map((s) => h('li', { key: `d${s.schedule_id}` },
      h('button', {
        type: 'button', class: 'schedule', 'data-schedule-id': s.schedule_id,
        'aria-pressed': String(s.schedule_id === S.scheduleId), onclick: () => A.selectSchedule(s.schedule_id),
      },
      h('span', { class: 'when' }, fmtDate(s.starts_at)),
      h('span', { class: 'avail' }, t('seatsAvail', { n: fmtNum(s.available_seats), total: fmtNum(s.total_seats) }))))));
  }
  return h('section', { id: 'dates', 'aria-labelledby': 'dates-h' }, h('h2', { id: 'dates-h' }, t('dates.h')), body);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Builds an SVG element (attributes only: drawings have no handlers). */
function svg(tag, props, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(props || {})) if (v != null && v !== false) el.setAttribute(k, String(v));
  append(el, kids);
  return el;
}

/** Grade colours (g0..g4 in app.css) by the grade's first appearance in the venue. */
const gradeClass = (grades, grade) => `g${Math.max(0, grades.indexOf(grade)) % 5}`;
const gradesOf = (venue) => [...new Set((venue?.sections || []).map((x) => x.grade))];

/**
 * The hall's plan: the stage, then one block per section in venue order. A block is a real
 * button (its text says section, grade, price and seats left) holding a drawing of the
 * section's rows on one scale for the whole hall, so blocks compare in size as sections do.
 */
function sectionsSection(S, A) {
  let body;
  if (!S.scheduleId) body = h('p', { class: 'muted' }, t('sections.pick'));
  else if (!S.venue) body = h('p', null, t('loading'));
  else {
    const secs = S.venue.sections || [];
    const grades = gradesOf(S.venue);
    const widest = Math.max(1, ...secs.flatMap((x) => (x.rows || []).map((r) => r.seats)));
    const unit = Math.min(14, 256 / widest); // px per seat: the widest row is at most 16 rem
    body = [
      h('p', { class: 'help', id: 'sections-help' }, t('sections.help')),
      h('div', { class: 'venue', testid: 'section-map' },
        h('p', { class: 'stage' }, t('stage')),
        h('div', { class: 'blocks', role: 'group', 'aria-labelledby': 'sections-h', 'aria-describedby': 'sections-help' },
          secs.map((x) => sectionBlock(S, A, x, gradeClass(grades, x.grade), unit)))),
    ];
  }
  return h('section', { id: 'sections', 'aria-labelledby': 'sections-h' },
    h('h2', { id: 'sections-h' }, t('sections.h')), body);
}

function sectionBlock(S, A, x, grade, unit) {
  const soldOut = x.available === 0;
  return h('button', {
    type: 'button', key: `sec-${x.section}`, class: `block ${grade}${soldOut ? ' soldout' : ''}`,
    'data-section': x.section, 'data-grade': x.grade, 'data-available': x.available,
    'aria-pressed': String(S.section === x.section), onclick: () => A.selectSection(x.section),
  },
  h('span', { class: 'block-head' },
    h('span', { class: 'block-name' }, t('sectionN', { name: x.section })), ' ',
    h('span', { class: `grade ${grade}` }, x.grade)),
  rowsDrawing(x.rows || [], unit),
  h('span', { class: 'block-price' }, fmtPoints(x.price)),
  h('span', { class: 'block-left' },
    soldOut ? t('sectionSoldOut') : t('sectionLeft', { n: fmtNum(x.available), total: fmtNum(x.total) })));
}

/** A section's rows, `unit` px a seat, centred as on a stage-facing plan (decoration only). */
function rowsDrawing(rows, unit) {
  const wide = Math.max(1, ...rows.map((r) => r.seats));
  const tall = Math.max(1, rows.length);
  return svg('svg', {
    class: 'plan', viewBox: `0 0 ${wide} ${tall}`, width: Math.max(8, Math.round(wide * unit)),
    height: Math.max(4, Math.round(tall * unit)), 'aria-hidden': 'true', focusable: 'false',
  }, rows.map((r, i) => svg('rect', {
    x: (wide - r.seats) / 2 + 0.1, y: i + 0.15, width: Math.max(0.2, r.seats - 0.2), height: 0.7, rx: 0.25,
  })));
}

const SEAT_KINDS = ['AVAILABLE', 'PICKED', 'HELD', 'SOLD', 'MINE'];

/** The seat map's rows, in seat order: [[row label, seats], ...]. */
function byRow(list) {
  const rows = new Map();
  for (const seat of list) {
    const row = String(seat.row ?? '');
    if (!rows.has(row)) rows.set(row, []);
    rows.get(row).push(seat);
  }
  return [...rows];
}

function seatsSection(S, A) {
  let body;
  if (S.section == null) body = h('p', { class: 'muted' }, t('seats.pick'));
  else if (!S.seatMap) body = h('p', null, t('loading'));
  else {
    const sec = S.venue?.sections?.find((x) => x.section === S.section);
    const mine = new Set((S.order?.reservations || []).map((r) => `${r.schedule_id}:${r.seat_no}`));
    const picked = new Set(S.picked.map((p) => p.seat_no));
    const rows = byRow(S.seatMap.seats || []);
    const seatButton = (seat) => {
      const isMine = mine.has(`${S.seatMap.schedule_id}:${seat.seat_no}`);
      const taken = !isMine && S.taken.has(seat.seat_no);
      const free = seat.status === 'AVAILABLE' && !isMine && !taken;
      const isPicked = free && picked.has(seat.seat_no);
      const kind = isMine ? 'MINE' : taken ? 'TAKEN' : seat.status;
      const label = t('seat.label', {
        row: seat.row, number: seat.number, grade: seat.grade, price: fmtPoints(seat.price), status: t(`seatSt.${kind}`),
      });
      return h('button', {
        type: 'button', key: `s${seat.seat_no}`,
        class: `seat ${kind === 'TAKEN' ? 'held taken' : kind.toLowerCase()}${isPicked ? ' picked' : ''}`,
        'data-seat': seat.seat_no, 'data-seat-no': seat.seat_no, 'data-status': seat.status,
        'data-mine': isMine ? 'true' : null, 'data-taken': taken ? 'true' : null,
        'aria-pressed': free ? String(isPicked) : null, disabled: !free, 'aria-label': label, title: label,
        onclick: () => A.togglePick(seat),
      }, String(seat.number ?? seat.seat_no));
    };
    body = [
      sec ? h('p', { class: 'seats-of' }, t('seatsOf', { name: sec.section, grade: sec.grade, price: fmtPoints(sec.price) })) : null,
      h('p', { class: 'help', id: 'seats-help' }, t('seats.help', { max: fmtNum(S.maxPicks) })),
      h('ul', { class: 'legend', 'aria-label': t('legend') }, SEAT_KINDS.map((k) => h('li', null,
        h('span', { class: `swatch ${k.toLowerCase()}`, 'aria-hidden': 'true' }),
        t(`lg.${k}`)))),
      // Rows keep their shape: a row wider than the screen scrolls inside the map.
      h('div', {
        testid: 'seat-map', class: 'seatmap', role: 'group', tabindex: '0', 'aria-labelledby': 'seats-h',
        'aria-describedby': 'seats-help', 'aria-busy': S.busy.hold ? 'true' : null, key: `map-${S.section}`,
      }, rows.length
        ? rows.map(([row, list]) => h('div', { class: 'seat-row', role: 'group', 'aria-label': t('rowN', { row }), key: `row-${row}` },
          h('span', { class: 'row-label', 'aria-hidden': 'true' }, row),
          list.map(seatButton)))
        : h('p', null, t('seats.empty'))),
      pickPanel(S, A),
    ];
  }
  return h('section', { id: 'seats', 'aria-labelledby': 'seats-h' },
    h('h2', { id: 'seats-h', tabindex: '-1' }, t('seats.h')), body);
}

/** The seats picked so far, their total, and "hold them". */
function pickPanel(S, A) {
  const n = S.picked.length;
  const total = S.picked.reduce((sum, p) => sum + p.price, 0);
  const blocked = Boolean(S.order);
  return h('div', { class: 'picks' },
    h('p', { id: 'selection', 'aria-live': 'polite' },
      n
        ? [t('pick.some', { n: fmtNum(n), seats: S.picked.map(seatText).join(t('listSep')) }), ' ',
          h('strong', { id: 'selection-total' }, t('pick.total', { amount: fmtPoints(total) }))]
        : t('pick.none')),
    blocked ? h('p', { class: 'note', id: 'order-busy' }, t('order.busy')) : null,
    h('div', { class: 'row' },
      h('button', {
        type: 'button', class: 'primary', id: 'hold-seats', testid: 'hold-seats', disabled: !n || blocked,
        'aria-disabled': S.busy.hold ? 'true' : null, onclick: A.holdPicked,
      }, t('holdSeats', { n: fmtNum(n) })),
      n ? h('button', { type: 'button', class: 'secondary', id: 'clear-picks', onclick: A.clearPicks }, t('clearPicks')) : null));
}

/** "Best available ×N" in a section, a grade or the whole date. */
function bestSection(S, A) {
  if (!S.venue) return null;
  const secs = S.venue.sections || [];
  const scope = S.bestScope ?? (S.section != null ? `section:${S.section}` : '');
  const counts = Array.from({ length: S.maxPicks }, (_, i) => i + 1);
  const option = (value, label) => h('option', { value, selected: scope === value }, label);
  return h('section', { id: 'best', class: 'card', 'aria-labelledby': 'best-h' },
    h('h2', { id: 'best-h' }, t('best.h')),
    h('p', { class: 'help', id: 'best-help' }, t('best.help')),
    h('form', { class: 'best', novalidate: true, onsubmit: (e) => { e.preventDefault(); A.holdBest(); } },
      h('div', { class: 'row' },
        h('div', { class: 'field' },
          h('label', { for: 'best-count' }, t('bestCount')),
          h('select', { id: 'best-count', onchange: (e) => A.setBestCount(e.target.value) },
            counts.map((n) => h('option', { value: n, selected: n === S.bestCount }, fmtNum(n))))),
        h('div', { class: 'field' },
          h('label', { for: 'best-scope' }, t('bestScope')),
          h('select', { id: 'best-scope', onchange: (e) => A.setBestScope(e.target.value) },
            option('', t('best.any')),
            gradesOf(S.venue).map((g) => option(`grade:${g}`, t('best.grade', { grade: g }))),
            secs.map((x) => option(`section:${x.section}`, t('best.section', { name: x.section, grade: x.grade })))))),
      h('button', {
        type: 'submit', class: 'primary', id: 'hold-best', testid: 'hold-best', disabled: Boolean(S.order),
        'aria-disabled': S.busy.hold ? 'true' : null, 'aria-describedby': 'best-help',
      }, t('holdBest', { n: fmtNum(S.bestCount) }))));
}

function seatLine(S, r) {
  const sched = S.schedules?.find((s) => s.schedule_id === r.schedule_id);
  const startsAt = r.starts_at || sched?.starts_at;
  return startsAt ? t('withDate', { seat: seatText(r), date: fmtDate(startsAt) }) : seatText(r);
}

/** The held order: one countdown, its seats, its total, "release". */
function holdsSection(S, A) {
  const o = S.order;
  const body = o
    ? [
      h('p', { class: 'big' }, t('heldFor'), ' ',
        h('span', { id: 'order-countdown', testid: 'hold-countdown', role: 'timer', class: 'clock' }, fmtClock(secsUntil(o.held_until)))),
      h('ul', { class: 'holds', id: 'order-seats' }, o.reservations.map((r) => h('li', {
        key: `h${r.reservation_id}`, class: 'hold', 'data-held-seat': r.seat_no,
      },
      h('span', { class: 'what' }, seatLine(S, r)),
      r.grade ? h('span', { class: 'pill' }, r.grade) : null,
      h('span', { class: 'price' }, fmtPoints(r.price))))),
      h('p', null, t('total'), ' ', h('strong', { id: 'order-total' }, fmtPoints(o.amount))),
      h('div', { class: 'row' },
        h('button', {
          type: 'button', class: 'secondary', id: 'release-order', testid: 'release-button',
          'aria-disabled': S.busy.release || S.busy.pay ? 'true' : null, onclick: A.releaseOrder,
        }, t('release'))),
    ]
    : h('p', { class: 'muted' }, t('holds.none'));
  return h('section', { id: 'holds', 'aria-labelledby': 'holds-h' },
    h('h2', { id: 'holds-h', tabindex: '-1' }, t('holds.h')), body);
}

function paySection(S, A) {
  const total = S.order?.amount ?? 0;
  return h('section', { id: 'pay', class: 'card', 'aria-labelledby': 'pay-h' },
    h('h2', { id: 'pay-h' }, t('pay.h')),
    h('p', null, t('balance'), ' ', h('strong', { testid: 'balance' }, S.balance == null ? '…' : fmtPoints(S.balance))),
    S.order ? h('p', null, t('total'), ' ', h('strong', null, fmtPoints(total))) : null,
    h('button', {
      type: 'button', class: 'primary', id: 'pay-order', testid: 'pay-button', disabled: !S.order,
      'aria-disabled': S.busy.pay ? 'true' : null, onclick: A.pay,
    }, S.busy.pay ? t('paying') : t('pay', { amount: fmtPoints(total) })),
    S.cfg.self_charge
      ? h('form', { class: 'charge', novalidate: true, onsubmit: (e) => { e.preventDefault(); A.charge(); } },
        h('label', { for: 'charge-amount' }, t('chargeAmount')),
        h('div', { class: 'row' },
          h('input', {
            id: 'charge-amount', testid: 'charge-amount', type: 'number', inputmode: 'numeric',
            min: 1, max: 10000000, step: 1, value: S.chargeInput, oninput: (e) => A.setCharge(e.target.value),
          }),
          h('button', {
            type: 'submit', class: 'secondary', testid: 'charge-button', 'aria-disabled': S.busy.charge ? 'true' : null,
          }, t('charge'))))
      : null,
    h('p', { id: 'pay-status', role: 'status', class: 'ok' },
      S.flash ? t('charged', { amount: fmtPoints(S.flash.amount), balance: fmtPoints(S.flash.balance) }) : null));
}

function receiptSection(S) {
  const r = S.receipt;
  const row = (label, value) => [h('dt', null, label), h('dd', null, value)];
  return h('section', { id: 'receipt', testid: 'receipt', class: 'card', 'aria-labelledby': 'receipt-h' },
    h('h2', { id: 'receipt-h', tabindex: '-1' }, t('receipt.h')),
    h('dl', null,
      row(t('receipt.id'), h('code', { 'data-payment-id': r.payment_id }, r.payment_id)),
      row(t('receipt.seats'), h('ul', { class: 'plain' }, r.seats.map((s) => h('li', { key: `r${s.reservation_id}` }, seatLine(S, s))))),
      row(t('receipt.amount'), fmtPoints(r.amount)),
      row(t('receipt.balance'), fmtPoints(r.balance)),
      row(t('receipt.at'), fmtDate(r.paid_at))),
    h('p', null, h('a', { href: '/' }, t('otherConcerts'))));
}

/** The buyer's tickets: each with its place, grade, price, status, QR code and "cancel". */
function ticketsSection(S, A) {
  const list = S.tickets;
  let body;
  if (!list) body = h('p', null, t('loading'));
  else if (!list.length) body = h('p', null, t('tickets.none'));
  else body = h('ul', { class: 'tickets', id: 'ticket-list' }, list.map((tk) => ticketItem(S, A, tk)));
  const done = S.cancelled;
  return h('section', { id: 'tickets', testid: 'my-tickets', class: 'card', 'aria-labelledby': 'tickets-h' },
    h('h2', { id: 'tickets-h', tabindex: '-1' }, t('tickets.h')),
    h('p', {
      id: 'cancel-result', role: 'status', class: 'ok', tabindex: '-1',
      'data-refund': done?.refund, 'data-fee': done?.fee, 'data-balance': done?.balance,
    }, done
      ? t('cancel.done', { refund: fmtPoints(done.refund), fee: fmtPoints(done.fee), balance: fmtPoints(done.balance) })
      : null),
    S.qrFailed ? h('p', { class: 'warn' }, t('tk.qrFailed')) : null,
    body,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', id: 'tickets-refresh', onclick: A.refreshTickets }, t('tickets.refresh'))));
}

function ticketItem(S, A, tk) {
  const id = tk.ticket_id;
  const st = String(tk.status).toLowerCase();
  const fact = (name, label, value) => [h('dt', null, label), h('dd', { 'data-fact': name }, value)];
  // The canvas once its modules are known (app.js draws them after the render).
  const m = showsCode(tk) ? S.qr.get(tk.code) : null;
  let code = null;
  if (m) {
    const size = (m.n + 2 * QR_QUIET) * QR_PX;
    code = [
      h('canvas', {
        class: 'qr', width: size, height: size, role: 'img', 'data-ticket-code': id, 'data-modules': m.n,
        'aria-label': t('tk.qr', { seat: seatText(tk) }),
      }),
      h('p', { class: 'help' }, t('tk.qrHelp')),
    ];
  } else if (showsCode(tk) && !S.qrFailed) {
    code = h('p', { class: 'muted' }, t('tk.qrLoading'));
  }
  return h('li', { key: `tk-${id}`, class: `ticket ${st}`, 'data-ticket-id': id, 'data-status': tk.status },
    h('h3', { id: `tk-h-${id}` }, tk.title),
    h('p', { class: 'muted' }, fmtDate(tk.starts_at)),
    h('dl', { class: 'facts' },
      fact('section', t('tk.section'), tk.section),
      fact('row', t('tk.row'), tk.row),
      fact('number', t('tk.number'), String(tk.number)),
      fact('grade', t('tk.grade'), tk.grade),
      fact('price', t('tk.price'), fmtPoints(tk.price)),
      fact('status', t('tk.status'), h('span', { class: `pill ${st}` }, tOr(`tk.${tk.status}`, tk.status)))),
    code,
    cancellable(tk)
      ? [
        h('p', { class: 'help', id: `tk-until-${id}` },
          t('tk.cancelUntil', { time: fmtDate(tk.cancel_until), refund: fmtPoints(tk.refund_if_cancelled) })),
        h('button', {
          type: 'button', class: 'secondary', id: `cancel-${id}`, 'data-cancel-ticket': id, 'aria-haspopup': 'dialog',
          'aria-describedby': `tk-h-${id} tk-until-${id}`, onclick: () => A.askCancel(id),
        }, t('tk.cancel')),
      ]
      : null);
}

/** The confirmation of a cancellation: what is refunded, before anything is done. */
function cancelDialog(S, A) {
  const { ticket: tk, busy } = S.cancel;
  const refund = tk.refund_if_cancelled;
  const fee = tk.price - refund;
  const row = (label, value, props) => [h('dt', null, label), h('dd', props, value)];
  return h('dialog', {
    id: 'cancel-dialog', class: 'dialog', 'aria-labelledby': 'cancel-h', 'aria-describedby': 'cancel-terms',
    'data-ticket-id': tk.ticket_id, 'aria-busy': busy ? 'true' : null,
  },
  h('h2', { id: 'cancel-h' }, t('cancel.h')),
  h('p', null, t('withDate', { seat: seatText(tk), date: fmtDate(tk.starts_at) }), ' · ', tk.title),
  h('dl', { id: 'cancel-terms' },
    row(t('cancel.price'), fmtPoints(tk.price)),
    row(t('cancel.fee'), fmtPoints(fee), { id: 'cancel-fee', 'data-fee': fee }),
    row(t('cancel.refund'), h('strong', null, fmtPoints(refund)), { id: 'cancel-refund', 'data-refund': refund })),
  h('p', { class: 'note' }, t('cancel.note')),
  h('div', { class: 'row' },
    h('button', {
      type: 'button', class: 'danger', id: 'cancel-confirm', 'aria-disabled': busy ? 'true' : null, onclick: A.confirmCancel,
    }, busy ? t('cancel.busy') : t('cancel.confirm', { refund: fmtPoints(refund) })),
    h('button', {
      type: 'button', class: 'secondary', id: 'cancel-keep', autofocus: true,
      'aria-disabled': busy ? 'true' : null, onclick: A.keepTicket,
    }, t('cancel.keep'))));
}
