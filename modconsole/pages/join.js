// The participant and speaker page (/join): sign in, follow the meeting, raise and withdraw a hand.
import { _, _n, chooseLanguage, currentLanguage, fmt, loadLanguage } from "./i18n.js";
import {
  chooseSession,
  clockText,
  eventTime,
  Feed,
  floorElapsedMs,
  forgetToken,
  itemRemainingMs,
  keepToken,
  ltr,
  ownTime,
  ownZone,
  phaseOf,
  setText,
  takeToken,
} from "./feed.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let feed = null;
let me = null; // the signed-in person's id, from the welcome
let view = null;

function kindWord(kind) {
  switch (kind) {
    case "reply":
      return _("Reply");
    case "question":
      return _("Question");
    case "point_of_order":
      return _("Point of order");
    default:
      return _("Contribution");
  }
}

function phaseWord(phase) {
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

function statusWord(state) {
  switch (state) {
    case "online":
      return _("Connected");
    case "offline":
      return _("Reconnecting…");
    case "stopped":
      return _("Disconnected");
    default:
      return _("Connecting…");
  }
}

// --- signing in ---------------------------------------------------------------------------------------

function showSignIn(message = "") {
  $("signin").hidden = false;
  $("live").hidden = true;
  setText($("signin-error"), message);
  $("signin-token").focus();
}

function connect(token, name = null) {
  if (feed) feed.stop();
  feed = new Feed({
    token,
    name,
    client: "join page",
    onWelcome(welcome) {
      me = welcome.person ? welcome.person.id : null;
      keepToken(welcome.credential || token);
      $("signin").hidden = true;
      $("live").hidden = false;
    },
    onView(next) {
      view = next;
      render();
    },
    onError(error) {
      if (error.code === "unauthorized") forgetToken();
      showSignIn(error.code === "unauthorized" ? _("That link or token was not accepted.") : error.message);
    },
    onStatus(state) {
      const status = $("status");
      status.dataset.state = state;
      setText(status, statusWord(state));
    },
  });
  feed.start();
}

$("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("signin-token").value.trim();
  const name = $("signin-name").value.trim();
  if (!token) return;
  connect(token, name || null);
});

// --- commands -----------------------------------------------------------------------------------------

async function send(command) {
  setText($("command-error"), "");
  try {
    await feed.send(command);
  } catch (error) {
    setText($("command-error"), error.message || _("That did not go through."));
  }
}

$("raise").addEventListener("click", () => send({ type: "raise", kind: $("raise-kind").value, session: session()?.id }));
$("lower").addEventListener("click", () => send({ type: "lower", session: session()?.id }));

// --- drawing ------------------------------------------------------------------------------------------

function session() {
  return view ? chooseSession(view, params.get("session")) : null;
}

function render() {
  const s = session();
  setText($("event-title"), view.title);
  if (!s) return;
  setText($("session-title"), s.room ? `${s.title} · ${s.room}` : s.title);
  const item = s.current;
  setText($("item-title"), item ? item.title : s.status === "ended" ? _("The session has ended.") : _("Not started yet."));
  const upNext = s.coming[0];
  $("break-back").hidden = !(item && item.kind === "break" && upNext);
  if (item && item.kind === "break" && upNext) {
    setText($("break-back"), fmt(_("Back at {time}"), { time: ltr(eventTime(upNext.start)) }));
  }
  const lang = currentLanguage();
  setText(
    $("times-event"),
    fmt(_("{start}–{end}, expected end {expected} ({zone})"), {
      start: ltr(eventTime(s.planned_start)),
      end: ltr(eventTime(s.planned_end)),
      expected: ltr(eventTime(s.projected_end)),
      zone: view.timezone,
    }),
  );
  setText(
    $("times-own"),
    fmt(_("{start}–{end}, expected end {expected} ({zone})"), {
      start: ltr(ownTime(s.planned_start, lang)),
      end: ltr(ownTime(s.planned_end, lang)),
      expected: ltr(ownTime(s.projected_end, lang)),
      zone: ownZone(),
    }),
  );

  const floor = s.floor;
  $("floor").hidden = !floor;
  $("floor-none").hidden = Boolean(floor);
  if (floor) {
    setText($("floor-name"), floor.name);
    setText($("floor-kind"), kindWord(floor.kind));
    $("floor-you").hidden = floor.person !== me;
    setText($("floor-limit"), floor.limit_s ? fmt(_("of {limit}"), { limit: clockText(floor.limit_s * 1000) }) : "");
  }

  renderQueue(s);
  renderMessages();
  renderProgramme(s);
  tick();
  // The first complete render, read by the page benchmark (bench/bench_pages.py).
  if (performance.getEntriesByName("modconsole:rendered").length === 0) performance.mark("modconsole:rendered");
}

function renderQueue(s) {
  const list = $("queue");
  const mine = s.queue.find((hand) => hand.person === me);
  const rows = s.queue.map((hand) => {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = hand.name;
    const kind = document.createElement("span");
    kind.className = `kind kind-${hand.kind}`;
    kind.textContent = kindWord(hand.kind);
    row.append(name, " ", kind);
    if (hand.person === me) {
      row.classList.add("mine");
      row.setAttribute("aria-current", "true");
      const you = document.createElement("span");
      you.className = "you-tag";
      you.textContent = _("(you)");
      row.append(" ", you);
    }
    return row;
  });
  list.replaceChildren(...rows);
  $("queue-empty").hidden = s.queue.length > 0;
  let place;
  if (s.floor && s.floor.person === me) {
    place = _("You have the floor.");
  } else if (mine) {
    const minutes = Math.max(1, Math.round(mine.estimated_wait_s / 60));
    // A plural by the minutes: languages that inflect the word for "minute" (Russian, Arabic) get each form.
    place = fmt(
      _n(
        "You are #{position} of {total} — about {minutes} min",
        "You are #{position} of {total} — about {minutes} min",
        minutes,
      ),
      { position: mine.position, total: s.queue_length, minutes },
    );
  } else {
    place = _("Your hand is not up.");
  }
  setText($("my-place"), place); // announced politely: the region is aria-live
  const canRaise = Boolean(s.current) && s.status !== "ended" && (s.queue_open || Boolean(mine));
  $("raise").hidden = Boolean(mine);
  $("raise-kind").disabled = Boolean(mine) || !canRaise;
  $("raise").disabled = !canRaise;
  $("lower").hidden = !mine;
  $("queue-closed").hidden = s.queue_open || !s.current;
}

function renderMessages() {
  const open = view.messages.filter((m) => !m.acknowledged);
  $("messages-card").hidden = open.length === 0;
  const rows = open.map((message) => {
    const row = document.createElement("li");
    row.className = message.to_all ? "message to-all" : "message to-me";
    const text = document.createElement("p");
    text.textContent = message.text;
    const who = document.createElement("p");
    who.className = "muted";
    who.textContent = message.to_all ? _("To everyone") : _("To you");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = _("Got it");
    button.addEventListener("click", () => send({ type: "ack", message_id: message.id }));
    row.append(who, text, button);
    return row;
  });
  $("messages").replaceChildren(...rows);
}

function renderProgramme(s) {
  const rows = s.coming.map((entry) => {
    const row = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = entry.start;
    time.textContent = eventTime(entry.start);
    const title = document.createElement("span");
    title.textContent = entry.title;
    row.append(time, " ", title);
    return row;
  });
  $("programme").replaceChildren(...rows);
  $("programme-empty").hidden = s.coming.length > 0;
}

// Between views the timers count on from the absolute times in the last view and the server's clock.
function tick() {
  const s = session();
  if (!s || !feed) return;
  const now = feed.clock.now();
  const item = s.current;
  if (item) {
    const remaining = itemRemainingMs(item, view, now);
    const phase = phaseOf(remaining / 1000, item.warning_s, item.danger_s);
    setText($("item-remaining"), clockText(remaining));
    setText($("item-phase"), phaseWord(phase));
    $("item-phase").dataset.phase = phase;
    $("item-remaining").dataset.phase = phase;
  } else {
    setText($("item-remaining"), "");
    setText($("item-phase"), "");
  }
  const floor = s.floor;
  if (floor) {
    const elapsed = floorElapsedMs(floor, now);
    setText($("floor-timer"), clockText(elapsed));
    const phase = floor.limit_s ? phaseOf(floor.limit_s - elapsed / 1000, floor.warning_s, floor.danger_s) : "normal";
    $("floor-timer").dataset.phase = phase;
    setText($("floor-phase"), floor.limit_s ? phaseWord(phase) : "");
    $("floor-phase").dataset.phase = phase;
  }
}

async function main() {
  // The connection opens while the catalogue loads: the first view is drawn once both are there.
  const token = takeToken();
  const language = loadLanguage(chooseLanguage());
  if (token) connect(token);
  await language;
  setText($("status"), statusWord($("status").dataset.state));
  if (view) render();
  setInterval(tick, 250);
  if (!token) showSignIn();
}

main();
