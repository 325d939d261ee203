"""Issue 27: the names the grader makes from names it did not choose (grader/names.py), and
the text it shows of them (renderers/safe.py, gradebook.csv_cell): bounded in bytes, cut on
character boundaries and kept distinct, without bidi or control characters, never hidden."""

from __future__ import annotations

import pytest

from grader import archives, gradebook, names, platforms
from grader.renderers import safe

BIDI = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
]


def utf8(text: str) -> int:
    return len(text.encode("utf-8"))


# ------------------------------------------------------------------ fit and component


def test_fit_bounds_bytes_on_a_character_boundary_and_keeps_names_distinct():
    assert names.fit("short") == "short"
    long_a, long_b = "é" * 150 + "a", "é" * 150 + "b"  # 301 bytes each, one prefix
    cut_a, cut_b = names.fit(long_a), names.fit(long_b)
    assert utf8(cut_a) <= names.MAX_NAME_BYTES and utf8(cut_b) <= names.MAX_NAME_BYTES
    assert cut_a != cut_b and cut_a.startswith("é" * 90)
    cut_a.encode("utf-8", "strict")  # no half character
    # An end worth keeping (an extension, a participant id) is kept whole.
    moodle = "Ü" * 300 + "_4711_assignsubmission_file_"
    kept = names.fit(moodle, 200, tail=100)
    assert utf8(kept) <= 200 and kept.endswith("_4711_assignsubmission_file_") and kept.startswith("Ü")
    assert names.fit("x" * 300 + ".zip", 120, tail=60).endswith(".zip")


@pytest.mark.parametrize(
    "raw, made",
    [
        ("ada", "ada"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),
        (".alice", "_alice"),
        (".", "_"),
        ("..", "_."),
        ("", "_"),
        ("bob\u202eevil\u2066", "bobevil"),  # bidi controls removed
        ("tab\there\nnl\x1b[31m", "tab_here_nl_[31m"),  # control characters as _
        ("M\udcfcller", "M\ufffdller"),  # an undecodable byte as U+FFFD
        ("\u202e..", "_."),  # never '..' once the bidi is gone
    ],
)
def test_component_is_one_safe_visible_name(raw, made):
    assert names.component(raw) == made


def test_component_of_names_that_differ_only_in_what_it_replaces_stay_distinct_when_cut():
    a, b = names.component("x" * 300 + "/"), names.component("x" * 300 + ":")
    assert a != b and utf8(a) <= names.MAX_NAME_BYTES and utf8(b) <= names.MAX_NAME_BYTES
    for bidi in BIDI:
        assert bidi not in names.component(f"a{bidi}b")


def test_member_names_are_cut_only_past_what_a_file_system_takes():
    assert names.member("x" * 255) == "x" * 255
    long = "Ä" * 200 + "_102_assignsubmission_file_"  # 427 bytes: cannot be created
    cut = names.member(long)
    assert utf8(cut) <= names.MAX_NAME_BYTES and cut.endswith("_102_assignsubmission_file_")
    assert platforms.MOODLE.match(cut)["id"] == "102"
    assert names.member("a\u202eb\x00c\udcff") == "ab_c_"


def test_moodle_folder_keeps_moodles_rule_however_long_the_name():
    folder = names.moodle_folder("\u202eZ" * 2500 + "_x", "103")
    assert utf8(folder) <= names.MAX_NAME_BYTES and folder.endswith("_103_assignsubmission_file_")
    info = folder.split("_", 4)  # Moodle's own split
    assert info[1:4] == ["103", "assignsubmission", "file"] and "\u202e" not in folder
    assert names.moodle_folder("Z" * 5000 + "a", "1") != names.moodle_folder("Z" * 5000 + "b", "1")
    assert names.moodle_folder("Bob_Ross", "104") == "Bob Ross_104_assignsubmission_file_"
    assert names.moodle_folder(".hidden/../x", "5", end="") == "hidden .. x_5_assignsubmission_file"
    assert names.moodle_folder("", "6").startswith("Participant_6_")
    assert platforms.moodle_folder("Ada_Lovelace", "101") == "Ada Lovelace_101_assignsubmission_file_"


def test_student_ids_and_labels_are_text_without_controls():
    assert names.student_id(" \u202eM\udcfcller\x07 ") == "M\ufffdller_"
    assert names.student_id("\u200f") == "_"
    assert names.label("Ada\u2067\nLovelace\ud800") == "Ada Lovelace\ufffd"


def test_distinct_names_case_apart_and_reserved():
    distinct = names.Distinct({"summary"})
    assert [distinct(n) for n in ("a", "A", "a", "Summary")] == ["a", "A~2", "a~3", "Summary~2"]


# ------------------------------------------------------------------ text on pages and in sheets


def test_safe_text_removes_bidi_and_controls_and_shows_undecodable_bytes():
    text = safe.text("".join(BIDI) + "a\x00b\x1bc\x85d\te\nf\rg\udcff")
    assert text == "abcd\te\nf\rg\ufffd"
    assert safe.markdown("\u202e<b>|") == "&lt;b&gt;\\|"
    assert all(b not in safe.terminal("x" + b) for b in BIDI)


@pytest.mark.parametrize(
    "raw, cell",
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ('\u202e=HYPERLINK("x")', '\'=HYPERLINK("x")'),  # a formula once the bidi is gone
        ("\x00=1", "'=1"),
        ("-1.5", "-1.5"),
        ("10", "10"),
        ("Ada", "Ada"),
        ("M\udcfcller", "M\ufffdller"),
    ],
)
def test_csv_cells_are_never_formulas_and_never_hold_bidi(raw, cell):
    assert gradebook.csv_cell(raw) == cell


def test_every_sheet_goes_through_csv_cell():
    summary = {
        "assignment": "=cmd|' /C calc'!A0",
        "checks": [],
        "students": [
            {
                "student": "s\u202e1",
                "name": "@x",
                "platform": "canvas",
                "id": "+1",
                "login": "-l",
                "late": False,
                "score": 1.0,
                "max_score": 2.0,
                "status": "graded",
                "checks": {},
            }
        ],
    }
    canvas = gradebook.build_canvas_csv(summary)
    assert canvas.splitlines()[0].endswith(",'=cmd|' /C calc'!A0")
    assert "'@x,'+1,,'-l" in canvas and "\u202e" not in gradebook.build_csv(summary)


# ------------------------------------------------------------------ archives and downloads


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "C:/x",
        "c:x",
        "..\\..\\x",
        "\\\\server\\share\\x",
        "a/\u202e../x",
        "a/..\u200f/b",
    ],
)
def test_unsafe_member_names_are_refused(name):
    assert archives.member_parts(name) is None


def test_member_parts_make_names_the_grader_can_create():
    assert archives.member_parts("a/./b\u202e/c.py") == ["a", "b", "c.py"]
    parts = archives.member_parts("top/" + "n" * 300 + ".py")
    assert parts[0] == "top" and utf8(parts[1]) <= names.MAX_NAME_BYTES and parts[1].endswith(".py")


@pytest.mark.parametrize(
    "name, submission",
    [
        (".alice", True),
        ("..alice", True),
        (".x_101_9001_project.zip", True),
        ("alice", True),
        (".git", False),
        ("__MACOSX", False),
        (".DS_Store", False),
        ("Thumbs.db", False),
        ("._alice", False),
        (".Trash-1000", False),
        (".venv", False),
        ("node_modules", False),
        (".grader-batch.lock", False),
        (".report.json.abc123.tmp", False),
        (".idea", False),
        ("", False),
    ],
)
def test_only_the_graders_own_skip_list_is_not_a_submission(name, submission):
    assert platforms.is_submission(name) is submission
