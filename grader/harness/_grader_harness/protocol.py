"""What the grading child and the grader agree on: the tables of the grading database,
package names.

Imported by both sides (the grader as ``grader.harness._grader_harness.protocol``);
it imports nothing but the standard library, so the grader can read it without Django or
student code.
"""
import json
import re
from dataclasses import asdict, dataclass, field, fields

PROTOCOL_VERSION = 4   # 3: tracked objects by role (was: users only); RunSettings; 4: notes, folders

# Per hidden test: (nodeid, kind, value); kind is "start", "done", OBJECT_KIND + role for
# an object the test tracked (value: its primary key), or NOTE_KIND + name for a value the
# test tells the assignment's verify.py (a file name it expects gone, an order id, ...).
EVIDENCE_TABLE = "_grader_evidence"
OBJECT_KIND = "object:"
NOTE_KIND = "note:"
# Folders the grader owns, writable in the child and read by the assignment's verify.py after
# the child has exited (rubric [folders]): MEDIA_ROOT, and where e-mail is written as files.
FOLDERS = ("media", "mail")
# A [connections] sender meaning: connected for every sender (no sender=), as request signals need.
ANY_SENDER = "*"
# Every model's real table and columns, from Model._meta, written by the child when it
# creates the database: (label, db_table, pk_column, columns, related), the last two as
# JSON objects {field name: column} and {field name: label of the related model}.
MODELS_TABLE = "_grader_models"
# The models the exercise is about: (role, label), e.g. ("user", "auth.User").
ROLES_TABLE = "_grader_roles"

# Import name -> the distribution a student would `pip install`, where the two differ:
# names the package of a missing module in feedback.
KNOWN_MODULES = {
    "PIL": "Pillow", "crispy_forms": "django-crispy-forms", "crispy_bootstrap4": "crispy-bootstrap4",
    "crispy_bootstrap5": "crispy-bootstrap5", "crispy_tailwind": "crispy-tailwind",
    "decouple": "python-decouple", "environ": "django-environ", "dotenv": "python-dotenv",
    "rest_framework": "djangorestframework", "corsheaders": "django-cors-headers",
    "debug_toolbar": "django-debug-toolbar", "django_extensions": "django-extensions",
    "allauth": "django-allauth", "storages": "django-storages", "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient", "yaml": "PyYAML", "bs4": "beautifulsoup4", "cv2": "opencv-python",
    "sklearn": "scikit-learn", "dj_database_url": "dj-database-url",
    "widget_tweaks": "django-widget-tweaks", "taggit": "django-taggit", "ckeditor": "django-ckeditor",
    "phonenumber_field": "django-phonenumber-field", "django_filters": "django-filter",
    "import_export": "django-import-export", "social_django": "social-auth-app-django",
}


@dataclass
class RunSettings:
    """What the grader tells the child about one run: one JSON line on the child's stdin."""

    submission: str                 # where the project is, inside the child's view
    settings: str                   # the project's settings module
    db: str                         # the grading database file
    suite: str                      # the hidden suite's folder
    tests: list = field(default_factory=list)         # hidden files to run, in order
    token: str = ""                 # the run's secret for the control tests
    report_fd: int = -1             # where the child writes its report
    verdict_fd: int | None = None   # where it streams verdicts and connections as they happen
    stack_fd: int | None = None     # where faulthandler writes the stack before the time limit
    stack_after_s: float = 0.0
    source: str | None = None       # under bubblewrap: the read-only copy to fill the tmpfs from
    models: dict = field(default_factory=dict)        # role -> "app_label.Model"
    connections: dict = field(default_factory=dict)   # hidden test -> {signal, sender, ready}
    allowed_packages: list = field(default_factory=list)
    disk_cap_mb: int = 512
    runtime_ok: bool = True
    rlimits: dict = field(default_factory=dict)
    folders: dict = field(default_factory=dict)       # "media" / "mail" -> the folder inside the child's view
    version: int = PROTOCOL_VERSION

    def to_line(self) -> bytes:
        return (json.dumps(asdict(self)) + "\n").encode()

    @classmethod
    def from_line(cls, line: str) -> "RunSettings":
        data = json.loads(line)
        if data.get("version") != PROTOCOL_VERSION:
            raise ValueError(f"the grader speaks protocol {data.get('version')}, this harness "
                             f"{PROTOCOL_VERSION}: install them from the same version")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): Django_Crispy.Forms -> django-crispy-forms."""
    return re.sub(r"[-_.]+", "-", name).lower()
