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

from ..site import Site

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


def _site_answers(site: Site) -> list[Reply]:
    return [Reply(a.prompt, str(a.answer)) for a in site.install.answers]


def _external_services(site: Site) -> list[Reply]:
    chosen = site.install.external_services
    replies = [Reply("(?i)use custom connection string", _yes(bool(chosen)), CUSTOM_CONNECTION_STRINGS)]
    for name, label in SERVICE_LABELS.items():
        replies.append(Reply(f"(?i)use external {label}", _yes(name in chosen), use_external(name)))
        if name in chosen:
            replies.append(Reply(f"(?i){label} connection string", str(chosen[name]), connection_string(name)))
    return replies


def _autoscaling(site: Site) -> list[Reply]:
    auto = site.scaling.autoscaling
    if auto is None and not site.scaling.replicas:
        return []  # the site says nothing about scaling: its own answers must
    enabled = bool(auto and auto.enabled)
    replies = [Reply("(?i)enable autoscaling", _yes(enabled), ENABLE_AUTOSCALING)]
    if enabled:
        replies += [Reply("(?i)minimum number of replicas", str(auto.min_replicas), MIN_REPLICAS),
                    Reply("(?i)maximum number of replicas", str(auto.max_replicas), MAX_REPLICAS)]
    replies.append(Reply("(?i)enable linkerd", _yes(site.scaling.linkerd), ENABLE_LINKERD))
    return replies


def _high_availability(site: Site) -> list[Reply]:
    replies = [Reply("(?i)enable high availability mode", _yes(site.ha.enabled), ENABLE_HA)]
    if site.ha.enabled:
        replies += [Reply("(?i)number of replicas for system services", str(site.ha.replicas), SYSTEM_REPLICAS),
                    Reply("(?i)time of moving application services", str(site.ha.failover_seconds),
                          FAILOVER_SECONDS)]
    return replies


def install_replies(site: Site) -> list[Reply]:
    """What the installer is told. HA is never switched on here: it needs the joined nodes."""
    return _site_answers(site) + _external_services(site) + _autoscaling(site)


def settings_replies(site: Site) -> list[Reply]:
    """What `elma365ctl reconfigure` is told: it asks every setting again, so answer all of them."""
    return _site_answers(site) + _external_services(site) + _autoscaling(site) + _high_availability(site)


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
    return base64.b64encode(text.encode()).decode()


def _plain_word(text: str) -> str:
    """A value the driver holds in plain Tcl: our own paths and names, never a user's text."""
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", text):
        raise ValueError(f"not a plain path or name: {text!r}")
    return text


def expect_driver(replies: list[Reply], *, tool: str, question_timeout: int, timeout_minutes: int,
                  transcript: str = "installer", transcript_dir: str = TRANSCRIPT_DIR,
                  progress_seconds: int = 60) -> str:
    """An expect script that runs `argv` on a terminal and answers its questions.

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
    pairs = " ".join(f"{_b64(r.pattern)} {_b64(r.text)}" for r in replies)
    regexps = " ".join(_b64(r.regexp) for r in replies)
    masks = " ".join(_b64(t) for t in masked_texts(replies))
    name, where = _plain_word(transcript), _plain_word(transcript_dir)
    return f"""# generated by elma365-cluster; answers {tool}'s questions, fails on one it cannot answer
log_user 0
set timeout 1
set started [clock milliseconds]
set deadline [expr {{$started + {int(timeout_minutes) * 60} * 1000}}]
set question_ms [expr {{{int(question_timeout)} * 1000}}]
set progress_ms [expr {{{int(progress_seconds)} * 1000}}]
proc decoded {{b64}} {{ return [encoding convertfrom utf-8 [binary decode base64 $b64]] }}
# each answer: the question it answers (the site's own regular expression, or a built-in's name) and the text
set replies {{}}
foreach {{p a}} [list {pairs}] {{ lappend replies [decoded $p] [decoded $a] }}
# the regular expression each answer's question is recognised by, in the same order
set regexps {{}}
foreach r [list {regexps}] {{ lappend regexps [decoded $r] }}
# every answer that is or could be a secret (longest first), masked wherever the tool's output is shown
set masks {{}}
foreach m [list {masks}] {{ lappend masks [decoded $m] {{{MASK}}} }}
proc masked {{text}} {{ global masks; return [string map $masks $text] }}
proc elapsed {{}} {{
    global started
    set s [expr {{([clock milliseconds] - $started) / 1000}}]
    return [format "%dm %02ds" [expr {{$s / 60}}] [expr {{$s % 60}}]]
}}

# the transcript: a root-only file per run, the last {TRANSCRIPTS_KEPT} per tool kept
proc open_transcript {{}} {{
    file mkdir {where}
    file attributes {where} -permissions 0700
    set ms [clock milliseconds]
    set stamp [clock format [expr {{$ms / 1000}}] -format %Y%m%dT%H%M%S -timezone :UTC]
    set path [format "%s/{name}-%s.%03dZ.log" {where} $stamp [expr {{$ms % 1000}}]]
    set fh [open $path {{WRONLY CREAT EXCL}} 0600]
    fconfigure $fh -buffering line -encoding utf-8
    set runs [lsort [glob -nocomplain -types f -directory {where} {name}-*.log]]
    foreach old [lrange $runs 0 end-{TRANSCRIPTS_KEPT}] {{ file delete -- $old }}
    return [list $path $fh]
}}
if {{[catch open_transcript opened]}} {{
    puts stderr "WARNING: {tool} runs without a transcript: $opened"
    lassign {{"" ""}} transcript fh
}} else {{
    lassign $opened transcript fh
    puts $fh "# {tool}, started [clock format [clock seconds] -format {{%Y-%m-%d %H:%M:%S UTC}} -timezone :UTC]"
}}
set tail {{}}
set pending ""
proc record {{text}} {{  # complete lines (or the unfinished last one, at the end): masked, then kept
    global fh tail
    regsub -all {{\\x1b\\[[0-9;?]*[ -/]*[@-~]}} $text {{}} text
    set text [string map {{"\\r\\n" "\\n" "\\r" "\\n"}} [masked $text]]
    if {{[string index $text end] eq "\\n"}} {{ set text [string range $text 0 end-1] }}
    foreach l [split $text "\\n"] {{
        if {{$fh ne ""}} {{ catch {{puts $fh $l}} }}  ;# a full disk must not stop the tool
        lappend tail $l
    }}
    set tail [lrange $tail end-{TRANSCRIPT_TAIL - 1} end]
}}
proc finish {{status why}} {{
    global fh tail transcript pending
    if {{$pending ne ""}} {{ record $pending; set pending "" }}
    if {{$fh ne ""}} {{
        catch {{puts $fh "# [expr {{$status == 0 ? "finished" : "failed ($status)"}}] after [elapsed]"}}
        catch {{close $fh}}
    }}
    if {{$status != 0}} {{
        set from [expr {{$transcript eq "" ? "its output" : "the transcript $transcript"}}]
        puts stderr "the last [llength $tail] lines of $from:"
        foreach l $tail {{ puts stderr "| $l" }}
        puts stderr $why
    }} elseif {{$transcript ne ""}} {{
        puts stderr "transcript: $transcript"
    }}
    exit $status
}}
proc last_output {{}} {{
    global tail
    for {{set i [expr {{[llength $tail] - 1}}]}} {{$i >= 0}} {{incr i -1}} {{
        set l [string trim [lindex $tail $i]]
        if {{$l ne ""}} {{ return $l }}
    }}
    return ""
}}

spawn -noecho {{*}}$argv
set line ""
set answered 0
set question ""
set last_output [clock milliseconds]
set last_progress $last_output
while {{1}} {{
    expect {{
        -re {{.+}} {{
            set chunk $expect_out(0,string)
            set last_output [clock milliseconds]
            # to the transcript in complete lines only: an answer split across chunks is masked whole
            append pending $chunk
            set cut [string last "\\n" $pending]
            if {{$cut >= 0}} {{
                record [string range $pending 0 $cut]
                set pending [string range $pending [expr {{$cut + 1}}] end]
            }}
            append line $chunk
            set cut [expr {{max([string last "\\n" $line], [string last "\\r" $line])}}]
            if {{$cut >= 0}} {{
                set line [string range $line [expr {{$cut + 1}}] end]
                set answered 0
            }}
            if {{!$answered && [string trim $line] ne ""}} {{
                foreach {{pattern reply}} $replies matcher $regexps {{
                    if {{[regexp -- $matcher $line]}} {{
                        send -- "$reply\\r"
                        set question [masked [string trim $line]]
                        puts stderr "answered: $question"
                        set answered 1
                        break
                    }}
                }}
            }}
        }}
        timeout {{
            set asked [masked [string trim $line]]
            if {{!$answered && [clock milliseconds] - $last_output >= $question_ms && [regexp {{[?:\\])]$}} $asked]}} {{
                catch {{close}}
                catch {{wait}}
                finish 3 "ERROR: {tool} asked a question the site config does not answer: \\"$asked\\"\\nadd it to elma365:install.answers as {{prompt: <regular expression>, answer: <text>}}"
            }}
        }}
        eof {{ break }}
    }}
    set now [clock milliseconds]
    if {{$now > $deadline}} {{
        catch {{close}}
        catch {{wait}}
        finish 4 "ERROR: {tool} did not finish within {int(timeout_minutes)} minutes"
    }}
    if {{$now - $last_progress >= $progress_ms}} {{
        set last_progress $now
        puts stderr "{tool}: still running after [elapsed]; last question answered: \\"$question\\"; last output: \\"[last_output]\\""
    }}
}}
set result [wait]
set status [lindex $result 3]
if {{[lindex $result 2] != 0}} {{
    finish 1 "ERROR: {tool} could not be waited for: $result"
}} elseif {{[lindex $result 4] eq "CHILDKILLED"}} {{
    finish 1 "ERROR: {tool} was killed by [lindex $result 5]"
}} elseif {{$status != 0}} {{
    finish $status "ERROR: {tool} exited with status $status"
}}
finish 0 ""
"""
