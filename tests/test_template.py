"""Scripts are files filled by name: every value quoted, nothing left unfilled, nothing filled in vain."""
import subprocess

import pytest

from components.render.template import Raw, TemplateError, fill_text, tcl_quote


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


@pytest.mark.parametrize("text", ["plain", "two words", "a{b}c", "x}y{", "back\\slash", "$dollar [cmd]", "", "line\nbreak"])
def test_a_tcl_word_is_exactly_the_text(text, tmp_path):
    script = tmp_path / "t.tcl"
    script.write_text(f"puts -nonewline [set v {tcl_quote(text)}]; flush stdout\n")
    out = subprocess.run(["expect", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == text
