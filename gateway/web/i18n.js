// Every string of the buyer's page, in English and Korean, and the formatters that go
// with the language (numbers, points, dates, durations).
//
// `problems` has one entry per problem `code` the services can return (shared/src/
// contract/code.rs) plus a few the page raises itself (NETWORK, HOLD_EXPIRED, ...):
// [what happened, what to do next]. `gone` does the same for the `reason` of TICKET_GONE.
// Placeholders ({seats}, {limit}, ...) are filled from the problem's fields (problemText).
// A code missing here falls back to UNKNOWN, which names the HTTP status.

const en = {
  appName: 'Tickets',
  skip: 'Skip to content',
  language: 'Language',
  myTickets: 'My tickets',
  loading: 'Loading…',
  concerts: 'Concerts',
  noConcerts: 'No concerts on sale right now.',
  backToList: '← All concerts',
  dates: 'Dates',
  'badge.open': 'On sale',
  'badge.queue_all': 'Paused',
  'badge.closed': 'Closed',
  'badge.soldOut': 'Sold out',
  'badge.opensAt': 'Opens {time}',
  'badge.prequeue': 'Pre-queue open · opens {time}',
  waitingN: '{n} waiting',
  seatsLeftN: '{n} seats left',
  statusLabel: 'Status:',
  'st.idle': 'Not in line',
  'st.joining': 'Joining…',
  'st.not_open': 'Not open yet',
  'st.prequeue': 'Pre-queue',
  'st.waiting': 'Waiting',
  'st.active': 'Your turn',
  'st.sold_out': 'Sold out',
  'st.gone': 'Ended',
  'st.paid': 'Paid',
  'hint.idle': 'Join the line to buy tickets.',
  'hint.joining': 'Getting your place in line…',
  'hint.not_open': 'The line opens soon.',
  'hint.prequeue': 'You are in the pre-queue. Keep this page open.',
  'hint.waiting': 'Keep this page open: you will be let in automatically.',
  'hint.active': 'It is your turn! Choose a date and your seats.',
  'hint.activeLow': 'Less than a minute left to book.',
  'hint.sold_out': 'Every seat has been sold. You can stop waiting.',
  'hint.gone': 'Your place in line has ended.',
  'hint.paid': 'Payment complete. Enjoy the show!',
  'join.h': 'Join the line',
  userId: 'User id',
  userIdHelp: 'Development mode: enter your user id (a positive whole number).',
  signedInSite: 'You are signed in through the site.',
  signedInAs: 'Signed in as user {id}.',
  signInNeeded: 'Sign in on the site to join the line, then open this page from the site’s link.',
  join: 'Join the line',
  joinAgain: 'Join the line again',
  'queue.h': 'Your place in line',
  position: 'Position in line:',
  eta: 'Estimated wait:',
  progress: 'Progress to the front of the line',
  seatsLeft: 'Seats left:',
  allHeld: 'All remaining seats are held right now; some may come back.',
  opensIn: 'Opens in',
  opensAt: 'Opening: {time}',
  prequeueDraw: 'At the opening, everyone in the pre-queue gets a place in a fair random draw.',
  'notOpen.h': 'Opening of the sale',
  'notOpen.auto': 'Keep this page open: we will join the line for you at {time}.',
  admission: 'Time left to book:',
  'dates.h': 'Choose a date',
  'dates.none': 'No date can be booked any more.',
  seatsAvail: '{n} of {total} seats available',
  'sections.h': 'Choose a section',
  'sections.pick': 'Choose a date to see its sections.',
  'sections.help': 'The plan follows the hall: each block is a section, drawn with its rows. Pick one to see its seats.',
  stage: 'Stage',
  sectionN: 'Section {name}',
  sectionLeft: '{n} of {total} left',
  sectionSoldOut: 'Sold out',
  'seats.h': 'Choose your seats',
  'seats.pick': 'Choose a section to see its seats.',
  'seats.help': 'Select up to {max} seats, then hold them together for a few minutes.',
  'seats.empty': 'This section has no seats.',
  seatsOf: 'Seats of section {name} ({grade}, {price} each)',
  rowN: 'Row {row}',
  legend: 'Legend',
  'seat.label': 'Row {row}, seat {number}, {grade}, {price}, {status}',
  'seatSt.AVAILABLE': 'available',
  'seatSt.HELD': 'held',
  'seatSt.SOLD': 'sold',
  'seatSt.MINE': 'held by you',
  'seatSt.TAKEN': 'just taken',
  'lg.AVAILABLE': 'Available',
  'lg.PICKED': 'Selected',
  'lg.HELD': 'Held',
  'lg.SOLD': 'Sold',
  'lg.MINE': 'Yours',
  seatName: 'Section {section}, row {row}, seat {number}',
  listSep: '; ',
  'pick.none': 'No seat selected yet.',
  'pick.some': 'Selected ({n}): {seats}',
  'pick.total': 'Total: {amount}',
  holdSeats: 'Hold selected seats ({n})',
  clearPicks: 'Clear selection',
  'best.h': 'Or let us choose',
  'best.help': 'We hold the best seats left, next to each other where possible.',
  bestCount: 'Number of seats',
  bestScope: 'Where',
  'best.any': 'Anywhere (every section)',
  'best.grade': 'Any {grade} seat',
  'best.section': 'Section {name} ({grade})',
  holdBest: 'Hold best available ×{n}',
  'order.busy': 'Pay for or release the seats you hold before holding others.',
  'holds.h': 'Your seats',
  'holds.none': 'No seat held yet.',
  heldFor: 'Held for you for',
  release: 'Release these seats',
  withDate: '{seat} · {date}',
  'pay.h': 'Payment',
  balance: 'Balance:',
  total: 'Total:',
  pay: 'Pay {amount}',
  paying: 'Paying…',
  chargeAmount: 'Points to add',
  charge: 'Add points',
  charged: 'Added {amount}. New balance: {balance}.',
  'receipt.h': 'Receipt',
  'receipt.id': 'Payment id',
  'receipt.seats': 'Seats',
  'receipt.amount': 'Amount paid',
  'receipt.balance': 'Balance',
  'receipt.at': 'Paid at',
  seatNo: 'Seat {no}',
  'tickets.h': 'My tickets',
  'tickets.none': 'No tickets yet.',
  'tickets.more': 'Show more',
  'tickets.refresh': 'Refresh',
  'res.HELD': 'Held',
  'res.CONFIRMED': 'Confirmed',
  'res.EXPIRED': 'Expired',
  'res.RELEASED': 'Released',
  'res.CANCELLED': 'Cancelled',
  concertN: 'Concert {id}',
  retryIn: 'Retrying in {s} s.',
  dismiss: 'Dismiss',
  otherConcerts: 'See other concerts',
  points: '{n} P',
  'eta.lt1': 'less than a minute',
  'eta.min': 'about {m} min',
  'eta.h': 'about {h} h {m} min',
  days: '{d} d',
};

const ko = {
  appName: '티켓 예매',
  skip: '본문으로 건너뛰기',
  language: '언어',
  myTickets: '내 티켓',
  loading: '불러오는 중…',
  concerts: '공연',
  noConcerts: '지금 판매 중인 공연이 없습니다.',
  backToList: '← 전체 공연',
  dates: '공연 일정',
  'badge.open': '판매 중',
  'badge.queue_all': '일시 중지',
  'badge.closed': '판매 종료',
  'badge.soldOut': '매진',
  'badge.opensAt': '{time} 오픈',
  'badge.prequeue': '사전 대기 중 · {time} 오픈',
  waitingN: '대기 {n}명',
  seatsLeftN: '잔여 {n}석',
  statusLabel: '상태:',
  'st.idle': '대기열 밖',
  'st.joining': '참여 중…',
  'st.not_open': '오픈 전',
  'st.prequeue': '사전 대기',
  'st.waiting': '대기 중',
  'st.active': '예매 가능',
  'st.sold_out': '매진',
  'st.gone': '종료됨',
  'st.paid': '결제 완료',
  'hint.idle': '티켓을 사려면 대기열에 참여하세요.',
  'hint.joining': '대기 순번을 받는 중입니다…',
  'hint.not_open': '대기열이 곧 열립니다.',
  'hint.prequeue': '사전 대기열에 들어왔습니다. 이 페이지를 열어 두세요.',
  'hint.waiting': '이 페이지를 열어 두세요. 차례가 되면 자동으로 입장합니다.',
  'hint.active': '입장했습니다! 날짜와 좌석을 고르세요.',
  'hint.activeLow': '예매 가능 시간이 1분도 남지 않았습니다.',
  'hint.sold_out': '모든 좌석이 판매되었습니다. 더 기다리지 않으셔도 됩니다.',
  'hint.gone': '대기 순번이 종료되었습니다.',
  'hint.paid': '결제가 완료되었습니다. 즐거운 관람 되세요!',
  'join.h': '대기열 참여',
  userId: '사용자 ID',
  userIdHelp: '개발 모드: 사용자 ID(양의 정수)를 입력하세요.',
  signedInSite: '사이트에 로그인된 상태입니다.',
  signedInAs: '사용자 {id}(으)로 로그인됨.',
  signInNeeded: '대기열에 참여하려면 사이트에서 로그인한 뒤 사이트의 링크로 이 페이지를 여세요.',
  join: '대기열 참여',
  joinAgain: '대기열 다시 참여',
  'queue.h': '나의 대기 순번',
  position: '대기 순번:',
  eta: '예상 대기 시간:',
  progress: '입장까지 진행률',
  seatsLeft: '잔여 좌석:',
  allHeld: '남은 좌석이 모두 다른 분의 선점 중입니다. 일부는 다시 풀릴 수 있습니다.',
  opensIn: '오픈까지',
  opensAt: '오픈 시각: {time}',
  prequeueDraw: '오픈 시각에 사전 대기자 전원의 순번이 공정한 무작위 추첨으로 정해집니다.',
  'notOpen.h': '판매 오픈',
  'notOpen.auto': '이 페이지를 열어 두세요. {time}에 자동으로 대기열에 참여합니다.',
  admission: '남은 예매 시간:',
  'dates.h': '날짜 선택',
  'dates.none': '예매할 수 있는 날짜가 더 없습니다.',
  seatsAvail: '{total}석 중 {n}석 남음',
  'sections.h': '구역 선택',
  'sections.pick': '날짜를 고르면 구역이 표시됩니다.',
  'sections.help': '공연장 배치를 그대로 그렸습니다. 각 블록이 한 구역이며 열도 함께 표시됩니다. 구역을 고르면 좌석이 보입니다.',
  stage: '무대',
  sectionN: '{name}구역',
  sectionLeft: '{total}석 중 {n}석 남음',
  sectionSoldOut: '매진',
  'seats.h': '좌석 선택',
  'seats.pick': '구역을 고르면 좌석이 표시됩니다.',
  'seats.help': '좌석을 최대 {max}석까지 고른 뒤 한 번에 선점하세요. 몇 분 동안 선점됩니다.',
  'seats.empty': '이 구역에는 좌석이 없습니다.',
  seatsOf: '{name}구역 좌석 ({grade}, 1석 {price})',
  rowN: '{row}열',
  legend: '범례',
  // The seat's visible number must stand alone in its name (axe: label-content-name-mismatch).
  'seat.label': '좌석 번호 {number}, {row}열, {grade}, {price}, {status}',
  'seatSt.AVAILABLE': '선택 가능',
  'seatSt.HELD': '선점됨',
  'seatSt.SOLD': '판매됨',
  'seatSt.MINE': '내가 선점함',
  'seatSt.TAKEN': '방금 다른 분이 선택함',
  'lg.AVAILABLE': '선택 가능',
  'lg.PICKED': '선택함',
  'lg.HELD': '선점됨',
  'lg.SOLD': '판매됨',
  'lg.MINE': '내 좌석',
  seatName: '{section}구역 {row}열 {number}번',
  listSep: ', ',
  'pick.none': '아직 고른 좌석이 없습니다.',
  'pick.some': '선택한 좌석 ({n}석): {seats}',
  'pick.total': '합계: {amount}',
  holdSeats: '선택한 좌석 선점 ({n}석)',
  clearPicks: '선택 해제',
  'best.h': '자동 배정',
  'best.help': '남은 좌석 중 가장 좋은 자리를, 가능하면 나란히 선점합니다.',
  bestCount: '좌석 수',
  bestScope: '범위',
  'best.any': '전체 구역',
  'best.grade': '{grade} 등급 아무 좌석',
  'best.section': '{name}구역 ({grade})',
  holdBest: '좋은 좌석 {n}석 선점',
  'order.busy': '선점한 좌석을 결제하거나 취소한 뒤에 다른 좌석을 선점할 수 있습니다.',
  'holds.h': '선점한 좌석',
  'holds.none': '아직 선점한 좌석이 없습니다.',
  heldFor: '남은 선점 시간',
  release: '선점 취소',
  withDate: '{seat} · {date}',
  'pay.h': '결제',
  balance: '보유 포인트:',
  total: '합계:',
  pay: '{amount} 결제',
  paying: '결제 중…',
  chargeAmount: '충전할 포인트',
  charge: '포인트 충전',
  charged: '{amount} 충전 완료. 잔액: {balance}.',
  'receipt.h': '영수증',
  'receipt.id': '결제 번호',
  'receipt.seats': '좌석',
  'receipt.amount': '결제 금액',
  'receipt.balance': '잔액',
  'receipt.at': '결제 시각',
  seatNo: '{no}번 좌석',
  'tickets.h': '내 티켓',
  'tickets.none': '아직 티켓이 없습니다.',
  'tickets.more': '더 보기',
  'tickets.refresh': '새로고침',
  'res.HELD': '선점 중',
  'res.CONFIRMED': '구매 확정',
  'res.EXPIRED': '선점 만료',
  'res.RELEASED': '선점 취소',
  'res.CANCELLED': '취소됨',
  concertN: '공연 {id}',
  retryIn: '{s}초 후 다시 시도합니다.',
  dismiss: '닫기',
  otherConcerts: '다른 공연 보기',
  points: '{n}포인트',
  'eta.lt1': '1분 이내',
  'eta.min': '약 {m}분',
  'eta.h': '약 {h}시간 {m}분',
  days: '{d}일',
};

const problems = {
  en: {
    INVALID_REQUEST: ['The request was not accepted.', 'Reload the page and try again.'],
    INVALID_AMOUNT: ['Enter a whole number of points from 1 to 10,000,000.', 'Fix the amount and try again.'],
    INVALID_TOKEN: ['Your place in line could not be verified.', 'Join the line again.'],
    UNAUTHORIZED: ['You are not allowed to do this without signing in.', 'Sign in on the site and open this page again.'],
    IDENTITY_REQUIRED: ['We need to know who you are.', 'Sign in on the site, then open this page from the site’s link.'],
    IDENTITY_INVALID: ['Your sign-in has expired or is not valid.', 'Sign in on the site again, then open this page from the site’s link.'],
    INSUFFICIENT_BALANCE: ['You do not have enough points for these seats.', 'Add points, or release a seat, then pay again.'],
    NOT_ADMITTED: ['It is not your turn yet.', 'Keep this page open: you will be let in automatically.'],
    WRONG_CONCERT: ['Your place in line is for another concert.', 'Join the line for this concert.'],
    FORBIDDEN: ['This is not allowed.', 'Go back to the concert list.'],
    IDENTITY_MISMATCH: ['This belongs to another account.', 'Use your own account and reload the page.'],
    SELF_CHARGE_DISABLED: ['Points cannot be added on this page.', 'Top up your points on the site.'],
    NOT_FOUND: ['This page or item does not exist.', 'Go back to the concert list.'],
    CONCERT_NOT_FOUND: ['This concert does not exist.', 'Pick a concert from the list.'],
    SCHEDULE_NOT_FOUND: ['This date is no longer available.', 'Pick another date.'],
    SEAT_NOT_FOUND: ['This seat does not exist.', 'Pick a seat on the map.'],
    RESERVATION_NOT_FOUND: ['This hold no longer exists.', 'Pick a seat again.'],
    METHOD_NOT_ALLOWED: ['This action is not supported.', 'Reload the page.'],
    SEAT_UNAVAILABLE: ['Someone else just took this seat.', 'Pick another seat: the map has been refreshed.'],
    NOT_ENOUGH_SEATS: ['Not enough seats left: only {available} available.', 'Ask for fewer seats, or choose another section.'],
    TICKET_LIMIT: ['You can have at most {limit} tickets for this concert (you have {owned}).', 'Choose fewer seats.'],
    HOLD_LIMIT: ['You are holding as many seats as allowed.', 'Pay for your seats or release one first.'],
    RESERVATION_EXPIRED: ['Your hold ran out before payment.', 'Pick your seats again.'],
    RESERVATION_NOT_HELD: ['One of your seats is no longer held for you.', 'Pick your seats again.'],
    QUEUE_CLOSED: ['Sales for this concert are closed.', 'Check back later or pick another concert.'],
    QUEUE_NOT_OPEN: ['The line is not open yet.', 'Keep this page open: we will join the line for you when it opens.'],
    SOLD_OUT: ['Sold out: every seat has been sold.', 'Pick another concert.'],
    SCHEDULE_CLOSED: ['This show has already started; its seats cannot be held.', 'Pick another date.'],
    IDEMPOTENCY_IN_PROGRESS: ['Your request is still being processed.', 'Please wait: we check again automatically.'],
    TICKET_GONE: ['Your place in line has ended.', 'Join the line again.'],
    PAYLOAD_TOO_LARGE: ['The request was too large.', 'Reload the page and try again.'],
    UNSUPPORTED_MEDIA_TYPE: ['The request was not understood.', 'Reload the page and try again.'],
    IDEMPOTENCY_KEY_REUSED: ['This payment clashed with an earlier request.', 'Press Pay again.'],
    RATE_LIMITED: ['Too many requests right now.', 'Please wait: we retry automatically.'],
    INTERNAL: ['Something went wrong on our side.', 'Try again in a moment.'],
    SERVICE_UNAVAILABLE: ['The service is busy right now.', 'Please wait: we retry automatically.'],
    // Raised by the page itself.
    NETWORK: ['The server cannot be reached.', 'Check your connection: we keep retrying.'],
    HOLD_EXPIRED: ['Your hold on {seats} expired.', 'Choose your seats again.'],
    SEATS_TAKEN: ['Just taken by someone else: {seats}.', 'They are marked on the map and removed from your selection; nothing was held. Choose other seats.'],
    PICK_LIMIT: ['You can choose at most {limit} seats.', 'Unselect a seat to choose another one.'],
    USER_ID_REQUIRED: ['Enter your user id first (a positive whole number).', 'Then press “Join the line”.'],
    SIGN_IN_REQUIRED: ['You are not signed in.', 'Sign in on the site, then open this page from the site’s link.'],
    NO_SELF_CHARGE: ['You do not have enough points for these seats.', 'Top up your points on the site, or release a seat, then pay again.'],
    UNKNOWN: ['Something went wrong (error {status}).', 'Try again in a moment.'],
  },
  ko: {
    INVALID_REQUEST: ['요청을 처리할 수 없습니다.', '페이지를 새로고침한 뒤 다시 시도하세요.'],
    INVALID_AMOUNT: ['1부터 10,000,000 사이의 정수로 포인트를 입력하세요.', '금액을 고친 뒤 다시 시도하세요.'],
    INVALID_TOKEN: ['대기 순번을 확인할 수 없습니다.', '대기열에 다시 참여하세요.'],
    UNAUTHORIZED: ['로그인하지 않으면 할 수 없는 작업입니다.', '사이트에서 로그인한 뒤 이 페이지를 다시 여세요.'],
    IDENTITY_REQUIRED: ['로그인 정보가 필요합니다.', '사이트에서 로그인한 뒤 사이트의 링크로 이 페이지를 여세요.'],
    IDENTITY_INVALID: ['로그인이 만료되었거나 유효하지 않습니다.', '사이트에서 다시 로그인한 뒤 사이트의 링크로 이 페이지를 여세요.'],
    INSUFFICIENT_BALANCE: ['포인트가 부족합니다.', '포인트를 충전하거나 좌석 하나를 취소한 뒤 다시 결제하세요.'],
    NOT_ADMITTED: ['아직 차례가 아닙니다.', '이 페이지를 열어 두세요. 차례가 되면 자동으로 입장합니다.'],
    WRONG_CONCERT: ['다른 공연의 대기 순번입니다.', '이 공연의 대기열에 참여하세요.'],
    FORBIDDEN: ['허용되지 않은 작업입니다.', '공연 목록으로 돌아가세요.'],
    IDENTITY_MISMATCH: ['다른 계정의 정보입니다.', '본인 계정으로 페이지를 새로고침하세요.'],
    SELF_CHARGE_DISABLED: ['이 페이지에서는 포인트를 충전할 수 없습니다.', '사이트에서 포인트를 충전하세요.'],
    NOT_FOUND: ['요청한 항목이 없습니다.', '공연 목록으로 돌아가세요.'],
    CONCERT_NOT_FOUND: ['존재하지 않는 공연입니다.', '목록에서 공연을 고르세요.'],
    SCHEDULE_NOT_FOUND: ['더 이상 예매할 수 없는 날짜입니다.', '다른 날짜를 고르세요.'],
    SEAT_NOT_FOUND: ['존재하지 않는 좌석입니다.', '좌석 배치도에서 좌석을 고르세요.'],
    RESERVATION_NOT_FOUND: ['선점 내역이 없습니다.', '좌석을 다시 고르세요.'],
    METHOD_NOT_ALLOWED: ['지원하지 않는 작업입니다.', '페이지를 새로고침하세요.'],
    SEAT_UNAVAILABLE: ['방금 다른 분이 이 좌석을 선택했습니다.', '다른 좌석을 고르세요. 좌석 배치도를 새로 불러왔습니다.'],
    NOT_ENOUGH_SEATS: ['남은 좌석이 부족합니다. {available}석만 남았습니다.', '좌석 수를 줄이거나 다른 구역을 고르세요.'],
    TICKET_LIMIT: ['이 공연은 1인당 최대 {limit}매까지 예매할 수 있습니다(현재 {owned}매 보유).', '좌석 수를 줄여서 고르세요.'],
    HOLD_LIMIT: ['선점할 수 있는 최대 좌석 수에 도달했습니다.', '선점한 좌석을 결제하거나 하나를 취소하세요.'],
    RESERVATION_EXPIRED: ['결제 전에 선점 시간이 끝났습니다.', '좌석을 다시 고르세요.'],
    RESERVATION_NOT_HELD: ['선점이 풀린 좌석이 있습니다.', '좌석을 다시 고르세요.'],
    QUEUE_CLOSED: ['이 공연의 판매가 종료되었습니다.', '나중에 다시 확인하거나 다른 공연을 고르세요.'],
    QUEUE_NOT_OPEN: ['대기열이 아직 열리지 않았습니다.', '이 페이지를 열어 두세요. 대기열이 열리면 자동으로 참여합니다.'],
    SOLD_OUT: ['매진되었습니다. 모든 좌석이 판매되었습니다.', '다른 공연을 고르세요.'],
    SCHEDULE_CLOSED: ['이미 시작한 공연이라 좌석을 선점할 수 없습니다.', '다른 날짜를 고르세요.'],
    IDEMPOTENCY_IN_PROGRESS: ['요청을 아직 처리하고 있습니다.', '잠시 기다려 주세요. 자동으로 다시 확인합니다.'],
    TICKET_GONE: ['대기 순번이 종료되었습니다.', '대기열에 다시 참여하세요.'],
    PAYLOAD_TOO_LARGE: ['요청이 너무 큽니다.', '페이지를 새로고침한 뒤 다시 시도하세요.'],
    UNSUPPORTED_MEDIA_TYPE: ['요청 형식을 처리할 수 없습니다.', '페이지를 새로고침한 뒤 다시 시도하세요.'],
    IDEMPOTENCY_KEY_REUSED: ['이전 요청과 충돌하는 결제 요청입니다.', '결제 버튼을 다시 누르세요.'],
    RATE_LIMITED: ['지금 요청이 너무 많습니다.', '잠시 기다려 주세요. 자동으로 다시 시도합니다.'],
    INTERNAL: ['서버에 문제가 발생했습니다.', '잠시 후 다시 시도하세요.'],
    SERVICE_UNAVAILABLE: ['지금 서비스가 혼잡합니다.', '잠시 기다려 주세요. 자동으로 다시 시도합니다.'],
    NETWORK: ['서버에 연결할 수 없습니다.', '인터넷 연결을 확인하세요. 계속 다시 시도합니다.'],
    HOLD_EXPIRED: ['{seats} 좌석의 선점 시간이 끝났습니다.', '좌석을 다시 고르세요.'],
    SEATS_TAKEN: ['방금 다른 분이 선택한 좌석입니다: {seats}.', '배치도에 표시하고 선택에서 뺐습니다. 선점된 좌석은 없습니다. 다른 좌석을 고르세요.'],
    PICK_LIMIT: ['좌석은 최대 {limit}석까지 고를 수 있습니다.', '다른 좌석을 고르려면 먼저 선택을 하나 해제하세요.'],
    USER_ID_REQUIRED: ['먼저 사용자 ID(양의 정수)를 입력하세요.', '그다음 ‘대기열 참여’를 누르세요.'],
    SIGN_IN_REQUIRED: ['로그인되어 있지 않습니다.', '사이트에서 로그인한 뒤 사이트의 링크로 이 페이지를 여세요.'],
    NO_SELF_CHARGE: ['포인트가 부족합니다.', '사이트에서 포인트를 충전하거나 좌석 하나를 취소한 뒤 다시 결제하세요.'],
    UNKNOWN: ['문제가 발생했습니다(오류 {status}).', '잠시 후 다시 시도하세요.'],
  },
};

// TICKET_GONE `reason`s.
const gone = {
  en: {
    paid: ['You have already paid with this place in line.', 'Join the line again to buy more seats, or see My tickets.'],
    left: ['You left the line.', 'Join the line again.'],
    expired: ['Your turn timed out.', 'Join the line again.'],
    queue_reset: ['The line was restarted after a technical problem.', 'Join the line again.'],
    sold_out: ['Every seat has been sold.', 'Pick another concert.'],
  },
  ko: {
    paid: ['이 대기 순번으로 이미 결제했습니다.', '좌석을 더 사려면 대기열에 다시 참여하거나 내 티켓을 확인하세요.'],
    left: ['대기열에서 나갔습니다.', '대기열에 다시 참여하세요.'],
    expired: ['예매 가능 시간이 끝났습니다.', '대기열에 다시 참여하세요.'],
    queue_reset: ['기술적인 문제로 대기열이 초기화되었습니다.', '대기열에 다시 참여하세요.'],
    sold_out: ['모든 좌석이 판매되었습니다.', '다른 공연을 고르세요.'],
  },
};

const dicts = { en, ko };
export const LANGS = [['ko', '한국어'], ['en', 'English']];

let lang = 'en';
export function setLang(l) {
  lang = dicts[l] ? l : 'en';
}

/** The first of the browser's languages that we speak, else English. */
export function pickLang(saved, langs) {
  if (dicts[saved]) return saved;
  for (const l of langs || []) {
    const base = String(l).toLowerCase().slice(0, 2);
    if (dicts[base]) return base;
  }
  return 'en';
}

const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? vars[k] : m));

export function t(key, vars) {
  const s = dicts[lang][key] ?? en[key] ?? key;
  return fill(s, vars);
}

/**
 * [message, next step] for a problem `code` (and TICKET_GONE `reason`). `vars` fill the
 * message: `status`, `seats` (already formatted), and the problem's own figures
 * (`available`, `limit`, `owned`). SEAT_UNAVAILABLE names the seats when it knows them.
 */
export function problemText(code, { reason, status, seats, available, limit, owned } = {}) {
  const vars = {
    status: status ?? '?',
    seats: seats ?? '',
    available: available == null ? '?' : fmtNum(available),
    limit: limit == null ? '?' : fmtNum(limit),
    owned: owned == null ? '?' : fmtNum(owned),
  };
  const key = code === 'SEAT_UNAVAILABLE' && seats ? 'SEATS_TAKEN' : code;
  const pair =
    (code === 'TICKET_GONE' && gone[lang][reason]) ||
    problems[lang][key] ||
    problems[lang].UNKNOWN;
  return pair.map((s) => fill(s, vars));
}

const locale = () => (lang === 'ko' ? 'ko-KR' : 'en');

export const fmtNum = (n) => new Intl.NumberFormat(locale()).format(n);
export const fmtPoints = (n) => t('points', { n: fmtNum(n) });

/** A seat in words: "Section A, row 3, seat 12" (or "Seat 7" when its place is unknown). */
export function seatText(seat) {
  if (seat.section == null || seat.row == null || seat.number == null) return t('seatNo', { no: seat.seat_no });
  return t('seatName', { section: seat.section, row: seat.row, number: seat.number });
}

/** A date and time in the viewer's time zone. */
export function fmtDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(locale(), {
    year: 'numeric', month: 'short', day: 'numeric', weekday: 'short',
    hour: 'numeric', minute: '2-digit',
  }).format(d);
}

/** A countdown: m:ss, h:mm:ss, or "2 d 03:04:05". */
export function fmtClock(secs) {
  const s = Math.max(0, Math.ceil(secs));
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  if (d) return `${t('days', { d })} ${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${ss}`;
  if (hh) return `${hh}:${String(mm).padStart(2, '0')}:${ss}`;
  return `${mm}:${ss}`;
}

/** An estimated wait in words: "about 3 min". */
export function fmtEta(secs) {
  if (secs < 60) return t('eta.lt1');
  const m = Math.round(secs / 60);
  if (m < 60) return t('eta.min', { m });
  return t('eta.h', { h: Math.floor(m / 60), m: m % 60 });
}
