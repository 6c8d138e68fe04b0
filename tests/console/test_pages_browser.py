"""The browser pages in Debian's Chromium through Playwright: /join from a personal link and from the
event-wide token, the speakers' list as others go ahead, the speaker's turn timer, the stage display keyed
and mirrored, blackout, flash and focus reaching it, Arabic right to left, a 360-px phone with no sideways
scroll, and screenshots of every page in every language at phone and desktop sizes under artifacts/pages/.

A real server in this process (port 0) serves the mayors' call; the moderator acts through a real client.
Skipped, with the reason, where Chromium or Playwright is missing (``.ci/run`` installs Debian's chromium).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import ARTIFACTS, SKIP_REASON, chromium_path, launch, playwright_missing, png_pixels
from support.tui import Served

from modconsole.core import commands as c

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason=SKIP_REASON),
    pytest.mark.skipif(playwright_missing() is not None, reason=playwright_missing() or ""),
]

WAIT_MS = 10_000
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    srv = await Served.start(tmp_path / "pages.db")
    yield srv
    await srv.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium: Any = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_page(browser: Any, url: str, viewport: dict[str, int] = DESKTOP) -> Any:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # What the page's scripts threw, and what its policy refused: checked at the end of each test.
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.errors = errors
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.sockets = sockets
    await page.goto(url)
    return page


async def desk(served: Served) -> Any:
    moderator = await served.client(served.tokens.moderator, label="desk")
    await moderator.command(c.Start())
    return moderator


async def personal_credential(served: Served, name: str) -> str:
    """A participant's personal token, as the invitations hand it out: issued at a first join."""
    client = await served.client(served.tokens.participant, name=name, label="registration")
    token = client.token
    await client.close()
    served.clients.remove(client)
    return token


async def text_of(page: Any, selector: str) -> str:
    return str(await page.locator(selector).text_content() or "")


async def test_a_participant_signs_in_from_a_personal_link_and_sees_their_place_move(
    served: Served, browser: Any
) -> None:
    moderator = await desk(served)
    token = await personal_credential(served, "Ada Lovelace")
    page = await open_page(browser, f"http://127.0.0.1:{served.port}/join#token={token}", PHONE)
    await page.locator("#live").wait_for(state="visible", timeout=WAIT_MS)
    # The token is kept for the tab and gone from the address bar (and so from any log or history).
    assert token not in page.url and "#" not in page.url
    assert await page.evaluate("sessionStorage.getItem('modconsole.token')") == token
    # One connection: the one the first inline script opened (allowed by its hash), taken over by the feed.
    assert page.sockets == [f"ws://127.0.0.1:{served.port}/"]
    assert await page.evaluate("performance.getEntriesByName('modconsole:early').length") == 1
    place = page.locator("#my-place")
    assert await place.get_attribute("aria-live") == "polite"
    # By keyboard alone: to the button, and Enter.
    await page.locator("#raise").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => document.querySelector('#my-place').textContent.startsWith('You are #1 of 1')", timeout=WAIT_MS
    )
    assert "about" in await text_of(page, "#my-place")
    await page.screenshot(path=str(ARTIFACTS / "pages" / "join-place-1.png"), full_page=True)
    # Another participant goes ahead with a point of order: now second of two.
    other = await served.client(served.tokens.participant, name="Grace Hopper", label="other")
    await other.command(c.Raise(kind="point_of_order"))
    await page.wait_for_function(
        "() => document.querySelector('#my-place').textContent.startsWith('You are #2 of 2')", timeout=WAIT_MS
    )
    mine = page.locator("#queue li.mine")
    assert await mine.get_attribute("aria-current") == "true"
    assert "Ada Lovelace" in await text_of(page, "#queue li.mine")
    assert "Grace Hopper" in await text_of(page, "#queue li:first-child")
    # Withdraw, by kind of control the page shows now.
    await page.locator("#lower").click()
    await page.wait_for_function(
        "() => document.querySelector('#my-place').textContent === 'Your hand is not up.'", timeout=WAIT_MS
    )
    assert len(served.session.items[0].queue) == 1
    # A message to all stays until acknowledged.
    await moderator.command(c.SendMessage(text="Please keep to two minutes", to="all"))
    await page.locator("#messages li").wait_for(timeout=WAIT_MS)
    assert "Please keep to two minutes" in await text_of(page, "#messages")
    await page.locator("#messages button").click()
    await page.locator("#messages-card").wait_for(state="hidden", timeout=WAIT_MS)
    assert page.errors == []


async def test_the_event_wide_token_and_a_name_sign_in_by_keyboard(served: Served, browser: Any) -> None:
    await desk(served)
    page = await open_page(browser, f"http://127.0.0.1:{served.port}/join")
    await page.locator("#signin").wait_for(state="visible", timeout=WAIT_MS)
    await page.keyboard.type(served.tokens.participant)  # the token field has the focus
    await page.keyboard.press("Tab")
    await page.keyboard.type("Katherine Johnson")
    await page.keyboard.press("Enter")
    await page.locator("#live").wait_for(state="visible", timeout=WAIT_MS)
    kept = await page.evaluate("sessionStorage.getItem('modconsole.token')")
    # The personal credential is kept, not the event-wide token: a reload comes back as the same person.
    assert kept and kept != served.tokens.participant
    assert served.store.participant_names(served.event_id) == ["Katherine Johnson"]
    await page.reload()
    await page.locator("#live").wait_for(state="visible", timeout=WAIT_MS)
    assert served.store.participant_names(served.event_id) == ["Katherine Johnson"]  # not registered again
    assert page.errors == []


async def test_a_wrong_link_is_refused_with_the_reason(served: Served, browser: Any) -> None:
    page = await open_page(browser, f"http://127.0.0.1:{served.port}/join#token=mc_not_a_token")
    await page.locator("#signin").wait_for(state="visible", timeout=WAIT_MS)
    await page.wait_for_function(
        "() => document.querySelector('#signin-error').textContent.length > 0", timeout=WAIT_MS
    )
    assert "not accepted" in await text_of(page, "#signin-error")
    assert await page.evaluate("sessionStorage.getItem('modconsole.token')") is None


async def test_a_speaker_given_the_floor_sees_the_turn_timer(served: Served, browser: Any) -> None:
    moderator = await desk(served)
    page = await open_page(browser, f"http://127.0.0.1:{served.port}/join#token={served.tokens.people['garcetti']}")
    await page.locator("#live").wait_for(state="visible", timeout=WAIT_MS)
    await moderator.command(c.Floor(person="garcetti"))
    await page.locator("#floor-you").wait_for(state="visible", timeout=WAIT_MS)
    assert await text_of(page, "#my-place") == "You have the floor."
    first = await text_of(page, "#floor-timer")
    assert first.startswith("0:0"), first
    # The timer counts on in the page, between views.
    await page.wait_for_function(
        f"() => document.querySelector('#floor-timer').textContent !== {first!r}", timeout=WAIT_MS
    )
    await page.screenshot(path=str(ARTIFACTS / "pages" / "join-floor.png"), full_page=True)
    assert page.errors == []


def _differing(a: bytes, b: bytes, *, flip: bool) -> float:
    """The share of pixels that differ between two screenshots, the second flipped left to right if asked."""
    width, height, rows_a = png_pixels(a)
    _w, _h, rows_b = png_pixels(b)
    differing = 0
    for y in range(height):
        row_b = rows_b[y][::-1] if flip else rows_b[y]
        for p, q in zip(rows_a[y], row_b, strict=True):
            differing += max(abs(i - j) for i, j in zip(p, q, strict=True)) > 60
    return differing / (width * height)


async def test_the_display_keyed_green_and_mirrored(served: Served, browser: Any) -> None:
    moderator = await desk(served)
    await moderator.command(c.Pause())  # the timer holds still: two screenshots show the same figures
    small = {"width": 480, "height": 270}
    url = f"http://127.0.0.1:{served.port}/display?key=00ff00&mirror=1#token={served.tokens.display}"
    mirrored = await open_page(browser, url, small)
    plain = await open_page(browser, url.replace("&mirror=1", ""), small)
    for page in (mirrored, plain):
        await page.wait_for_function("() => document.querySelector('#timer').textContent.length > 0", timeout=WAIT_MS)
    assert await mirrored.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 255, 0)"
    assert await mirrored.evaluate("getComputedStyle(document.querySelector('#stage')).transform") == (
        "matrix(-1, 0, 0, 1, 0, 0)"
    )
    shot_mirrored = await mirrored.screenshot(path=str(ARTIFACTS / "pages" / "display-key-mirror.png"))
    shot_plain = await plain.screenshot()
    _width, _height, rows = png_pixels(shot_mirrored)
    assert rows[1][1] == (0, 255, 0) and rows[-2][-2] == (0, 255, 0)  # drawn on green, edge to edge
    # Mirrored: the plain display flipped left to right, not the plain display itself.
    assert _differing(shot_mirrored, shot_plain, flip=True) < 0.02
    assert _differing(shot_mirrored, shot_plain, flip=False) > 0.01
    assert mirrored.errors == [] and plain.errors == []


async def test_blackout_flash_and_focus_reach_the_display(served: Served, browser: Any) -> None:
    moderator = await desk(served)
    page = await open_page(browser, f"http://127.0.0.1:{served.port}/display#token={served.tokens.display}")
    await page.wait_for_function("() => document.querySelector('#timer').textContent.length > 0", timeout=WAIT_MS)
    await moderator.command(c.Blackout(on=True))
    await page.locator("#blackout").wait_for(state="visible", timeout=WAIT_MS)
    _w, _h, rows = png_pixels(await page.screenshot())
    assert {pixel for row in rows[::40] for pixel in row[::40]} == {(0, 0, 0)}  # nothing shows through
    await moderator.command(c.Blackout(on=False))
    await page.locator("#blackout").wait_for(state="hidden", timeout=WAIT_MS)
    await moderator.command(c.Flash())
    await page.wait_for_function("() => document.body.dataset.flashes === '1'", timeout=WAIT_MS)
    await moderator.command(c.Focus(text="ON AIR"))
    await page.locator("#focus").wait_for(state="visible", timeout=WAIT_MS)
    assert await text_of(page, "#focus-text") == "ON AIR"
    await page.screenshot(path=str(ARTIFACTS / "pages" / "display-focus.png"))
    await moderator.command(c.Focus(text=None))
    await page.locator("#focus").wait_for(state="hidden", timeout=WAIT_MS)
    assert page.errors == []


@pytest.mark.parametrize("path", ["/join", "/display"])
async def test_arabic_renders_right_to_left(served: Served, browser: Any, path: str) -> None:
    await desk(served)
    token = served.tokens.people["garcetti"] if path == "/join" else served.tokens.display
    page = await open_page(browser, f"http://127.0.0.1:{served.port}{path}?lang=ar#token={token}")
    await page.wait_for_function("() => document.documentElement.dir === 'rtl'", timeout=WAIT_MS)
    assert await page.evaluate("document.documentElement.lang") == "ar"
    if path == "/join":
        await page.locator("#live").wait_for(state="visible", timeout=WAIT_MS)
        # Laid out from the right: a card's heading starts at its right edge.
        card, heading = await page.evaluate(
            "[document.querySelector('#now-heading').parentElement.getBoundingClientRect().right,"
            " document.querySelector('#now-heading').getBoundingClientRect().right]"
        )
        assert abs(card - heading) < 24, (card, heading)
    assert page.errors == []


@pytest.mark.parametrize("path", ["/join", "/display"])
async def test_a_360_px_phone_shows_no_sideways_scroll(served: Served, browser: Any, path: str) -> None:
    moderator = await desk(served)
    for index in range(6):
        crowd = await served.client(served.tokens.participant, name=f"Participant-{index}-withaverylongname")
        await crowd.command(c.Raise(kind="point_of_order" if index % 2 else "question"))
    await moderator.command(c.SendMessage(text="A-long-message-without-spaces-" * 4, to="all"))
    token = await personal_credential(served, "Ada Lovelace") if path == "/join" else served.tokens.display
    page = await open_page(browser, f"http://127.0.0.1:{served.port}{path}#token={token}", PHONE)
    await page.wait_for_function(
        "() => document.querySelectorAll('#queue li').length >= 6 || location.pathname === '/display'"
    )
    await page.wait_for_timeout(300)
    widths = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == PHONE["width"], widths
    assert page.errors == []


@pytest.mark.slow  # about 40 s: python -m pytest -m slow tests/console/test_pages_browser.py
async def test_screenshots_of_every_page_in_every_language(served: Served, browser: Any) -> None:
    moderator = await desk(served)
    await moderator.command(c.Floor(person="garcetti"))
    crowd = await served.client(served.tokens.participant, name="Ada Lovelace")
    await crowd.command(c.Raise(kind="question"))
    await moderator.command(c.SendMessage(text="Five minutes left in this item", to="all"))
    speaker = served.tokens.people["park-won-soon"]
    speaker_client = await served.speaker("park-won-soon")
    await speaker_client.command(c.Raise())
    out = ARTIFACTS / "pages"
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for lang in LANGUAGES:
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            for name, url in (
                ("join", f"/join?lang={lang}#token={speaker}"),
                ("display", f"/display?lang={lang}#token={served.tokens.display}"),
            ):
                page = await open_page(browser, f"http://127.0.0.1:{served.port}{url}", viewport)
                await page.wait_for_function(f"() => document.documentElement.lang === {lang!r}", timeout=WAIT_MS)
                ready = "#live" if name == "join" else "#timer"
                await page.locator(ready).wait_for(state="visible", timeout=WAIT_MS)
                await page.wait_for_timeout(250)
                path = out / f"{name}-{lang}-{size}.png"
                await page.screenshot(path=str(path), full_page=name == "join")
                assert page.errors == [], (name, lang, page.errors)
                await page.context.close()
                made.append(path)
    assert all(path.stat().st_size > 1000 for path in made) and len(made) == 24


async def test_during_a_break_the_display_says_when_the_session_is_back(tmp_path: Path, browser: Any) -> None:
    from modconsole.agenda_files import load_agenda
    from modconsole.client import MeetingClient
    from modconsole.core.read_model import session_view
    from modconsole.server.events_admin import create_event
    from modconsole.server.service import MeetingServer
    from modconsole.server.store import SqliteStore

    store = SqliteStore(tmp_path / "who.db")
    tokens = create_event(
        store, load_agenda(Path(__file__).resolve().parents[2] / "examples" / "who-city-diplomacy.toml")
    )
    server = MeetingServer(store)
    port = await server.start("127.0.0.1", 0)
    moderator = MeetingClient(f"ws://127.0.0.1:{port}", tokens.moderator, client="desk")
    try:
        await moderator.connect()
        await moderator.command(c.Start())
        await moderator.command(c.Goto(item="coffee-break"))
        runtime = server.events[tokens.event_id]
        back = session_view(runtime.state, runtime.state.sessions[0], runtime.now(server.clock()))["next_start"]
        assert back is not None
        page = await open_page(browser, f"http://127.0.0.1:{port}/display#token={tokens.display}")
        await page.locator("#back-at").wait_for(state="visible", timeout=WAIT_MS)
        text = await text_of(page, "#back-at")
        assert text.replace("\u2066", "").replace("\u2069", "") == f"Back at {back[11:16]}"
        assert await text_of(page, "#timer") == ""  # the break shows when it ends, not a countdown
        assert page.errors == []
    finally:
        await moderator.close()
        await server.stop()
        store.close()


async def test_a_participant_asks_another_votes_and_the_first_sees_the_count(tmp_path: Path, browser: Any) -> None:
    from support.tui import mayors_agenda

    from modconsole.core.agenda import QuestionSettings

    agenda = mayors_agenda().model_copy(
        update={"questions": QuestionSettings(moderated=False, anonymous=True, max_length=140)}
    )
    served = await Served.start(tmp_path / "questions.db", agenda=agenda)
    try:
        await desk(served)
        ada_token = await personal_credential(served, "Ada Lovelace")
        grace_token = await personal_credential(served, "Grace Hopper")
        ada = await open_page(browser, f"http://127.0.0.1:{served.port}/join#token={ada_token}", PHONE)
        grace = await open_page(browser, f"http://127.0.0.1:{served.port}/join#token={grace_token}", PHONE)
        for page in (ada, grace):
            await page.locator("#live").wait_for(state="visible", timeout=WAIT_MS)
        # The form follows the event's settings: its length, and the anonymous box since the event allows it.
        assert await ada.locator("#ask-text").get_attribute("maxlength") == "140"
        assert await ada.locator("#ask-anonymous").is_visible()
        assert await ada.locator("#ask-note").get_attribute("aria-live") == "polite"
        # By keyboard alone: type the question, Tab past the box to the button, Enter.
        hostile = "<b>Who</b> pays for the <img src=x onerror=alert(1)> bridge?"
        await ada.locator("#ask-text").focus()
        await ada.keyboard.type(hostile)
        assert "of 140 characters" in await text_of(ada, "#ask-count")
        await ada.keyboard.press("Tab")
        await ada.keyboard.press("Tab")
        assert await ada.evaluate("document.activeElement.id") == "ask-send"
        await ada.keyboard.press("Enter")
        await ada.locator("#my-questions li").wait_for(timeout=WAIT_MS)
        assert await text_of(ada, "#ask-note") == "Your question was sent."
        assert await text_of(ada, "#my-questions .question-text") == hostile  # text, never markup
        assert await ada.locator("#my-questions img, #my-questions b").count() == 0
        assert "0 votes" in await text_of(ada, "#my-questions li")
        assert await ada.locator("#my-questions button.vote").count() == 0  # never one's own
        # Grace sees it, with Ada's name, and votes by keyboard; her button says she has.
        row = grace.locator("#all-questions li", has_text="bridge?")
        await row.wait_for(timeout=WAIT_MS)
        assert "Ada Lovelace" in await text_of(grace, "#all-questions li")
        vote = row.locator("button.vote")
        assert await vote.get_attribute("aria-pressed") == "false"
        await vote.focus()
        await grace.keyboard.press("Enter")
        await grace.wait_for_function(
            "() => document.querySelector('#all-questions button.vote').getAttribute('aria-pressed') === 'true'",
            timeout=WAIT_MS,
        )
        assert await grace.evaluate("document.activeElement.dataset.question") == "q1"  # the focus stays on it
        # Ada's page gets no view for a vote: the count comes in the coalesced question_votes frame.
        await ada.wait_for_function(
            "() => document.querySelector('#my-questions li').textContent.includes('1 vote')", timeout=WAIT_MS
        )
        # An anonymous question: Grace's page never has Ada's name for it.
        await ada.locator("#ask-text").fill("And who maintains it?")
        await ada.locator("#ask-anonymous").check()
        await ada.locator("#ask-send").click()
        anonymous = grace.locator("#all-questions li", has_text="maintains")
        await anonymous.wait_for(timeout=WAIT_MS)
        assert "Anonymous" in str(await anonymous.text_content()) and "Ada" not in str(await anonymous.text_content())
        # Taking the vote back: pressed again.
        await vote.click()
        await ada.wait_for_function(
            "() => document.querySelector('#my-questions li').textContent.includes('0 votes')", timeout=WAIT_MS
        )
        await ada.screenshot(path=str(ARTIFACTS / "pages" / "join-questions.png"), full_page=True)
        assert ada.errors == [] and grace.errors == []
    finally:
        await served.close()
