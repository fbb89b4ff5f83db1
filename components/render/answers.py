"""Answers to the vendor tools' interactive questions, and the expect driver that types them.

The installer and `elma365ctl reconfigure` ask questions on a terminal, in an order we do not
control. The driver answers whatever it is asked from a list of (regular expression, answer)
pairs; a question nothing matches fails the step with the question's text instead of hanging.
Answers travel inside the driver script, which reaches the server on stdin only.

The site's own answers come first. The built-in ones recognise a question by its meaning (its key
words, in any order, whatever the case and punctuation) rather than by one sentence, and only once
it reads as finished (it ends in ?, :, ], ) or >), so a question still arriving is not answered on
its first words. They are Tcl regular expressions (AREs): `(?i)` only at the very start, lookahead
`(?=...)`/`(?!...)`, word boundary `\\y`.

Every run leaves a transcript on the node (`TRANSCRIPT_DIR`, root-only, one file per run named by
tool and UTC time, the last `TRANSCRIPTS_KEPT` per tool kept) with every answer that is or could be
a secret masked; a failed run shows its last lines and where it is.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..site import Ha, Install, Scaling
from .template import Raw, Text, fill

SERVICE_LABELS = {"postgresql": "PostgreSQL", "mongodb": "MongoDB", "s3": "S3", "redis": "Redis",
                  "rabbitmq": "RabbitMQ"}
# how a question names each external service (Tcl ARE, case-insensitive)
SERVICE_WORDS = {"postgresql": r"\ypostgres", "mongodb": r"\ymongo", "s3": r"\ys3\y", "redis": r"\yredis\y",
                 "rabbitmq": r"\yrabbit"}

TRANSCRIPT_DIR = "/var/log/elma365-cluster"
TRANSCRIPTS_KEPT = 10
TRANSCRIPT_TAIL = 40   # lines of the transcript a failed step shows
MASK = "********"


@dataclass(frozen=True)
class Reply:
    # The question answered: the site's own regular expression, or a built-in's name (the manual's
    # wording, itself a regular expression for it). The settings digest records it, so it stays put.
    pattern: str
    text: str
    # A built-in's regular expression by the question's meaning; the driver matches this one when set.
    meaning: str = ""

    @property
    def regexp(self) -> str:
        """What the driver matches against the unfinished last line the tool printed."""
        return self.meaning or self.pattern


# ---------------------------------------------------------------- questions by their meaning

_FINISHED = r"(?=.*[?:\])>]\s*$)"           # the line reads as a finished question
_YES_NO = r"\y(y|yes)/(n|no)\y"             # [y/N], (yes/no): a yes/no question, not one for a value
_MIN = r"\ymin(imum|imal)?\y"
_MAX = r"\ymax(imum|imal)?\y"
_AUTOSCALING = r"\yauto[- ]?scal"
_LINKERD = r"\ylinkerd"
_REPLICAS = r"(\yreplica|\ypods?\y|\yinstances?\y)"
_HOW_MANY = r"(\yhow many\y|\ynumber\y|\ycount\y|\yamount\y)"
_TIME = r"(\ytime|\ysec(ond)?s?\y|\ydelay|\ywait|\ytimeout)"
# a yes/no question the other way round ("Disable HA?"): better unanswered than answered backwards
_NEGATED = r"\y(disabl|deactivat|turn(ed)? off\y|switch(ed)? off\y|skip|without\y|don'?t\y|do not\y|not\y)"


def _first(word: str, before: str) -> str:
    """`word` occurs in the line before any `before` (the subject of a question comes first)."""
    return f"^(?:(?!{before}).)*{word}"


def _meaning(*all_of: str, none_of: tuple[str, ...] = ()) -> str:
    """A question holding every one of `all_of` and none of `none_of`, anywhere in the line, in any
    order (a word from `_first` where it says), ignoring case; and finished."""
    present = "".join(f"(?={w})" if w.startswith("^") else f"(?=.*{w})" for w in all_of)
    absent = "".join(f"(?!.*{w})" for w in none_of)
    return f"(?i)^{present}{absent}{_FINISHED}"


ANY_SERVICE = "(" + "|".join(SERVICE_WORDS.values()) + ")"
CUSTOM_CONNECTION_STRINGS = _meaning(r"(\ycustom|\yown\y)", r"\yconnection", none_of=(ANY_SERVICE, _NEGATED))


def use_external(service: str) -> str:
    """"Use external PostgreSQL?": the service, and using an external (own, existing) one of it;
    not a question for its address, nor one about the bundled one."""
    return _meaning(SERVICE_WORDS[service], r"(\yexternal|\yown\y|\yexisting|\yseparate|\yuse\y)",
                    none_of=(r"(\yconnection|\yurl\y|\yuri\y|\ydsn\y|\yaddress)",
                             r"\y(bundled|built-?in|internal|embedded|local)\y", _NEGATED))


def connection_string(service: str) -> str:
    """"PostgreSQL connection string:": the service and its connection string (URL, URI, DSN)."""
    return _meaning(SERVICE_WORDS[service], r"(\yconnection|\yurl\y|\yuri\y|\ydsn\y)", none_of=(_YES_NO,))


ENABLE_AUTOSCALING = _meaning(_first(_AUTOSCALING, _LINKERD), none_of=(_MIN, _MAX, _HOW_MANY, _NEGATED))
MIN_REPLICAS = _meaning(_first(_MIN, _MAX), _REPLICAS, none_of=(r"\ysystem", _YES_NO))
MAX_REPLICAS = _meaning(_first(_MAX, _MIN), _REPLICAS, none_of=(r"\ysystem", _YES_NO))
ENABLE_LINKERD = _meaning(_first(_LINKERD, _AUTOSCALING), none_of=(_HOW_MANY, r"\yreplica", _NEGATED))
ENABLE_HA = _meaning(r"(\yhigh[- ]?availability|\yha\y)",
                     none_of=(r"\yreplica", _HOW_MANY, _TIME, r"(failover|\ymov)", _NEGATED))
SYSTEM_REPLICAS = _meaning(r"\ysystem", r"\yreplica", none_of=(_MAX, _YES_NO))
FAILOVER_SECONDS = _meaning(_TIME, r"(\ymov|failover|\yfail)", none_of=(r"\yreplica", _YES_NO))


def _yes(flag: bool) -> str:
    return "y" if flag else "n"


def _site_answers(install: Install) -> list[Reply]:
    return [Reply(a.prompt, str(a.answer)) for a in install.answers]


def _external_services(install: Install) -> list[Reply]:
    chosen = install.external_services
    replies = [Reply("(?i)use custom connection string", _yes(bool(chosen)), CUSTOM_CONNECTION_STRINGS)]
    for name, label in SERVICE_LABELS.items():
        replies.append(Reply(f"(?i)use external {label}", _yes(name in chosen), use_external(name)))
        if name in chosen:
            replies.append(Reply(f"(?i){label} connection string", str(chosen[name]), connection_string(name)))
    return replies


def _autoscaling(scaling: Scaling) -> list[Reply]:
    auto = scaling.autoscaling
    if auto is None and not scaling.replicas:
        return []  # the site says nothing about scaling: its own answers must
    enabled = bool(auto and auto.enabled)
    replies = [Reply("(?i)enable autoscaling", _yes(enabled), ENABLE_AUTOSCALING)]
    if enabled:
        replies += [Reply("(?i)minimum number of replicas", str(auto.min_replicas), MIN_REPLICAS),
                    Reply("(?i)maximum number of replicas", str(auto.max_replicas), MAX_REPLICAS)]
    replies.append(Reply("(?i)enable linkerd", _yes(scaling.linkerd), ENABLE_LINKERD))
    return replies


def _high_availability(ha: Ha) -> list[Reply]:
    replies = [Reply("(?i)enable high availability mode", _yes(ha.enabled), ENABLE_HA)]
    if ha.enabled:
        replies += [Reply("(?i)number of replicas for system services", str(ha.replicas), SYSTEM_REPLICAS),
                    Reply("(?i)time of moving application services", str(ha.failover_seconds),
                          FAILOVER_SECONDS)]
    return replies


def install_replies(install: Install, scaling: Scaling) -> list[Reply]:
    """What the installer is told. HA is never switched on here: it needs the joined nodes."""
    return _site_answers(install) + _external_services(install) + _autoscaling(scaling)


def settings_replies(install: Install, scaling: Scaling, ha: Ha) -> list[Reply]:
    """What `elma365ctl reconfigure` is told: it asks every setting again, so answer all of them."""
    return install_replies(install, scaling) + _high_availability(ha)


# ---------------------------------------------------------------- masking

_PLAIN = re.compile(r"(?i)(y|n|yes|no|\d+)")


def masked_texts(replies: list[Reply]) -> list[str]:
    """Every answer that is or could be a secret: all but a plain y/n/yes/no or whole number, and
    the password inside a connection string too (a tool may print it on its own). Longest first,
    so that an answer is masked whole before any part of it."""
    found: set[str] = set()
    for reply in replies:
        text = reply.text
        if not text.strip() or _PLAIN.fullmatch(text.strip()):
            continue
        found.add(text)
        try:
            password = urlsplit(text).password
        except ValueError:
            password = None
        if password and len(password) >= 4:
            found.add(password)
    return sorted(found, key=lambda t: (-len(t), t))


# ---------------------------------------------------------------- the driver

def _b64(text: str) -> str:
    """One Tcl word: the base64 of `text` (nothing in it is special to Tcl), `{}` for an empty text,
    which would otherwise be no word at all and shift every answer after it."""
    return base64.b64encode(text.encode()).decode() or "{}"


def _plain_word(text: str) -> str:
    """A value the driver holds in plain Tcl: our own paths and names, never a user's text."""
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", text):
        raise ValueError(f"not a plain path or name: {text!r}")
    return text


def expect_driver(replies: list[Reply], *, tool: str, question_timeout: int, timeout_minutes: int,
                  transcript: str = "installer", transcript_dir: str = TRANSCRIPT_DIR,
                  progress_seconds: int = 60) -> str:
    """An expect script (components/scripts/answer-driver.exp) that runs `argv` on a terminal and
    answers its questions.

    A question is the unfinished last line of output. It is answered as soon as a reply's regular
    expression matches it; if the tool then falls silent for `question_timeout` seconds on a line
    that reads like a question (ends in ?, :, ] or )) and nothing matched, the step fails naming it.

    Nothing the tool prints (nor the terminal's echo of an answer) goes to the step's output: it
    goes to the run's transcript, `<transcript_dir>/<transcript>-<UTC time>.log` (root-only),
    complete lines at a time with every answer in `masked_texts` masked (an answer split across
    output chunks is whole by then); the unfinished last line is masked and written when the tool
    ends. A failed run prints the transcript's last lines and its path. Every `progress_seconds`
    the driver prints how long the tool has run and the last question it answered: the loop wakes
    every second and keeps a clock, so neither a chatty tool nor a silent one stops it."""
    # base64 words (Raw): nothing in them is special to Tcl
    pairs = " ".join(f"{_b64(r.pattern)} {_b64(r.text)}" for r in replies)
    regexps = " ".join(_b64(r.regexp) for r in replies)
    masks = " ".join(_b64(t) for t in masked_texts(replies))
    name, where = _plain_word(transcript), _plain_word(transcript_dir)
    return fill("answer-driver.exp", tool=Text(tool), pairs=Raw(pairs), regexps=Raw(regexps), masks=Raw(masks),
                mask=MASK, transcript=Text(name), where=where, question_timeout=int(question_timeout),
                progress_seconds=int(progress_seconds), timeout_minutes=int(timeout_minutes),
                timeout_seconds=int(timeout_minutes) * 60, tail_from_end=TRANSCRIPT_TAIL - 1,
                transcripts_kept=TRANSCRIPTS_KEPT) + "\n"
