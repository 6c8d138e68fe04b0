// The participant and speaker page (/join): sign in, follow the meeting, raise and withdraw a hand, ask written
// questions and vote for others'.
import { _, _n, chooseLanguage, currentLanguage, fmt, loadLanguage } from "./i18n.js";
import {
  applyVotes,
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
  phaseWord,
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
    onVotes(votes) {
      // Coalesced counts between views (votes send no view): applied to the last view's questions.
      if (view && applyVotes(view, votes)) renderQuestions(session());
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

async function send(command, errors = "command-error") {
  setText($(errors), "");
  try {
    await feed.send(command);
    return true;
  } catch (error) {
    setText($(errors), error.message || _("That did not go through."));
    return false;
  }
}

$("raise").addEventListener("click", () => send({ type: "raise", kind: $("raise-kind").value, session: session()?.id }));
$("lower").addEventListener("click", () => send({ type: "lower", session: session()?.id }));

$("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("ask-text").value.trim();
  if (!text || !view) return;
  const anonymous = view.question_settings.anonymous && $("ask-anonymous").checked;
  $("ask-send").disabled = true;
  const sent = await send({ type: "ask", session: session()?.id, text, anonymous }, "question-error");
  $("ask-send").disabled = false;
  if (!sent) return;
  $("ask-text").value = "";
  $("ask-anonymous").checked = false;
  countCharacters();
  const note = view.question_settings.moderated
    ? _("Your question was sent: a moderator will look at it.")
    : _("Your question was sent.");
  setText($("ask-note"), note); // announced politely: the note is aria-live
});

$("ask-text").addEventListener("input", countCharacters);

function countCharacters() {
  const max = view ? view.question_settings.max_length : $("ask-text").maxLength;
  const used = $("ask-text").value.length;
  setText($("ask-count"), fmt(_("{used} of {max} characters"), { used, max }));
}

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
  renderQuestions(s);
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

function questionStateWord(question) {
  switch (question.state) {
    case "pending":
      return _("Waiting for a moderator");
    case "live":
      return _("Live now");
    case "answered":
      return _("Answered");
    case "merged":
      return _("Merged with a similar question");
    default:
      return _("Open for votes");
  }
}

function votesText(votes) {
  return fmt(_n("{count} vote", "{count} votes", votes), { count: votes });
}

// Others' questions: the live one first, then by votes (most first), then the oldest.
function byVotes(a, b) {
  const live = (b.state === "live") - (a.state === "live");
  return live || b.votes - a.votes || a.asked_at - b.asked_at;
}

let shownStates = null; // the viewer's questions' states last drawn: a change is announced

function questionRow(question) {
  const row = document.createElement("li");
  row.className = `question question-${question.state}`;
  row.dataset.question = question.id;
  const text = document.createElement("p");
  text.className = "question-text";
  text.dir = "auto";
  text.textContent = question.text; // text from the network: a text node, never HTML
  const meta = document.createElement("p");
  meta.className = "muted";
  const who = question.mine ? _("(you)") : question.anonymous ? _("Anonymous") : question.name || "";
  meta.textContent = `${who} · ${questionStateWord(question)} · ${votesText(question.votes)}`;
  row.append(text, meta);
  if (!question.mine && (question.state === "visible" || question.state === "live")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "vote";
    button.dataset.question = question.id;
    button.setAttribute("aria-pressed", question.voted ? "true" : "false");
    button.textContent = _("Vote"); // a toggle: aria-pressed says whether the viewer voted (pressed again: unvote)
    button.addEventListener("click", () =>
      send({ type: question.voted ? "unvote" : "vote", question: question.id }, "question-error"),
    );
    row.append(button);
  }
  return row;
}

function renderQuestions(s) {
  if (!s || !view) return;
  const settings = view.question_settings;
  $("ask").hidden = !me; // asking and voting take a person: a speaker's or a participant's link
  $("ask-text").maxLength = settings.max_length;
  $("ask-anonymous-line").hidden = !settings.anonymous;
  countCharacters();
  const questions = s.questions || [];
  const mine = questions.filter((q) => q.mine);
  const others = questions.filter((q) => !q.mine).sort(byVotes);
  // Redrawn rows are new elements: the focus goes back to the same question's button.
  const focused = document.activeElement?.classList?.contains("vote") ? document.activeElement.dataset.question : null;
  $("my-questions").replaceChildren(...mine.map(questionRow));
  $("all-questions").replaceChildren(...others.map(questionRow));
  if (focused) document.querySelector(`#all-questions button.vote[data-question="${CSS.escape(focused)}"]`)?.focus();
  $("my-questions-heading").hidden = mine.length === 0;
  $("questions-empty").hidden = others.length > 0;
  const states = new Map(mine.map((q) => [q.id, q.state]));
  if (shownStates !== null) {
    const moved = mine.find((q) => shownStates.has(q.id) && shownStates.get(q.id) !== q.state);
    if (moved) {
      const note = fmt(_("Your question is now: {state}"), { state: questionStateWord(moved) });
      setText($("ask-note"), note); // announced politely
    }
  }
  shownStates = states;
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
