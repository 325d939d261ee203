"""Run settings handed over by the grader on stdin, filled in by bootstrap."""
SUBMISSION = ""
STUDENT_SETTINGS = ""
DB_PATH = ""
TOKEN = ""
MODELS: dict = {}  # role -> "app_label.Model": the models the exercise is about (rubric [models])
# The rubric's [connections]: hidden test -> {signal, sender role, ready role}.
CONNECTIONS: dict = {}


def exercise_app() -> str:
    """The label of the app the exercise is about: the app whose ready() a connection must be
    made in (rubric [connections]), else the app of the first model of [models]."""
    for spec in CONNECTIONS.values():
        ready = spec.get("ready", "")
        if ready and ready != "user":   # a role of [models], or an app label itself
            return MODELS.get(ready, ready).partition(".")[0]
    return next(iter(MODELS.values()), "").partition(".")[0]
ALLOWED_PACKAGES: list = []  # canonical names of the assignment's [runtime] packages
RUNTIME_OK = True  # False: the grader could not install them (its problem, not the student's)
STUDENT_DB_ENGINE = ""  # DATABASES["default"]["ENGINE"] of the student's settings (the grader uses SQLite)
NOTES: list = []  # warnings found while the grading settings were made (no points)
DISK_CAP_MB = 512  # what a run may write (the grader's disk_cap)
FOLDERS: dict = {}  # "media" / "mail" -> a folder the grader owns and reads after the run (rubric [folders])
