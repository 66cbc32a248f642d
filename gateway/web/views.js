// What the buyer sees, as a pure function of the page state: `view(S, A)` builds a fresh
// element tree and `morph` folds it into the live DOM.
//
// Morphing instead of replacing keeps the nodes that must survive an update: the focused
// button, a half-typed number, and above all the aria-live regions (a screen reader
// announces changes in a live region only if it is the same node). Nodes are matched by
// `id` or `data-key`, else by position and tag. Event handlers are stored on the nodes
// (`__on`) and reached through one delegated listener per event type.

import { now } from './api.js';
import { LANGS, t, problemText, fmtNum, fmtPoints, fmtDate, fmtClock, fmtEta } from './i18n.js';

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
  for (const { name } of [...from.attributes]) if (!to.hasAttribute(name)) from.removeAttribute(name);
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
      S.uid && (S.showTickets || S.phase === 'paid') ? ticketsSection(S, A) : null));
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
    const [msg, next] = problemText(code, n);
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
  if (S.phase === 'queue') return S.ticket.status === 'prequeue' ? 'prequeue' : 'waiting';
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
  } else {
    // Position and wait are throttled (S.fig): announced at most every ~10 s.
    const f = S.fig || tk;
    const pct = S.firstPos ? Math.max(0, Math.min(100, Math.round((100 * (S.firstPos - f.position)) / S.firstPos))) : 0;
    body = [
      h('div', { id: 'queue-live', 'aria-live': 'polite', 'aria-atomic': 'true' },
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
    tk.expires_at
      ? h('p', { class: `admission big${low ? ' warn' : ''}`, id: 'admission' },
        t('admission'), ' ',
        h('span', { testid: 'admission-remaining', role: 'timer', class: 'clock' }, fmtClock(secsUntil(tk.expires_at))))
      : null,
    datesSection(S, A),
    seatsSection(S, A),
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

const SEAT_KINDS = ['AVAILABLE', 'HELD', 'SOLD', 'MINE'];

function seatsSection(S, A) {
  let body;
  if (!S.scheduleId) body = h('p', { class: 'muted' }, t('seats.pick'));
  else if (!S.seatMap) body = h('p', null, t('loading'));
  else {
    const mine = new Set(S.holds.map((r) => `${r.schedule_id}:${r.seat_no}`));
    body = [
      h('p', { class: 'help', id: 'seats-help' }, t('seats.help')),
      h('ul', { class: 'legend', 'aria-label': t('legend') }, SEAT_KINDS.map((k) => h('li', null,
        h('span', { class: `swatch ${k.toLowerCase()}`, 'aria-hidden': 'true' }),
        t(`lg.${k}`)))),
      h('div', {
        testid: 'seat-map', class: 'seatmap', role: 'group', 'aria-labelledby': 'seats-h',
        'aria-describedby': 'seats-help', 'aria-busy': S.busy.hold ? 'true' : null,
      }, S.seatMap.seats.map((seat) => {
        const isMine = mine.has(`${S.seatMap.schedule_id}:${seat.seat_no}`);
        const kind = isMine ? 'MINE' : seat.status;
        const label = t('seat.label', { no: seat.seat_no, price: fmtPoints(seat.price), status: t(`seatSt.${kind}`) });
        return h('button', {
          type: 'button', key: `s${seat.seat_no}`, class: `seat ${kind.toLowerCase()}`,
          'data-seat-no': seat.seat_no, 'data-status': seat.status, 'data-mine': isMine ? 'true' : null,
          disabled: seat.status !== 'AVAILABLE' || isMine, 'aria-label': label, title: label,
          onclick: () => A.hold(seat.seat_no),
        }, String(seat.seat_no));
      })),
    ];
  }
  return h('section', { id: 'seats', 'aria-labelledby': 'seats-h' }, h('h2', { id: 'seats-h' }, t('seats.h')), body);
}

function seatLine(S, r) {
  const sched = S.schedules?.find((s) => s.schedule_id === r.schedule_id);
  const startsAt = r.starts_at || sched?.starts_at;
  return startsAt ? t('seatAt', { no: r.seat_no, date: fmtDate(startsAt) }) : t('seatNo', { no: r.seat_no });
}

function holdsSection(S, A) {
  const body = S.holds.length
    ? h('ul', { class: 'holds' }, S.holds.map((r) => h('li', { key: `h${r.reservation_id}`, class: 'hold' },
      h('span', { class: 'what' }, seatLine(S, r), ' · ', fmtPoints(r.price)),
      h('span', { class: 'held' }, t('heldFor'), ' ',
        h('span', { testid: 'hold-countdown', role: 'timer', class: 'clock' }, fmtClock(secsUntil(r.held_until)))),
      h('button', {
        type: 'button', class: 'secondary', testid: 'release-button',
        'aria-label': t('releaseSeat', { no: r.seat_no }), 'aria-disabled': S.busy.release ? 'true' : null,
        onclick: () => A.release(r.reservation_id),
      }, t('release')))))
    : h('p', { class: 'muted' }, t('holds.none'));
  return h('section', { id: 'holds', 'aria-labelledby': 'holds-h' },
    h('h2', { id: 'holds-h', tabindex: '-1' }, t('holds.h')), body);
}

function paySection(S, A) {
  const total = S.holds.reduce((sum, r) => sum + r.price, 0);
  return h('section', { id: 'pay', class: 'card', 'aria-labelledby': 'pay-h' },
    h('h2', { id: 'pay-h' }, t('pay.h')),
    h('p', null, t('balance'), ' ', h('strong', { testid: 'balance' }, S.balance == null ? '…' : fmtPoints(S.balance))),
    S.holds.length ? h('p', null, t('total'), ' ', h('strong', null, fmtPoints(total))) : null,
    h('button', {
      type: 'button', class: 'primary', testid: 'pay-button', disabled: !S.holds.length,
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

function concertTitle(S, id) {
  return S.concerts?.find((c) => c.concert_id === id)?.title
    || (S.concert?.concert_id === id ? S.concert.title : t('concertN', { id }));
}

function ticketsSection(S, A) {
  const T = S.tickets;
  let body;
  if (!T) body = h('p', null, t('loading'));
  else if (!T.items.length) body = h('p', null, t('tickets.none'));
  else {
    body = h('ul', { class: 'tickets' }, T.items.map((it) => h('li', { key: `t${it.reservation_id}`, 'data-status': it.status },
      h('strong', null, concertTitle(S, it.concert_id)),
      h('span', null, t('seatAt', { no: it.seat_no, date: fmtDate(it.starts_at) }), ' · ', fmtPoints(it.price)),
      h('span', { class: `pill ${String(it.status).toLowerCase()}` }, tOr(`res.${it.status}`, it.status)))));
  }
  return h('section', { id: 'tickets', testid: 'my-tickets', class: 'card', 'aria-labelledby': 'tickets-h' },
    h('h2', { id: 'tickets-h', tabindex: '-1' }, t('tickets.h')),
    body,
    h('div', { class: 'row' },
      T?.next ? h('button', { type: 'button', class: 'secondary', onclick: A.moreTickets }, t('tickets.more')) : null,
      h('button', { type: 'button', class: 'secondary', onclick: A.refreshTickets }, t('tickets.refresh'))));
}
