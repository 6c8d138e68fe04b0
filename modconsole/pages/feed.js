// The view feed: one websocket to the page's own host, a hello asking for views, the server's clock
// estimated from pings, and reconnects. The page runs no copy of the core: it shows the views it is sent
// and counts down between them from the absolute times they carry.

import { _ } from "./i18n.js";

const TOKEN_KEY = "modconsole.token";
const PING_EVERY_MS = 30000;
const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

// A personal link is …/join#token=TOKEN: the token is kept for this tab and taken out of the address bar,
// so it is never in a URL a server, a proxy or the browser's history records.
export function takeToken() {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = hash.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Performance marks of the first connection (the page benchmark reads them): once each.
function mark(name) {
  if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

export class Clock {
  // The event clock at a local time: server_time + (local - local_mid) * scale, from the ping with the
  // shortest round trip so far (its error is at most half that round trip).
  constructor() {
    this.base = null; // {server, local, rtt, scale}
  }
  seed(serverTime, local, scale) {
    // From a welcome: a round trip not measured, replaced by the first ping's answer.
    this.base = { server: serverTime, local, rtt: Infinity, scale: scale || 1 };
  }
  sample(serverTime, sentAt, receivedAt, scale) {
    const rtt = Math.max(0, receivedAt - sentAt);
    if (this.base === null || rtt <= this.base.rtt + 5) {
      this.base = { server: serverTime, local: (sentAt + receivedAt) / 2, rtt, scale: scale || 1 };
    }
  }
  now(local = performance.now()) {
    if (this.base === null) return null;
    return this.base.server + (local - this.base.local) * this.base.scale;
  }
}

export class Feed {
  constructor({ token, name = null, client, onWelcome, onView, onVotes, onError, onStatus }) {
    this.token = token;
    this.name = name;
    this.client = client;
    this.handlers = { onWelcome, onView, onVotes, onError, onStatus };
    this.clock = new Clock();
    this.socket = null;
    this.attempt = 0;
    this.pending = new Map(); // ping id -> sent at
    this.commands = new Map(); // command id -> {resolve, reject}
    this.counter = 0;
    this.stopped = false;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    if (!this._adopt()) this._open();
  }

  // The socket the page's first script opened for this token (its hello sent on open), with the frames
  // that came before the modules ran: taken over, once.
  _adopt() {
    const early = window.modconsoleEarly;
    window.modconsoleEarly = undefined;
    if (!early || early.token !== this.token || this.name || early.socket.readyState > WebSocket.OPEN) return false;
    const socket = early.socket;
    this.socket = socket;
    socket.removeEventListener("message", early.keep);
    socket.addEventListener("message", (event) => this._frame(event.data));
    socket.addEventListener("close", (event) => this._closed(event));
    this.handlers.onStatus?.("connecting");
    for (const raw of early.frames) this._frame(raw);
    return true;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.socket) this.socket.close(1000);
  }

  _open() {
    mark("modconsole:connect");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/`);
    this.socket = socket;
    this.handlers.onStatus?.("connecting");
    socket.addEventListener("open", () => {
      mark("modconsole:open");
      const hello = { type: "hello", token: this.token, client: this.client, views: true };
      if (this.name) hello.name = this.name;
      socket.send(JSON.stringify(hello));
    });
    socket.addEventListener("message", (event) => this._frame(event.data));
    socket.addEventListener("close", (event) => this._closed(event));
  }

  _frame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch (_error) {
      return;
    }
    if (frame.type === "welcome") {
      mark("modconsole:welcome");
      this.attempt = 0;
      this.name = null; // registered: the credential in the welcome is used from now on
      if (frame.credential) this.token = frame.credential;
      this.clock.seed(frame.server_time, performance.now(), frame.time_scale);
      this.handlers.onStatus?.("online");
      this.handlers.onWelcome?.(frame);
      this._ping();
      this._ping();
      clearInterval(this.timer);
      this.timer = setInterval(() => this._ping(), PING_EVERY_MS);
    } else if (frame.type === "view") {
      mark("modconsole:view");
      this.handlers.onView?.(frame.view);
    } else if (frame.type === "question_votes") {
      // Votes send no view: the counts come coalesced (at most one frame a second) and the page applies them.
      if (frame.votes && typeof frame.votes === "object") this.handlers.onVotes?.(frame.votes, frame.seq);
    } else if (frame.type === "pong") {
      const sentAt = this.pending.get(frame.id);
      if (sentAt !== undefined) {
        this.pending.delete(frame.id);
        this.clock.sample(frame.server_time, sentAt, performance.now(), frame.time_scale);
      }
    } else if (frame.type === "ack") {
      this.commands.get(frame.id)?.resolve(frame);
      this.commands.delete(frame.id);
    } else if (frame.type === "error") {
      const waiting = frame.id ? this.commands.get(frame.id) : undefined;
      if (waiting) {
        this.commands.delete(frame.id);
        waiting.reject(frame);
      } else {
        this.handlers.onError?.(frame);
        if (frame.code === "unauthorized" || frame.code === "forbidden" || frame.code === "bad_frame") {
          this.stopped = true; // refused: trying again would be refused the same way
        }
      }
    }
  }

  _ping() {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const id = `p${++this.counter}`;
    this.pending.set(id, performance.now());
    if (this.pending.size > 8) this.pending.delete(this.pending.keys().next().value);
    this.socket.send(JSON.stringify({ type: "ping", id }));
  }

  _closed(_event) {
    clearInterval(this.timer);
    for (const waiting of this.commands.values()) waiting.reject({ code: "unavailable", message: "disconnected" });
    this.commands.clear();
    if (this.stopped) {
      this.handlers.onStatus?.("stopped");
      return;
    }
    this.handlers.onStatus?.("offline");
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    setTimeout(() => this._open(), delay);
  }

  send(command) {
    const id = `c${++this.counter}`;
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject({ code: "unavailable", message: "not connected" });
        return;
      }
      this.commands.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ ...command, id }));
    });
  }
}

// --- figures ------------------------------------------------------------------------------------------

// A duration in ms as H:MM:SS or M:SS, with a minus sign when negative (over time).
export function clockText(ms) {
  const negative = ms < 0;
  const total = Math.floor(Math.abs(ms) / 1000 + (negative ? 0 : 0.999));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const body = h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}` : `${m}:${String(s).padStart(2, "0")}`;
  return negative ? `\u2212${body}` : body;
}

// The word for a timer's phase, as both pages show it beside the colour.
export function phaseWord(phase) {
  switch (phase) {
    case "warning":
      return _("Wrap up soon");
    case "danger":
      return _("Wrap up");
    case "overtime":
      return _("Overtime");
    default:
      return _("On time");
  }
}

export function phaseOf(remainingS, warningS, dangerS) {
  if (remainingS <= 0) return "overtime";
  if (remainingS <= dangerS) return "danger";
  if (remainingS <= warningS) return "warning";
  return "normal";
}

// What is left of the current item at event-clock time `now`.
export function itemRemainingMs(item, view, now) {
  if (item.running && item.deadline !== null && now !== null) return item.deadline - now;
  return item.remaining_ms;
}

export function floorElapsedMs(floor, now) {
  if (floor.running && floor.started !== null && now !== null) return Math.max(0, now - floor.started);
  return floor.elapsed_ms;
}

// An ISO 8601 time with its offset, as HH:MM in the event's zone (as written) and in the viewer's own.
export function eventTime(iso) {
  return iso ? iso.slice(11, 16) : "";
}

const formats = new Map(); // one formatter per language: making one is the costly part

export function ownTime(iso, lang) {
  if (!iso) return "";
  let format = formats.get(lang);
  if (!format) {
    format = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
    formats.set(lang, format);
  }
  return format.format(new Date(iso));
}

let zone = null;

export function ownZone() {
  if (zone === null) {
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (_error) {
      zone = "";
    }
  }
  return zone;
}

// The session a page follows: `?session=`, else the running one, else the first not ended.
export function chooseSession(view, wanted) {
  const sessions = view.sessions || [];
  if (wanted) return sessions.find((s) => s.id === wanted) || null;
  return (
    sessions.find((s) => s.status === "running" || s.status === "paused") ||
    sessions.find((s) => s.status !== "ended") ||
    sessions[sessions.length - 1] ||
    null
  );
}

// A question_votes frame's counts into a view's questions (every session's); true when any changed.
export function applyVotes(view, votes) {
  let changed = false;
  for (const session of view?.sessions || []) {
    for (const question of session.questions || []) {
      const count = votes[question.id];
      if (Number.isInteger(count) && count >= 0 && count !== question.votes) {
        question.votes = count;
        changed = true;
      }
    }
  }
  return changed;
}

// Text from the network reaches the page as text nodes, never as HTML.
export function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

// A figure kept left to right inside text of either direction (U+2066 LEFT-TO-RIGHT ISOLATE … U+2069):
// "23:15–00:00" reads the same in an Arabic sentence.
export function ltr(text) {
  return text ? `\u2066${text}\u2069` : "";
}
