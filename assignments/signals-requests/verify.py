"""signals-requests: what the grading database says about the counts a hidden test saw.

The hidden tests read RequestStats through the project's model (which a submission could fake
in memory: an overridden from_db() or refresh_from_db()) and, at the same moment, with plain SQL.
They note both at every step ("claimed": what the model read and the test accepted, "stored":
what the table held). Run by the grader after the child has exited: never student code.
"""


def _pair(text):
    started, _, finished = str(text).partition(",")
    return int(started), int(finished)


def counts_stored(run):
    """Every count the test accepted is what the table held at that moment, and the row the
    grader reads now holds at least the last of them (counts only go up)."""
    claimed, stored = run.notes.get("claimed", []), run.notes.get("stored", [])
    if not claimed:
        return "the test noted no counts"
    if len(claimed) != len(stored):
        return f"the test noted {len(claimed)} counts but {len(stored)} readings of the table"
    for step, (seen, held) in enumerate(zip(claimed, stored), 1):
        if seen != held:
            return (
                f"at step {step} the model read started,finished = {seen}, but the table held "
                f"{held}: the counts were not in the database"
            )
    rows = run.query("SELECT {stats.started}, {stats.finished} FROM {stats} WHERE {stats.pk} = 1")
    if not rows:
        return "the RequestStats row pk=1 is not in the database"
    last = _pair(claimed[-1])
    if rows[0][0] is None or rows[0][1] is None or rows[0][0] < last[0] or rows[0][1] < last[1]:
        return (
            f"the test saw started,finished = {claimed[-1]}, but the database ends with "
            f"{rows[0][0]},{rows[0][1]}: counts never go down"
        )
    return None
