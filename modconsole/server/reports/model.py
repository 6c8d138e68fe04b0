"""The report's data: plain pydantic models, one per thing a report tells of.

This module owns the report's shape, which is also the JSON format's schema and the CSV tables' columns
(in field order: a new field goes last, so that the columns already written keep their places). It holds
data only: it never reads a log or formats a figure; ``build`` fills these models, the format modules
read them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagShare(_Model):
    value: str
    attended: int
    attended_pct: float  # of those who attended and gave a value for the tag
    speaking_s: float
    speaking_pct: float  # of the speaking time of those who gave a value: beside attended_pct, the expected share


class TagBreakdown(_Model):
    given: int  # attendees who gave a value
    not_given: int  # attendees who gave none, or preferred not to say: counted apart, in no share
    not_given_speaking_s: float
    values: list[TagShare]


class Attendance(_Model):
    registered: int  # registrants and self-registered participants: the event's, whatever the scope
    attended: int  # unique people (speakers and participants) present live at some point
    speakers: int
    participants: int
    peak: int  # the most present at once
    peak_at: str | None
    median_present_s: float  # of those who attended
    countries: int
    by_country: dict[str, int]  # ISO 3166 alpha-2 -> attendees
    by_tag: dict[str, TagBreakdown]


class Extension(_Model):
    at: str
    by: str
    delta_s: int


class PlanChange(_Model):
    at: str
    by: str
    target: str
    durations: dict[str, int]


class LiveChange(_Model):
    """A change of the plan made live: to an item's place or plan in force, by whom and when."""

    at: str
    by: str
    # "added", "removed", "lengthened", "shortened", "moved", "edited" (the title, kind, speakers...),
    # "time added" (or taken) and "recovery plan"
    change: str
    item: str
    title: str
    before_s: int | None  # the item's plan in force before the change; None when it was not in the plan
    after_s: int | None  # and after it; None once removed
    delta_s: int  # what the change added to the plan (negative: took from it)


class ItemReport(_Model):
    id: str
    title: str
    kind: str
    status: str
    planned_start: str
    planned_duration_s: int
    actual_start: str | None
    actual_duration_s: float
    over_under_s: float
    pauses: int
    added_s: int
    skipped: bool
    reopened: int
    final_planned_s: int  # the plan in force when it ran: after added time, applied plans and live edits
    turns: int
    # Graded against the plan in force: ``over_under_s`` is actual less ``final_planned_s``; ``planned_duration_s``
    # is the plan before the event (0 for an item added live, which ``added_live`` marks).
    added_live: bool = False
    not_heard: list[str] = []  # the item's listed speakers (by id) who never had the floor on it


class TurnReport(_Model):
    session: str
    item: str
    person: str
    name: str
    kind: str
    start: str
    speaking_s: float
    limit_s: int | None
    over_limit_s: float
    waited_s: float | None


class PersonReport(_Model):
    person: str
    name: str
    affiliation: str
    participant: bool
    tags: dict[str, str]
    turns: int
    speaking_s: float
    average_s: float
    longest_s: float
    turns_over_limit: int
    waited_s: float
    hands_raised: int
    hands_never_given_floor: int


class OverrunPart(_Model):
    what: str
    seconds: float
    live: bool = False  # a change of the plan made live, rather than time run over the plan in force


class SessionReport(_Model):
    id: str
    title: str
    room: str
    day: str
    status: str
    planned_start: str
    planned_end: str
    actual_start: str | None
    actual_end: str | None
    start_delay_s: float | None
    planned_duration_s: int
    actual_duration_s: float
    overrun_s: float
    overrun_pct: float
    extended_s: int
    unplanned_overrun_s: float
    paused_s: float
    pauses: int
    extensions: list[Extension]
    plans_applied: list[PlanChange]
    items: list[ItemReport]
    overrun_explained: list[OverrunPart]
    rehearsal: bool
    # The plan overrun_s and overrun_pct are measured against: planned_duration_s once ended, the plan
    # used so far by the items done or under way before that, 0 before the start. (Last, so the columns
    # of the sessions CSV keep their places.)
    planned_so_far_s: float
    # The plan changed live (items added, removed, lengthened, shortened; time added; recovery plans), and
    # what those changes added to the plan in all (negative: took from it).
    live_changes: list[LiveChange] = []
    live_changes_s: int = 0
    attendance: Attendance | None = None  # who was present live while it ran (not a column of the CSV)


class Totals(_Model):
    sessions: int
    planned_duration_s: int
    actual_duration_s: float
    overrun_s: float
    overrun_pct: float
    extended_s: int
    unplanned_overrun_s: float
    speaking_s: float
    turns: int
    planned_so_far_s: float  # the sessions' planned_so_far_s added up: what overrun_s and overrun_pct are of


class DayReport(_Model):
    day: str
    sessions: list[str]
    totals: Totals


class Share(_Model):
    value: str
    speaking_s: float
    share_pct: float
    turns: int


class AuditEntry(_Model):
    seq: int
    at: str
    type: str
    session: str | None
    what: str  # the action in words: "next: Open discussion", "extend by 25:00"
    by: str
    undone_at: str
    undone_by: str


class QuestionReport(_Model):
    id: str
    session: str
    asked_at: str
    asker: str  # the asker's name, or "anonymous"
    anonymous: bool
    votes: int
    state: str  # pending, visible, live, answered, dismissed or merged
    live_at: str | None
    answered_at: str | None
    moderated_by: str  # who approved, put live, answered, dismissed, merged or edited it (comma-separated)
    merged_into: str | None
    text: str


class QuestionCounts(_Model):
    session: str
    asked: int
    answered: int
    dismissed: int
    merged: int
    open: int  # pending, visible or live when the log stops
    votes: int


class Report(_Model):
    event_id: str
    title: str
    timezone: str
    as_of: str  # the time of the last log entry: the report is the log's, not the clock's
    log_entries: int
    rehearsal: bool
    time_scales: list[float]
    scope: str
    sessions: list[SessionReport]
    days: list[DayReport]
    totals: Totals
    people: list[PersonReport]
    turns: list[TurnReport]
    shares: dict[str, list[Share]]
    audit: list[AuditEntry]
    attendance: Attendance | None = None  # the programme's: unique people across the sessions in scope
    # Written questions: per session, what was asked, answered and dismissed; and every question.
    question_counts: list[QuestionCounts] = []
    questions: list[QuestionReport] = []
