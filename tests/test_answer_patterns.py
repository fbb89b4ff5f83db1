"""The built-in answers recognise a question by its meaning, checked with the real Tcl regexp engine
(the driver is Tcl run by expect): each built-in against rewordings of its question, and against
every other built-in's questions, which it must leave alone. The site's own answers come first."""
from __future__ import annotations

import base64
import dataclasses
import shutil
import subprocess
import textwrap

import pytest

from components.render.answers import SERVICE_LABELS, Reply, expect_driver, settings_replies
from components.site import Autoscaling, Answer, Scaling, Secret, parse_site
from tests.sites import SECRET_KEYS, example

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None or shutil.which("expect") is None,
                                reason="tclsh/expect are not installed (make test installs them)")

CONNECTIONS = {"postgresql": "postgres://elma365:pg-pw@db:5432/elma365", "mongodb": "mongodb://m:mongo-pw@mongo/e",
               "s3": "https://s3-key:s3-secret@s3.local/bucket", "redis": "redis://:redis-pw@redis:6379/0",
               "rabbitmq": "amqp://r:rabbit-pw@mq:5672/"}


def everything_site():
    """Every built-in in use, each number distinct: all external services, autoscaling, HA."""
    site = parse_site(example(), SECRET_KEYS)
    install = dataclasses.replace(site.install, answers=(),
                                  external_services={k: Secret(v) for k, v in CONNECTIONS.items()})
    return dataclasses.replace(site, install=install,
                               scaling=Scaling(autoscaling=Autoscaling(True, 2, 6), replicas={}, linkerd=True),
                               ha=dataclasses.replace(site.ha, enabled=True, replicas=4, failover_seconds=45))


SITE = everything_site()
BUILT_INS = {r.pattern: r for r in settings_replies(SITE.install, SITE.scaling, SITE.ha)}

# the question each built-in answers (by its name), as the lab's tools word it and reworded
QUESTIONS: dict[str, list[str]] = {
    "(?i)use custom connection string": [
        "Use custom connection string? [y/N]: ", "Do you want to use CUSTOM connection strings? ",
        "Connection strings - use your own? (y/n): ", "custom connection string (y/N)> "],
    "(?i)enable autoscaling": [
        "Enable autoscaling? [y/N]: ", "Do you want to turn on AUTO-SCALING? ",
        "Autoscaling: enable it (requires Linkerd)? [y/N]: ", "Should auto scaling be enabled?"],
    "(?i)minimum number of replicas": [
        "Minimum number of replicas: ", "Replicas, minimum:", "How many replicas at minimum (autoscaling)? ",
        "MIN REPLICAS (maximum 10):"],
    "(?i)maximum number of replicas": [
        "Maximum number of replicas: ", "Replicas, maximum: ", "What is the max replica count for autoscaling? ",
        "Maximum number of pods (minimum 1):"],
    "(?i)enable linkerd": [
        "Enable Linkerd? [Y/n]: ", "Use the LINKERD service mesh? ",
        "Linkerd (service mesh, needed for autoscaling) - enable? (y/n):"],
    "(?i)enable high availability mode": [
        "Enable high availability mode? [y/N]: ", "Do you want HA mode? ", "HIGH-AVAILABILITY: switch it on? (yes/no):",
        "Switch on high availability? "],
    "(?i)number of replicas for system services": [
        "Number of replicas for system services (minimum 3): ", "Number of system service replicas:",
        "How many replicas should system services run? ", "SYSTEM SERVICES - replica count:"],
    "(?i)time of moving application services": [
        "Time of moving application services from failed nodes, seconds (10-300): ", "Failover time, in seconds:",
        "How many seconds before application services move away from a failed node? ",
        "APPLICATION SERVICES: delay before moving them off a FAILED node (s):"],
}
for _label in SERVICE_LABELS.values():
    QUESTIONS[f"(?i)use external {_label}"] = [
        f"Use external {_label}? [y/N]: ", f"Should {_label.lower()} be an EXTERNAL service? ",
        f"{_label.upper()}: use an existing server of your own? (y/n):",
        f"Connect to an external {_label}? "]
    QUESTIONS[f"(?i){_label} connection string"] = [
        f"{_label} connection string: ", f"Connection string for {_label}: ", f"{_label.upper()} - CONNECTION URL:",
        f"Enter the external {_label.lower()} connection string: "]

# questions no built-in may answer: the site's own, and questions still arriving
NOBODY = ["Enter the domain name for ELMA365: ", "Send anonymous usage statistics? [y/N]: ", "Admin password: ",
          "Accept the license agreement? [y/N]: ", "Number of replicas for system services",
          "Use external PostgreSQL", "Minimum number of replicas", "Enable high availability mode",
          # the other way round: better unanswered (the step fails naming it) than answered backwards
          "Disable high availability mode? [y/N]: ", "Disable Linkerd? [y/N]: ", "Turn off autoscaling? ",
          "Do not use custom connection strings? ", "Use the bundled PostgreSQL? [Y/n]: ",
          "Skip external Redis? (y/n): "]

MATCHER = textwrap.dedent("""\
    proc decoded {b64} { return [encoding convertfrom utf-8 [binary decode base64 $b64]] }
    set regexps {}
    foreach r [split [gets stdin] " "] { lappend regexps [decoded $r] }
    while {[gets stdin question] >= 0} {
        set question [decoded $question]
        set hits {}
        set i 0
        foreach matcher $regexps {
            if {[regexp -- $matcher $question]} { lappend hits $i }
            incr i
        }
        puts $hits
    }
    """)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def tcl_matches(tmp_path, replies: list[Reply], questions: list[str]) -> list[list[int]]:
    """For each question, the indexes of the replies whose regexp Tcl's `regexp` matches on it, as the driver does."""
    script = tmp_path / "matcher.tcl"
    script.write_text(MATCHER)
    stdin = " ".join(b64(r.regexp) for r in replies) + "\n" + "".join(b64(q) + "\n" for q in questions)
    done = subprocess.run(["tclsh", str(script)], input=stdin, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [[int(i) for i in line.split()] for line in done.stdout.splitlines()]


def test_every_built_in_is_tested_with_at_least_three_rewordings():
    assert set(QUESTIONS) == set(BUILT_INS)
    assert all(len(set(asked)) >= 3 for asked in QUESTIONS.values())
    assert all(r.meaning for r in BUILT_INS.values())


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_a_built_in_answers_its_question_however_it_is_worded_and_no_other_does(tmp_path, name):
    replies = list(BUILT_INS.values())
    found = tcl_matches(tmp_path, replies, QUESTIONS[name])
    for asked, hits in zip(QUESTIONS[name], found):
        assert [replies[i].pattern for i in hits] == [name], (asked, [replies[i].pattern for i in hits])
        assert replies[hits[0]].text == BUILT_INS[name].text


def test_the_values_each_question_gets():
    values = {name: r.text for name, r in BUILT_INS.items()}
    assert values["(?i)minimum number of replicas"] == "2" and values["(?i)maximum number of replicas"] == "6"
    assert values["(?i)number of replicas for system services"] == "4"
    assert values["(?i)time of moving application services"] == "45"
    assert values["(?i)PostgreSQL connection string"] == CONNECTIONS["postgresql"]
    assert values["(?i)enable high availability mode"] == values["(?i)enable autoscaling"] == "y"


def test_questions_for_someone_else_or_still_arriving_get_no_built_in_answer(tmp_path):
    assert tcl_matches(tmp_path, list(BUILT_INS.values()), NOBODY) == [[]] * len(NOBODY)


def test_the_cases_that_come_closest(tmp_path):
    replies = list(BUILT_INS.values())
    names = [r.pattern for r in replies]

    def answered_by(question: str) -> list[str]:
        return [names[i] for i in tcl_matches(tmp_path, replies, [question])[0]]

    assert answered_by("Enable high availability mode? [y/N]: ") == ["(?i)enable high availability mode"]
    assert answered_by("Maximum number of replicas: ") == ["(?i)maximum number of replicas"]
    assert answered_by("Number of replicas for system services (minimum 3): ") == [
        "(?i)number of replicas for system services"]
    assert answered_by("PostgreSQL connection string: ") == ["(?i)PostgreSQL connection string"]
    assert answered_by("Use external PostgreSQL? [y/N]: ") == ["(?i)use external PostgreSQL"]
    assert answered_by("Use custom connection string? [y/N]: ") == ["(?i)use custom connection string"]


def test_the_site_s_own_answers_come_first(tmp_path):
    values = example()
    values["install"]["answers"] = [{"prompt": "(?i)linkerd", "answer": "n"},
                                    {"prompt": "(?i)system services", "answer": "5"}]
    site = dataclasses.replace(SITE, install=dataclasses.replace(
        SITE.install, answers=tuple(Answer(a["prompt"], Secret(a["answer"])) for a in values["install"]["answers"])))
    replies = settings_replies(site.install, site.scaling, site.ha)
    assert [r.pattern for r in replies[:2]] == ["(?i)linkerd", "(?i)system services"]
    first = [hits[0] for hits in tcl_matches(tmp_path, replies, ["Use the LINKERD service mesh? ",
                                                                 "How many replicas should system services run? "])]
    assert [replies[i].text for i in first] == ["n", "5"]


# the driver itself, with a stand-in tool that words every question its own way
REWORDED = textwrap.dedent("""\
    #!/bin/bash
    [ -t 0 ] || { echo "needs a terminal" >&2; exit 9; }
    for q in "Use the LINKERD service mesh? " "HIGH-AVAILABILITY: switch it on? (yes/no):" \\
             "How many replicas should system services run? " "Failover time, in seconds:" \\
             "Replicas, maximum: " "Connection string for PostgreSQL: " "Do you want HA mode? "; do
      read -r -p "$q" answer
      printf '%s=%s\\n' "$q" "$answer" >> "$OUT"
    done
    """)


def test_the_driver_answers_reworded_questions_site_answers_first(tmp_path):
    site = dataclasses.replace(SITE, install=dataclasses.replace(SITE.install, answers=(
        Answer("(?i)service mesh", Secret("n")),)))
    tool = tmp_path / "tool.sh"
    tool.write_text(REWORDED)
    tool.chmod(0o755)
    driver = tmp_path / "driver.exp"
    driver.write_text(expect_driver(settings_replies(site.install, site.scaling, site.ha), tool="elma365ctl reconfigure", question_timeout=2,
                                    timeout_minutes=1, transcript="reconfigure",
                                    transcript_dir=str(tmp_path / "log")))
    out = tmp_path / "out"
    done = subprocess.run(["expect", "-f", str(driver), "--", str(tool)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "OUT": str(out)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_text().splitlines() == [
        "Use the LINKERD service mesh? =n",
        "HIGH-AVAILABILITY: switch it on? (yes/no):=y",
        "How many replicas should system services run? =4",
        "Failover time, in seconds:=45",
        "Replicas, maximum: =6",
        f"Connection string for PostgreSQL: ={CONNECTIONS['postgresql']}",
        "Do you want HA mode? =y",
    ]
