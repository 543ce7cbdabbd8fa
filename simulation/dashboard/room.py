"""The room takes part: questions, predictions and votes from participants' phones.

One dashboard server holds one :class:`Room`. The facilitator's tab attaches its session to
it (the room panel) and asks a question with two to four options, each an action (a policy
lever, as the presets of :func:`simulation.dashboard.state.presets`) or none ("ne rien
faire"). Participants open the short address (``/v``, a QR code on the facilitator's screen)
on their phones: a plain page, no account, that polls :meth:`Room.phone_state` and posts
their prediction and their vote (:mod:`simulation.dashboard.server`).

A question goes through these phases, driven by the facilitator only:

``predict`` (optional)
    participants predict what the measure picked will do in the decision's territories:
    ``down`` (baisse nette), ``none`` (pas d'effet net) or ``up`` (hausse nette);
``vote``
    one vote per phone (a second vote from the same phone is refused);
``closed``
    the counts are shown to everyone; the winner is the option with most votes (a tie leaves
    the choice to the facilitator);
``applied``
    the facilitator applied an option as a decision of the live run, or as a decision with
    the run without it kept as a branch;
``result``
    the before/after verdict of the measure in the decision's territories (the same rule as
    the reports: :func:`simulation.dashboard.beforeafter.measure_change`) beside the room's
    predictions.

Every question is recorded in ``session.votes`` in the workshop file's format
(:mod:`simulation.dashboard.debrief`: question, month, options, counts) plus ``predictions``
(counts of down / none / up), ``winner``, ``applied`` and ``result``; it is saved and
reloaded with the workshop and printed on the debrief page.

Phones are told apart by a random cookie set by the page (``tn_phone``): clearing the
browser's cookies gives a phone a second vote. That is the limit of a room without accounts;
the facilitator sees the number of phones that voted against the number of people present.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from simulation.dashboard import i18n
from simulation.errors import InputError

MIN_OPTIONS = 2
"""Fewest options of a question."""
MAX_OPTIONS = 4
"""Most options of a question."""
MAX_TEXT = 140
"""Longest question or option text (characters)."""
PREDICTIONS = ("down", "none", "up")
"""What a participant can predict of the measure: a net fall, no net effect, a net rise."""
PHASES = ("predict", "vote", "closed", "applied", "result")
"""Phases of a question, in order (``predict`` is skipped without a prediction)."""
MAX_PHONES = 500
"""Most phones one question accepts (a bound on memory; a room is far smaller)."""

TEXTS: dict[str, dict[str, str]] = {
    "no_question": {"fr": "Aucune question ouverte pour l'instant.",
                    "en": "No question is open right now."},
    "not_voting": {"fr": "Le vote n'est pas ouvert.", "en": "Voting is not open."},
    "not_predicting": {"fr": "Les prédictions sont closes.", "en": "Predictions are closed."},
    "already_voted": {"fr": "Ce téléphone a déjà voté pour cette question.",
                      "en": "This phone has already voted on this question."},
    "already_predicted": {"fr": "Ce téléphone a déjà fait sa prédiction.",
                          "en": "This phone has already made its prediction."},
    "bad_option": {"fr": "Choix inconnu : {value}. Choix possibles : {allowed}.",
                   "en": "Unknown choice: {value}. Allowed: {allowed}."},
    "stale": {"fr": "Cette question est terminée ; la page va se mettre à jour.",
              "en": "This question is over; the page will update."},
    "no_phone": {"fr": "Ouvrez d'abord la page de vote (adresse affichée par l'animateur).",
                 "en": "Open the voting page first (the address the facilitator shows)."},
    "full": {"fr": "Trop de téléphones pour cette question ({n} au plus).",
             "en": "Too many phones for this question ({n} at most)."},
    "open_first": {"fr": "Une question est déjà ouverte : terminez-la d'abord.",
                   "en": "A question is already open: finish it first."},
    "no_room": {"fr": "Aucun atelier n'est relié à la salle : l'animateur ouvre le panneau "
                      "« Vote de la salle ».",
                "en": "No workshop is linked to the room: the facilitator opens the "
                      "\"Room vote\" panel."},
    "nothing": {"fr": "ne rien faire", "en": "do nothing"},
    "tie": {"fr": "Égalité : l'animateur choisit parmi {options}.",
            "en": "Tie: the facilitator picks among {options}."},
    "down": {"fr": "baisse nette", "en": "net fall"},
    "none": {"fr": "pas d'effet net", "en": "no net effect"},
    "up": {"fr": "hausse nette", "en": "net rise"},
    # the facilitator's panel
    "p_title": {"fr": "Vote de la salle", "en": "Room vote"},
    "p_help": {"fr": "Les participants ouvrent l'adresse (ou le QR code) sur leur téléphone : "
                     "ils voient la carte et votent. Un téléphone, un vote par question.",
               "en": "Participants open the address (or the QR code) on their phones: they see "
                     "the map and vote. One phone, one vote per question."},
    "p_attach": {"fr": "Montrer cet atelier à la salle", "en": "Show this workshop to the room"},
    "p_other": {"fr": "La salle voit un autre onglet : le relier à celui-ci ?",
                "en": "The room shows another tab: link it to this one?"},
    "p_template": {"fr": "Question toute prête", "en": "Ready question"},
    "p_question": {"fr": "Question", "en": "Question"},
    "p_option": {"fr": "Choix {k}", "en": "Option {k}"},
    "p_action": {"fr": "Action du choix {k}", "en": "Action of option {k}"},
    "p_no_action": {"fr": "aucune (ne rien faire)", "en": "none (do nothing)"},
    "p_predict": {"fr": "Prédiction d'abord, sur :", "en": "Prediction first, on:"},
    "p_no_predict": {"fr": "pas de prédiction", "en": "no prediction"},
    "p_ask": {"fr": "Poser la question", "en": "Ask the question"},
    "p_open_vote": {"fr": "Clore les prédictions, ouvrir le vote",
                    "en": "Close predictions, open the vote"},
    "p_close": {"fr": "Clore le vote", "en": "Close the vote"},
    "p_apply": {"fr": "Appliquer « {o} » maintenant", "en": "Apply \"{o}\" now"},
    "p_apply_branch": {"fr": "Appliquer en gardant une branche sans", "en":
                       "Apply, keeping a branch without it"},
    "p_result": {"fr": "Montrer le résultat aux téléphones", "en": "Show the result on the phones"},
    "p_end": {"fr": "Question suivante", "en": "Next question"},
    "p_phase": {"fr": "Étape : {p}", "en": "Step: {p}"},
    "ph_predict": {"fr": "prédictions", "en": "predictions"},
    "ph_vote": {"fr": "vote ouvert", "en": "vote open"},
    "ph_closed": {"fr": "vote clos", "en": "vote closed"},
    "ph_applied": {"fr": "choix appliqué", "en": "choice applied"},
    "ph_result": {"fr": "résultat montré", "en": "result shown"},
    "p_counts": {"fr": "{v} vote(s), {p} prédiction(s)", "en": "{v} vote(s), {p} prediction(s)"},
    "p_applied": {"fr": "Appliqué au mois {step} : {o}", "en": "Applied at month {step}: {o}"},
    "p_wait_result": {"fr": "Faites avancer le temps, puis montrez le résultat.",
                      "en": "Let time run, then show the result."},
    "no_decision": {"fr": "Aucune décision n'a été appliquée : pas de résultat à comparer.",
                    "en": "No decision was applied: no result to compare."},
}


def rt(key: str, lang: str, **fmt: Any) -> str:
    """A room string in ``lang`` (English when unknown)."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


class RoomError(InputError):
    """A refused room action: ``code`` (a key of :data:`TEXTS`) and the HTTP status."""

    def __init__(self, code: str, status: int = 409, **fmt: Any) -> None:
        self.code, self.status, self.fmt = code, status, fmt
        super().__init__(rt(code, "en", **fmt))

    def message(self, lang: str) -> str:
        """The message in ``lang``."""
        return rt(self.code, lang, **self.fmt)


@dataclass
class Option:
    """One option of a question: its words and its action (a policy dict, or None)."""

    text: str
    policy: dict[str, Any] | None = None


@dataclass
class Question:
    """A question put to the room (see the module's phases)."""

    id: int
    text: str
    options: list[Option]
    month: int
    measure: str | None = None
    phase: str = "vote"
    ballots: dict[str, int] = field(default_factory=dict)
    predictions: dict[str, str] = field(default_factory=dict)
    winner: int | None = None
    applied: str | None = None
    applied_option: int | None = None
    applied_step: int | None = None
    result: dict[str, Any] | None = None
    opened: float = field(default_factory=time.time)

    def counts(self) -> list[int]:
        """Votes per option, in the options' order."""
        out = [0] * len(self.options)
        for k in self.ballots.values():
            out[k] += 1
        return out

    def prediction_counts(self) -> dict[str, int]:
        """Predictions per outcome (down, none, up)."""
        out = dict.fromkeys(PREDICTIONS, 0)
        for p in self.predictions.values():
            out[p] += 1
        return out

    def leaders(self) -> list[int]:
        """The options with most votes (several on a tie; all when nobody voted)."""
        c = self.counts()
        top = max(c)
        return [k for k, n in enumerate(c) if n == top]

    def record(self) -> dict[str, Any]:
        """The question as a workshop file's ``votes`` entry (the debrief's format)."""
        texts = [o.text for o in self.options]
        out: dict[str, Any] = {
            "question": self.text, "month": self.month, "options": texts,
            "counts": dict(zip(texts, self.counts(), strict=True)),
            "actions": [o.policy for o in self.options],
            "phase": self.phase,
        }
        if self.measure:
            out["measure"] = self.measure
            out["predictions"] = self.prediction_counts()
        if self.winner is not None:
            out["winner"] = texts[self.winner]
        if self.applied:
            out["applied"] = {"as": self.applied, "option": texts[self.applied_option or 0],
                              "month": self.applied_step}
        if self.result:
            out["result"] = dict(self.result)
        return out


def check_text(value: Any, what: str, max_len: int = MAX_TEXT) -> str:
    """A question's or an option's text, stripped (raises :class:`InputError` when bad)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{what}: write a text (1 to {max_len} characters)")
    text = " ".join(value.split())
    if len(text) > max_len:
        raise InputError(f"{what}: {len(text)} characters, at most {max_len}")
    return text


class Room:
    """The room of one dashboard server: the session it shows and the current question.

    Every method takes the room's lock (phones post from the server's threads while the
    facilitator's tab steps the run). ``rev`` grows at every change a phone must see.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.session: Any = None
        self.question: Question | None = None
        self.rev = 0
        self._next_id = 1
        self._index: int | None = None

    # ------------------------------------------------------------------ facilitator
    def attach(self, session: Any) -> None:
        """Show ``session`` to the room (the facilitator's tab that opened the room panel)."""
        with self.lock:
            if session is not self.session:
                self.session = session
                self.question = None
                if not hasattr(session, "votes"):
                    session.votes = []
                self._changed()

    def attached(self, session: Any) -> bool:
        """True when ``session`` is the one the room shows."""
        return self.session is session

    def ask(self, text: str, options: list[tuple[str, dict[str, Any] | None]],
            measure: str | None = None) -> Question:
        """Put a question to the room (predictions first when ``measure`` is given).

        Args:
            text: the question (at most :data:`MAX_TEXT` characters).
            options: 2 to 4 (text, policy dict or None) pairs, different texts.
            measure: a territory measure to predict (None: no prediction phase).

        Raises:
            InputError: a bad text, number of options or measure; a question still open.
        """
        from simulation.engine.measures import TERRITORY_MEASURES

        with self.lock:
            if self.session is None:
                raise RoomError("no_room")
            q = self.question
            if q is not None and q.phase in ("predict", "vote"):
                raise RoomError("open_first")
            text = check_text(text, "question")
            if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
                raise InputError(f"options: {len(options)} given, {MIN_OPTIONS} to "
                                 f"{MAX_OPTIONS} allowed")
            opts = [Option(check_text(o, f"option {k + 1}"), p)
                    for k, (o, p) in enumerate(options)]
            if len({o.text for o in opts}) != len(opts):
                raise InputError("options: two options have the same text")
            if measure is not None and measure not in TERRITORY_MEASURES:
                raise InputError(f"measure: {measure!r} is not a territory measure")
            q = Question(self._next_id, text, opts, int(self.session.steps), measure,
                         "predict" if measure else "vote")
            self._next_id += 1
            self.question = q
            self._index = None  # a new entry of session.votes (see _sync)
            self._changed()
            return q

    def open_vote(self) -> None:
        """End the predictions and open the vote."""
        with self.lock:
            q = self._current()
            if q.phase != "predict":
                raise RoomError("not_predicting")
            q.phase = "vote"
            self._changed()

    def close(self) -> int | None:
        """Close the vote; the winner's index (None on a tie: the facilitator picks)."""
        with self.lock:
            q = self._current()
            if q.phase == "predict":
                q.phase = "vote"
            if q.phase != "vote":
                raise RoomError("not_voting")
            q.phase = "closed"
            lead = q.leaders()
            q.winner = lead[0] if len(lead) == 1 else None
            self._changed()
            return q.winner

    def apply(self, option: int | None = None, as_branch: bool = False) -> Any:
        """Apply an option (default: the winner) to the live run.

        Args:
            option: the option's index (needed on a tie).
            as_branch: first keep the run without the decision as a branch, named after the
                option ("sans …" / "without …").

        Returns:
            The :class:`~simulation.dashboard.state.Choice` taken, or None for an option
            without an action.

        Raises:
            LeverError: the lever cannot be applied (e.g. a scenario policy holds it).
            RoomError: the vote is not closed, or no winner and no option given.
        """
        with self.lock:
            q = self._current()
            if q.phase != "closed":
                raise RoomError("not_voting")
            k = q.winner if option is None else int(option)
            if k is None or not 0 <= k < len(q.options):
                raise RoomError("tie", options=", ".join(q.options[i].text
                                                        for i in q.leaders()))
            opt = q.options[k]
            session = self.session
            choice = None
            with session.lock:
                if opt.policy is not None:
                    if as_branch:
                        lang = _lang(session)
                        name = ("sans " if lang == "fr" else "without ") + opt.text
                        session.save_branch(_branch_name(name, session))
                    try:
                        choice = session.pull(dict(opt.policy))
                    except Exception:
                        if as_branch:  # nothing half-done: drop the branch just saved
                            session.branches.pop()
                            session.log.pop()
                            session.compare = (len(session.branches) - 1
                                               if session.branches else None)
                        raise
                q.applied = "branch" if (as_branch and opt.policy is not None) else "decision"
                q.applied_option, q.applied_step = k, int(session.steps)
                q.winner = q.winner if q.winner is not None else k
                q.phase = "applied"
            self._changed()
            return choice

    def show_result(self, lang: str | None = None) -> dict[str, Any]:
        """Compute and show the result beside the predictions (the measure asked).

        The verdict is :func:`~simulation.dashboard.beforeafter.measure_change`'s in the
        applied decision's territories: ``up`` or ``down`` when it is an effect (beyond the
        run's noise), ``none`` otherwise.
        """
        from simulation.dashboard import beforeafter as ba
        from simulation.engine.measures import MEASURES
        from simulation.engine.policies import make_policy

        with self.lock:
            q = self._current()
            if q.phase not in ("applied", "result"):
                raise RoomError("not_voting")
            session = self.session
            lang = lang or _lang(session)
            opt = q.options[q.applied_option or 0]
            measure = q.measure or ba.map_measures(session)[0]
            with session.lock:
                if opt.policy is None or not session.live.choices:
                    res = {"measure": measure, "outcome": None, "months": 0,
                           "text": rt("no_decision", lang)}
                else:
                    pol = make_policy(opt.policy)
                    idx = list(pol.indices(session.live.model)) or list(range(session.tmap.n))
                    ch = ba.measure_change(session, measure, idx)
                    outcome = ("up" if ch.diff > 0 else "down") \
                        if ch.verdict == "effect" else "none"
                    months = int(session.steps) - int(q.applied_step or 0)
                    label = ba.room_label(measure, lang)
                    text = (f"{label} : {ba.change_text(ch, MEASURES[measure].unit, lang)}"
                            if lang == "fr" else
                            f"{label}: {ba.change_text(ch, MEASURES[measure].unit, lang)}")
                    res = {"measure": measure, "outcome": outcome, "verdict": ch.verdict,
                           "diff": None if ch.diff != ch.diff else float(ch.diff),
                           "months": months, "territories": int(ch.n), "text": text}
            q.result = res
            q.phase = "result"
            self._changed()
            return res

    def end(self) -> None:
        """Take the question off the phones (it stays in the log)."""
        with self.lock:
            if self.question is not None:
                self._sync()
                self.question = None
                self._changed()

    # ------------------------------------------------------------------ phones
    def vote(self, phone: str, question_id: Any, option: Any) -> list[int]:
        """Record a phone's vote; the counts so far.

        Raises:
            RoomError: no such question now, voting not open, an unknown option, a phone that
                already voted (one phone, one vote per question).
        """
        with self.lock:
            q = self._for_phone(phone, question_id)
            if q.phase != "vote":
                raise RoomError("not_voting")
            n = len(q.options)
            if isinstance(option, bool) or not isinstance(option, int) or not 0 <= option < n:
                raise RoomError("bad_option", 400, value=repr(option)[:40],
                                allowed=f"0 to {n - 1}")
            if phone in q.ballots:
                raise RoomError("already_voted")
            if len(q.ballots) >= MAX_PHONES:
                raise RoomError("full", 429, n=MAX_PHONES)
            q.ballots[phone] = option
            self._changed()
            return q.counts()

    def predict(self, phone: str, question_id: Any, outcome: Any) -> dict[str, int]:
        """Record a phone's prediction (one per phone); the counts so far."""
        with self.lock:
            q = self._for_phone(phone, question_id)
            if q.phase != "predict":
                raise RoomError("not_predicting")
            if outcome not in PREDICTIONS:
                raise RoomError("bad_option", 400, value=repr(outcome)[:40],
                                allowed=", ".join(PREDICTIONS))
            if phone in q.predictions:
                raise RoomError("already_predicted")
            if len(q.predictions) >= MAX_PHONES:
                raise RoomError("full", 429, n=MAX_PHONES)
            q.predictions[phone] = outcome
            self._changed()
            return q.prediction_counts()

    def question_state(self, phone: str | None, lang: str) -> dict[str, Any] | None:
        """What a phone shows of the current question (None: no question)."""
        with self.lock:
            q = self.question
            if q is None:
                return None
            out: dict[str, Any] = {
                "id": q.id, "text": q.text, "phase": q.phase,
                "options": [o.text for o in q.options],
                "voters": len(q.ballots), "predictors": len(q.predictions),
                "my_vote": q.ballots.get(phone) if phone else None,
                "my_prediction": q.predictions.get(phone) if phone else None,
                "predict_words": {p: rt(p, lang) for p in PREDICTIONS},
            }
            if q.measure:
                out["measure"] = i18n.measure_label(q.measure, lang)
            if q.phase in ("closed", "applied", "result"):
                out["counts"] = q.counts()
                out["winner"] = q.winner
                if q.winner is None and q.phase == "closed":
                    out["tie"] = rt("tie", lang, options=", ".join(
                        q.options[i].text for i in q.leaders()))
            if q.phase in ("applied", "result") and q.applied_option is not None:
                out["applied"] = q.options[q.applied_option].text
            if q.phase == "result":
                out["result"] = dict(q.result or {})
                if q.result and q.result.get("outcome"):
                    out["result"]["outcome_words"] = rt(q.result["outcome"], lang)
                out["predictions"] = q.prediction_counts() if q.measure else None
            return out

    # ------------------------------------------------------------------ internals
    def _current(self) -> Question:
        if self.question is None:
            raise RoomError("no_question")
        return self.question

    def _for_phone(self, phone: str, question_id: Any) -> Question:
        if not phone:
            raise RoomError("no_phone", 400)
        q = self.question
        if q is None:
            raise RoomError("no_question")
        if question_id != q.id:
            raise RoomError("stale")
        return q

    def _sync(self) -> None:
        """Write the current question into the session's ``votes`` log."""
        q, s = self.question, self.session
        if q is None or s is None:
            return
        votes = s.votes
        idx = self._index
        if idx is not None and idx < len(votes) and votes[idx].get("question") == q.text:
            votes[idx] = q.record()
        else:
            votes.append(q.record())
            self._index = len(votes) - 1

    def _changed(self) -> None:
        self.rev += 1
        self._sync()


def _lang(session: Any) -> str:
    from simulation.dashboard import beforeafter as ba

    return ba.share(session).lang


def _branch_name(name: str, session: Any) -> str:
    """A free branch name from ``name`` (shortened to what branch names allow)."""
    from simulation.dashboard import state as st

    used = {b.name for b in session.branches}
    base = name[:st.MAX_BRANCH_NAME]
    out, k = base, 2
    while out in used:
        suffix = f" {k}"
        out, k = base[:len(base) - len(suffix)] + suffix, k + 1
    return out


ROOM = Room()
"""The room of this server process."""


# ------------------------------------------------------------------------------- templates
TEMPLATES: dict[str, dict[str, Any]] = {
    "counters": {
        "question": {"fr": "Que faire des guichets des impôts dans les territoires ruraux ?",
                     "en": "What should be done with the tax offices in rural territories?"},
        "options": [
            ({"fr": "fermer les guichets ruraux", "en": "close the rural offices"},
             {"type": "public_counters", "change": -1.0, "which": ["tax"],
              "territories": {"kinds": ["rural"]}}),
            ({"fr": "ouvrir des France services", "en": "open France services houses"},
             {"type": "france_services", "per_territory": 2.0,
              "territories": {"kinds": ["rural"]}}),
            ({"fr": "ne rien faire", "en": "do nothing"}, None)],
        "measure": "service_access",
        "needs_kind": "rural",
    },
    "mediators": {
        "question": {"fr": "Faut-il des conseillers numériques partout ?",
                     "en": "Should there be digital mediators everywhere?"},
        "options": [
            ({"fr": "oui, un pour 10 000 ménages", "en": "yes, one per 10,000 households"},
             {"type": "digital_mediators", "per_10k_households": 1.0, "territories": "all"}),
            ({"fr": "ne rien faire", "en": "do nothing"}, None)],
        "measure": "non_take_up",
    },
    "platform_tax": {
        "question": {"fr": "Taxer les ventes des plateformes mondiales à 3 % ?",
                     "en": "Tax global platforms' sales at 3 %?"},
        "options": [
            ({"fr": "oui, taxer à 3 %", "en": "yes, tax at 3 %"},
             {"type": "platform_tax", "rate": 0.03, "territories": "all"}),
            ({"fr": "ne rien faire", "en": "do nothing"}, None)],
        "measure": "local_value_captured",
    },
}
"""Ready questions of the room panel (only those whose policies fit the map are offered)."""

TEMPLATE_LABELS: dict[str, dict[str, str]] = {
    "counters": {"fr": "Guichets ruraux", "en": "Rural counters"},
    "mediators": {"fr": "Conseillers numériques", "en": "Digital mediators"},
    "platform_tax": {"fr": "Taxe sur les plateformes", "en": "Platform tax"},
}


def templates(session: Any) -> list[str]:
    """Keys of the ready questions that fit the session's map."""
    from simulation.world.territory_map import KINDS

    kinds = {KINDS[int(k)] for k in set(session.tmap.kind.tolist())}
    return [k for k, v in TEMPLATES.items()
            if v.get("needs_kind") is None or v["needs_kind"] in kinds]


def template(key: str, lang: str) -> tuple[str, list[tuple[str, dict[str, Any] | None]], str]:
    """A ready question in ``lang``: (question, options as (text, policy), measure)."""
    v = TEMPLATES[key]
    opts = [(o.get(lang) or o["en"], None if p is None else dict(p)) for o, p in v["options"]]
    return v["question"].get(lang) or v["question"]["en"], opts, v["measure"]


def qr_svg(url: str, scale: int = 4) -> str:
    """The QR code of ``url`` as inline SVG (``segno``, error correction M)."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=scale, border=2, xmldecl=False,
                                     svgns=True, dark="#1d2330", light="#ffffff")
    return buf.getvalue().decode("utf-8")


def new_phone_id() -> str:
    """A random identifier for a phone's cookie."""
    return secrets.token_urlsafe(12)


__all__ = ["MAX_OPTIONS", "MIN_OPTIONS", "Option", "PREDICTIONS", "Question", "ROOM", "Room",
           "RoomError", "TEMPLATES", "check_text", "new_phone_id", "qr_svg", "rt", "template",
           "templates"]
