"""Scripts are files filled by name: every value quoted, nothing left unfilled, nothing filled in vain."""
import subprocess

import pytest

from components.render.template import QUOTERS, SCRIPTS, Both, Raw, TemplateError, Text, fill_text, tcl_quote


def test_a_value_is_one_shell_word_whatever_it_holds():
    hostile = "a b'; rm -rf / #$(id)`x`\n"
    script = fill_text('printf "%s" {{v}}', {"v": hostile})
    assert subprocess.run(["sh", "-c", script], capture_output=True, text=True).stdout == hostile


def test_raw_goes_in_as_it_is():
    assert fill_text("{{a}}\n{{b}}", {"a": "x y", "b": Raw("echo 'x y'")}) == "'x y'\necho 'x y'"


def test_a_placeholder_without_a_value_is_an_error():
    with pytest.raises(TemplateError, match="no value for placeholder.*cfg"):
        fill_text("cfg={{cfg}}", {})


def test_a_value_for_no_placeholder_is_an_error():
    with pytest.raises(TemplateError, match="for no placeholder: typo"):
        fill_text("cfg={{cfg}}", {"cfg": "/x", "typo": "y"})


def test_only_text_numbers_and_raw_are_filled_in():
    with pytest.raises(TemplateError, match="must be text"):
        fill_text("{{x}}", {"x": True})
    assert fill_text("n={{n}}", {"n": 3}) == "n=3"


def test_a_list_is_its_words_each_quoted():
    assert fill_text("for x in {{xs}}; do", {"xs": ["a", "b c", 3]}) == "for x in a 'b c' 3; do"
    assert fill_text("[list {{xs}}]", {"xs": ("a", "b c")}, quote=tcl_quote) == "[list a {b c}]"
    with pytest.raises(TemplateError, match="must be text"):
        fill_text("{{xs}}", {"xs": [None]})


def test_text_inside_a_quoted_string_goes_in_as_it_is_only_when_nothing_in_it_is_special_there():
    assert fill_text('echo "on {{n}}:{{p}} {{w}}"', {"n": Text("node-1.example"), "p": Text("fd00::1"),
                                                       "w": Text("the settings (HA mode) change")}) == \
        'echo "on node-1.example:fd00::1 the settings (HA mode) change"'
    for bad in ("$(id)", 'x"y', "a'b", "`x`", "a\\b", "a\nb", "{x}", "%s", ""):
        with pytest.raises(TemplateError, match="not plain text"):
            fill_text('echo "{{n}}"', {"n": Text(bad)})
    with pytest.raises(TemplateError, match="not plain text"):
        fill_text('puts "{{n}}"', {"n": Text("[exit]")}, quote=tcl_quote)


def test_a_value_used_as_a_word_and_in_a_message_is_given_once():
    assert fill_text('drain {{node}}; echo "{{node_text}} drained"', {"node": Both("elma365-2")}) == \
        'drain elma365-2; echo "elma365-2 drained"'
    # each form is checked as if given alone: the word quoted, the text plain, both used
    assert fill_text('{{n}} "{{n_text}}"', {"n": Both("a b")}) == """'a b' "a b\""""
    with pytest.raises(TemplateError, match="not plain text"):
        fill_text('{{n}} "{{n_text}}"', {"n": Both("$(id)")})
    with pytest.raises(TemplateError, match="for no placeholder: n_text"):
        fill_text("{{n}}", {"n": Both("x")})


def test_every_script_file_is_in_a_known_language():
    files = sorted(SCRIPTS.glob("*"))
    assert files, "components/scripts is empty"
    assert [p.name for p in files if p.suffix not in QUOTERS] == []


@pytest.mark.parametrize("text", ["plain", "two words", "a{b}c", "x}y{", "back\\slash", "$dollar [cmd]", "", "line\nbreak"])
def test_a_tcl_word_is_exactly_the_text(text, tmp_path):
    script = tmp_path / "t.tcl"
    script.write_text(f"puts -nonewline [set v {tcl_quote(text)}]; flush stdout\n")
    out = subprocess.run(["expect", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == text
