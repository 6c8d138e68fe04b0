// The stage display (/display?OPTIONS#token=TOKEN): big remaining time or overtime with its phase, the next
// item, the floor, messages to all; "Back at 14:00" during a break; blackout, flash and focus from the
// moderator. Options: session, key=RRGGBB|transparent, mirror=1, scale, hide=next,floor,messages, lang.
import { _, chooseLanguage, fmt, loadLanguage } from "./i18n.js";
import {
  chooseSession,
  clockText,
  eventTime,
  Feed,
  floorElapsedMs,
  itemRemainingMs,
  ltr,
  phaseOf,
  phaseWord,
  setText,
  takeToken,
} from "./feed.js";

const $ = (id) => document.getElementById(id);
const MESSAGE_SHOWN_MS = 120000; // a message to all stays on the display for two minutes
const FLASH_MS = 1100;

export function readOptions(search = location.search) {
  const params = new URLSearchParams(search);
  const key = (params.get("key") || "").toLowerCase();
  const scale = Number.parseFloat(params.get("scale") || "1");
  return {
    session: params.get("session"),
    key: key === "transparent" ? "transparent" : /^[0-9a-f]{6}$/.test(key) ? `#${key}` : null,
    mirror: params.get("mirror") === "1",
    scale: Number.isFinite(scale) && scale >= 0.25 && scale <= 4 ? scale : 1,
    hide: new Set((params.get("hide") || "").split(",").map((part) => part.trim()).filter(Boolean)),
  };
}

const options = readOptions();
let feed = null;
let view = null;
let flashedSeen; // the flash time in the first view: a display that loads later does not flash for it
let flashTimer = null;

function applyOptions() {
  const root = document.documentElement;
  if (options.key) root.style.setProperty("--key", options.key);
  root.classList.toggle("keyed-transparent", options.key === "transparent");
  root.classList.toggle("mirrored", options.mirror);
  root.classList.toggle("keyed", Boolean(options.key));
  root.style.setProperty("--scale", String(options.scale));
}

function flash() {
  const element = $("flash");
  element.hidden = true;
  void element.offsetWidth; // restart the animation
  element.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (element.hidden = true), FLASH_MS);
}

function render() {
  const display = view.display;
  $("blackout").hidden = !display.blackout;
  $("focus").hidden = !display.focus;
  setText($("focus-text"), display.focus || "");
  document.body.dataset.blackout = display.blackout ? "on" : "off";
  document.body.dataset.focus = display.focus || "";
  if (flashedSeen === undefined) {
    flashedSeen = display.flashed_at;
  } else if (display.flashed_at !== flashedSeen) {
    flashedSeen = display.flashed_at;
    document.body.dataset.flashes = String(Number(document.body.dataset.flashes || "0") + 1);
    flash();
  }
  const s = chooseSession(view, options.session);
  if (!s) return;
  const item = s.current;
  setText($("item-title"), item ? item.title : s.status === "ended" ? _("The session has ended.") : s.title);
  const upNext = s.coming[0];
  const onBreak = Boolean(item && item.kind === "break" && upNext);
  $("back-at").hidden = !onBreak;
  if (onBreak) setText($("back-at"), fmt(_("Back at {time}"), { time: ltr(eventTime(upNext.start)) }));
  const showNext = Boolean(upNext) && !options.hide.has("next");
  $("next").hidden = !showNext;
  if (showNext) setText($("next"), fmt(_("Next: {title} at {time}"), { title: upNext.title, time: ltr(eventTime(upNext.start)) }));
  const floor = s.floor;
  $("floor").hidden = !floor || options.hide.has("floor");
  if (floor) setText($("floor-name"), floor.name);
  tick();
}

function latestMessage(now) {
  const toAll = view.messages.filter((m) => m.to_all);
  const last = toAll[toAll.length - 1];
  if (!last || now === null || now - last.at > MESSAGE_SHOWN_MS * view.time_scale) return null;
  return last;
}

function tick() {
  if (!view || !feed) return;
  const s = chooseSession(view, options.session);
  const now = feed.clock.now();
  const item = s ? s.current : null;
  const timer = $("timer");
  if (item && !(item.kind === "break" && s.coming[0])) {
    const remaining = itemRemainingMs(item, view, now);
    const phase = phaseOf(remaining / 1000, item.warning_s, item.danger_s);
    setText(timer, clockText(remaining));
    timer.dataset.phase = phase;
    $("phase").dataset.phase = phase;
    setText($("phase"), phaseWord(phase));
    document.body.dataset.itemPhase = phase;
  } else {
    setText(timer, "");
    setText($("phase"), s && s.status === "paused" ? _("Paused") : "");
  }
  if (s && s.floor) {
    const elapsed = floorElapsedMs(s.floor, now);
    const limit = s.floor.limit_s;
    setText($("floor-timer"), limit ? clockText(limit * 1000 - elapsed) : clockText(elapsed));
    $("floor-timer").dataset.phase = limit ? phaseOf(limit - elapsed / 1000, s.floor.warning_s, s.floor.danger_s) : "normal";
  }
  const message = options.hide.has("messages") ? null : latestMessage(now);
  $("message").hidden = !message;
  setText($("message"), message ? message.text : "");
}

async function main() {
  applyOptions();
  const token = takeToken();
  const language = loadLanguage(chooseLanguage());
  if (!token) {
    await language;
    setText($("status"), _("Add #token=YOUR_DISPLAY_TOKEN to the address."));
    return;
  }
  language.then(() => view && render()); // the connection opens while the catalogue loads
  setInterval(tick, 200);
  feed = new Feed({
    token,
    client: "stage display",
    onView(next) {
      view = next;
      render();
    },
    onError(error) {
      setText($("status"), error.code === "unauthorized" ? _("That display token was not accepted.") : error.message);
    },
    onStatus(state) {
      $("status").dataset.state = state;
      if (state === "offline") setText($("status"), _("Reconnecting…"));
      if (state === "online") setText($("status"), "");
    },
  });
  feed.start();
}

main();
