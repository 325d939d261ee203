"""``grader similar``: which students of a class wrote code that is most alike, a hint for a
human to look at, never a verdict.

The class comes from the same SOURCE ``grader batch`` reads (a folder of submissions, or a
Moodle, Canvas or GitHub Classroom download, a folder or its .zip): grader.batch.sources opens
it, unpacks each student's archives and names the students. Of each student's project (the
folder of its manage.py) only their own code counts: the Python files and the templates
(``.html`` under a ``templates`` folder), not migrations (Django writes them from the models),
virtual environments, caches or version control. The starter students received is the
boilerplate: copydetect (winnowed fingerprints of the tokenised code, names and strings
stood for by one letter, so renaming hides nothing) leaves out every fingerprint the starter
has, so untouched starter code scores 0. So is code that half the class
has (at least 5 students): the idioms everyone writes are not a pair's.

For each pair of students (A, B): the share of A's own code also found in B's, and of B's in
A's (they differ when one wrote more than the other), and the files that hold it. The pairs
are ranked by the larger share; ``similar.html`` shows the closest with the matching code
highlighted, ``similar.csv`` lists every pair at or above the threshold.

copydetect is an optional dependency (the ``similar`` extra): :func:`require` says how to
install it when it is missing.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import discover, fstree, rubric
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS

INSTALL = "pip install 'django-signals-grader[similar]'  (or: pip install copydetect)"
NOISE = 25  # copydetect's defaults: the shortest match that counts (filtered characters) ...
GUARANTEE = 25  # ... and the one always found; the winnowing window is their difference + 1
DEFAULT_THRESHOLD = 0.25
# Code that this share of the class (and at least COMMON_MIN students) has is common, as the
# starter's is: Django's idioms and the lesson's examples, not anyone's copy.
COMMON_SHARE = 0.5
COMMON_MIN = 5
DEFAULT_TOP = 20
MAX_FILE_BYTES = 256 * 1024  # a larger file is not hand-written code
LANGUAGES = {".py": "python", ".html": "html+django"}
SKIPPED_DIRS = frozenset({"migrations", "static", "media", "node_modules"})
HINT = (
    "A hint for a human, never a verdict: similar code is often shared for good reasons (the "
    "lesson's own examples, the same tutorial, Django's idioms). Read both submissions before "
    "drawing any conclusion."
)


class SimilarError(Exception):
    """What the command cannot do, said for the instructor (copydetect missing, no starter,
    fewer than two students)."""


def require() -> Any:
    """copydetect, or SimilarError saying how to install it."""
    try:
        import copydetect
    except ImportError:
        raise SimilarError(f"grader similar needs copydetect, which is not installed: {INSTALL}") from None
    return copydetect


# ----------------------------------------------------------------------------- whose code


@dataclass
class Student:
    id: str
    name: str
    root: Path  # the project (manage.py's folder), or the submission's folder (maybe gone: unpacked)
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    assignment: str | None = None  # what the project's marker file names

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id


def own_files(root: Path) -> dict[str, str]:
    """The student's own code under `root`: .py files and templates (see the module's
    docstring), as text (undecodable bytes replaced)."""
    out: dict[str, str] = {}
    try:
        entries = list(fstree.walk(Path(root), COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS)))
    except fstree.TreeLimit:
        return out
    for entry in entries:
        if entry.kind != "file":
            continue
        parts = entry.rel.split("/")
        if any(p in SKIPPED_DIRS or p in discover.IGNORED_DIRS or p.startswith(".") for p in parts[:-1]):
            continue
        suffix = Path(parts[-1]).suffix.lower()
        if suffix not in LANGUAGES or (suffix == ".html" and "templates" not in parts[:-1]):
            continue
        if entry.st.st_size > MAX_FILE_BYTES:
            continue
        try:
            out[entry.rel] = Path(entry.path).read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
    return out


def project_root(folder: Path) -> Path:
    try:
        return discover.find_project_root(folder)
    except discover.DiscoveryError:
        return folder


@dataclass
class Class:
    students: list[Student]
    notes: list[str]
    layout: str


def read_class(source: Path, layout: str = "auto", roster: Path | None = None) -> Class:
    """The students of SOURCE with their own files (grader.batch.sources, as `grader batch`
    reads it). Raises SimilarError."""
    from grader import platforms
    from grader.batch.errors import BatchError
    from grader.batch.sources import open_source

    try:
        listed = platforms.read_roster(roster) if roster is not None else None
    except platforms.RosterError as exc:
        raise SimilarError(str(exc)) from None
    scratch = Path(tempfile.mkdtemp(prefix="grader-similar-"))
    try:
        try:
            opened = open_source(source, scratch / "out", scratch, layout, listed)
        except BatchError as exc:
            raise SimilarError(str(exc)) from None
        try:
            notes = list(opened.notes)
            students = []
            for sub in opened.submissions:
                root = project_root(sub.path)
                name = sub.identity.name if sub.identity is not None else ""
                student = Student(sub.student, name, root, own_files(root), rubric.named_by(root))
                if not student.files:
                    notes.append(f"{student.label}: no Python files or templates to compare; left out")
                    continue
                students.append(student)
            notes += [f"{sid}: left out ({why})" for sid, why in sorted(opened.rejected.items())]
            return Class(students, notes, opened.layout)
        finally:
            opened.cleanup()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def default_starter(students: list[Student], assignment: str | None = None) -> Path:
    """The starter students received: `assignment`'s, else that of the assignment the
    submissions' marker files name (the most of them), else that of the only assignment the
    grader knows. Raises SimilarError."""
    name = assignment
    if name is None:
        named = Counter(s.assignment for s in students if s.assignment)
        if named:
            name = named.most_common(1)[0][0]
    try:
        found = rubric.find(name)
    except rubric.RubricError as exc:
        raise SimilarError(f"{exc}; or give the starter's folder with --starter DIR") from None
    if found.starter_dir is None:
        raise SimilarError(f"{found.name} has no starter: give the starter's folder with --starter DIR")
    return found.starter_dir


# ----------------------------------------------------------------------------- fingerprints


@dataclass
class Fingerprinted:
    rel: str
    text: str
    print: Any  # copydetect.CodeFingerprint


def _language(rel: str) -> str:
    return LANGUAGES.get(Path(rel).suffix.lower(), "python")


def boilerplate(files: dict[str, str]) -> Any:
    """Every k-gram hash of the starter's files (copydetect's boilerplate: window 1)."""
    import numpy as np

    cd = require()
    hashes: list[Any] = []
    for rel, text in files.items():
        hashes.extend(
            cd.CodeFingerprint(rel, NOISE, 1, filter=True, language=_language(rel), fp=io.StringIO(text)).hashes
        )
    return np.unique(np.array(hashes, dtype=np.int64))


def fingerprints(student: Student, starter: Any) -> list[Fingerprinted]:
    cd = require()
    out = []
    for rel, text in sorted(student.files.items()):
        fp = cd.CodeFingerprint(
            rel, NOISE, GUARANTEE - NOISE + 1, boilerplate=starter, language=_language(rel), fp=io.StringIO(text)
        )
        if fp.token_coverage > 0:
            out.append(Fingerprinted(rel, text, fp))
    return out


@dataclass
class Match:
    """The part of one student's file also found in the other student's code."""

    rel: str
    text: str
    slices: Any  # 2×N array of [start, end) in `text`
    tokens: float


@dataclass
class Side:
    student: Student
    share: float  # of the student's own code (tokens), the part also in the other's
    matches: list[Match]

    @property
    def files(self) -> list[str]:
        return [m.rel for m in self.matches]


@dataclass
class Pair:
    a: Side
    b: Side

    @property
    def similarity(self) -> float:
        return max(self.a.share, self.b.share)


def _side(student: Student, mine: list[Fingerprinted], theirs: set[Any]) -> Side:
    import numpy as np

    cd = require()
    total = sum(f.print.token_coverage for f in mine)
    matches = []
    copied = 0.0
    for f in mine:
        shared = f.print.hashes & theirs
        if not shared:
            continue
        idx = np.concatenate([np.array(f.print.hash_idx[h]) for h in shared])
        slices = cd.utils.get_copied_slices(idx, f.print.k)
        tokens = float(np.sum(slices[1] - slices[0]))
        if tokens <= 0:
            continue
        copied += tokens
        offsets = f.print.offsets
        if len(offsets) > 0:  # from the filtered code back to the student's text (as copydetect does)
            slices = slices + offsets[:, 1][np.clip(np.searchsorted(offsets[:, 0], slices), 0, offsets.shape[0] - 1)]
        matches.append(Match(f.rel, f.text, slices.astype(int), tokens))
    share = min(float(copied / total), 1.0) if total else 0.0
    return Side(student, share, sorted(matches, key=lambda m: -m.tokens))


def common_hashes(prints: dict[str, list[Fingerprinted]]) -> set[Any]:
    """The fingerprints that at least COMMON_SHARE of the students (and COMMON_MIN) have: the
    idioms everyone writes (``def ready(self): from . import signals``), not copying."""
    need = max(COMMON_MIN, COMMON_SHARE * len(prints))
    counts: Counter[Any] = Counter()
    for files in prints.values():
        counts.update(set().union(*(f.print.hashes for f in files)))
    return {h for h, n in counts.items() if n >= need}


def compare(students: list[Student], starter_files: dict[str, str]) -> list[Pair]:
    """Every pair of students with some code in common (beyond the starter's and what most of
    the class shares), the closest first."""
    import numpy as np

    starter = boilerplate(starter_files)
    prints = {s.id: fingerprints(s, starter) for s in students}
    common = common_hashes(prints)
    if common:
        starter = np.union1d(starter, np.array(sorted(common), dtype=np.int64))
        prints = {s.id: fingerprints(s, starter) for s in students}
    union = {s.id: set().union(*(f.print.hashes for f in prints[s.id])) for s in students}
    pairs = []
    for i, a in enumerate(students):
        for b in students[i + 1 :]:
            if not union[a.id] & union[b.id]:
                continue
            pair = Pair(_side(a, prints[a.id], union[b.id]), _side(b, prints[b.id], union[a.id]))
            if pair.similarity > 0:
                pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.similarity, p.a.student.id, p.b.student.id))


# ----------------------------------------------------------------------------- the reports


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def build_csv(pairs: list[Pair]) -> str:
    from grader import gradebook

    out = io.StringIO()
    import csv

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["rank", "student_a", "name_a", "student_b", "name_b", "a_in_b", "b_in_a", "files_a", "files_b"])
    for n, p in enumerate(pairs, 1):
        writer.writerow(
            [
                n,
                gradebook.csv_cell(p.a.student.id),
                gradebook.csv_cell(p.a.student.name),
                gradebook.csv_cell(p.b.student.id),
                gradebook.csv_cell(p.b.student.name),
                f"{p.a.share:.3f}",
                f"{p.b.share:.3f}",
                gradebook.csv_cell(" ".join(p.a.files)),
                gradebook.csv_cell(" ".join(p.b.files)),
            ]
        )
    return out.getvalue()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _e(text: str) -> str:
    return html.escape(_CONTROL.sub("", text or ""))


def _highlighted(match: Match, context: int = 3) -> str:
    """The file with the matching parts marked, far-off unmatched lines left out."""
    text, slices = match.text, match.slices
    out, pos = [], 0
    for start, end in sorted(zip(slices[0].tolist(), slices[1].tolist())):
        start, end = max(start, pos), max(end, pos)
        if start > pos:
            out.append(("", text[pos:start]))
        if end > start:
            out.append(("mark", text[start:end]))
        pos = end
    if pos < len(text):
        out.append(("", text[pos:]))
    parts = []
    for n, (kind, chunk) in enumerate(out):
        if kind:
            parts.append(f"<mark>{_e(chunk)}</mark>")
            continue
        lines = chunk.split("\n")
        if len(lines) > 2 * context + 1:
            head = lines[: context + 1] if n > 0 else []
            tail = lines[-context - 1 :] if n < len(out) - 1 else []
            chunk = "\n".join(head) + ("\n" if head else "") + "…\n" + "\n".join(tail)
        parts.append(_e(chunk))
    return "".join(parts)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
.hint { background: #fff6d6; border: 1px solid #e5c65c; padding: .8rem 1rem; border-radius: 6px; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
td.n { text-align: right; } section { margin-top: 2rem; } .sides { display: flex; gap: 1rem; }
.side { flex: 1; min-width: 0; } pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: 85%; }
mark { background: #ffd08a; } h3 { margin-bottom: .2rem; } .notes { color: #555; }
"""


def build_html(pairs: list[Pair], students: int, top: int, threshold: float, notes: list[str], source: str) -> str:
    shown = pairs[:top]
    rows = []
    for n, p in enumerate(pairs, 1):
        link = f'<a href="#pair-{n}">{n}</a>' if n <= top else str(n)
        rows.append(
            f"<tr><td class=n>{link}</td><td>{_e(p.a.student.label)}</td><td>{_e(p.b.student.label)}</td>"
            f"<td class=n>{percent(p.a.share)}</td><td class=n>{percent(p.b.share)}</td>"
            f"<td>{_e(', '.join(sorted(set(p.a.files) | set(p.b.files))))}</td></tr>"
        )
    sections = []
    for n, p in enumerate(shown, 1):
        sides = []
        for side, other in ((p.a, p.b), (p.b, p.a)):
            files = (
                "".join(f"<h4>{_e(m.rel)}</h4><pre>{_highlighted(m)}</pre>" for m in side.matches) or "<p>(nothing)</p>"
            )
            sides.append(
                f"<div class=side><h3>{_e(side.student.label)}</h3><p>{percent(side.share)} of this "
                f"student's own code is also in {_e(other.student.label)}'s.</p>{files}</div>"
            )
        sections.append(
            f'<section id="pair-{n}"><h2>{n}. {_e(p.a.student.label)} and {_e(p.b.student.label)}</h2>'
            f"<div class=sides>{''.join(sides)}</div></section>"
        )
    table = (
        "<table><tr><th>#</th><th>A</th><th>B</th><th>A's code in B's</th><th>B's code in A's</th><th>files</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else f"<p>No pair of students shares {percent(threshold)} or more of their own code.</p>"
    )
    note_list = "".join(f"<li>{_e(n)}</li>" for n in notes)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>Similar code: {_e(source)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Similar code: {_e(source)}</h1>"
        f"<p class=hint><strong>{_e(HINT)}</strong></p>"
        f"<p>{students} students compared on their own Python files and templates (the starter's "
        f"code left out); {len(pairs)} pair(s) at or above {percent(threshold)}, the closest "
        f"{len(shown)} shown with the code in common marked.</p>"
        + table
        + "".join(sections)
        + (f"<h2>Notes</h2><ul class=notes>{note_list}</ul>" if notes else "")
        + "</body></html>\n"
    )


@dataclass
class Written:
    html: Path
    csv: Path
    pairs: list[Pair]
    students: int
    notes: list[str]
    layout: str


def run(
    source: Path,
    output: Path,
    *,
    starter: Path | None = None,
    assignment: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
    layout: str = "auto",
    roster: Path | None = None,
) -> Written:
    """Compare the class in `source` and write similar.html and similar.csv into `output`.
    Raises SimilarError."""
    from grader.renderers import write_atomic

    require()
    found = read_class(source, layout, roster)
    if len(found.students) < 2:
        raise SimilarError(
            f"{source} holds {len(found.students)} student(s) with code to compare: there is nothing to pair"
            + (f" ({'; '.join(found.notes[:3])})" if found.notes else "")
        )
    starter_dir = Path(starter) if starter is not None else default_starter(found.students, assignment)
    if not starter_dir.is_dir():
        raise SimilarError(f"the starter {starter_dir} is not a folder")
    pairs = [p for p in compare(found.students, own_files(project_root(starter_dir))) if p.similarity >= threshold]
    output = Path(output)
    html_path, csv_path = output / "similar.html", output / "similar.csv"
    notes = [f"starter (boilerplate): {starter_dir.name}", *found.notes]
    write_atomic(csv_path, build_csv(pairs))
    write_atomic(html_path, build_html(pairs, len(found.students), top, threshold, notes, Path(source).name))
    return Written(html_path, csv_path, pairs, len(found.students), notes, found.layout)
