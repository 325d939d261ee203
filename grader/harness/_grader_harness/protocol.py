"""What the grading child and the grader agree on: the tables of the grading database,
package names.

Imported by both sides (the grader as ``grader.harness._grader_harness.protocol``);
it imports nothing but the standard library, so the grader can read it without Django or
student code.
"""

import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass, field, fields

# 3: tracked objects by role (was: users only); RunSettings; 4: notes, folders;
# 5: the ledger, verdicts and connections travel on one authenticated channel (no ledger table)
PROTOCOL_VERSION = 5

# The channel: the one file descriptor the grader hands the child for what it must believe
# about the run, written as things happen. Each line is "<mac> <body>\n": body is a JSON object
# with "seq" (0, 1, 2, ... in the order written) and "kind"; mac is the HMAC-SHA256 of the body
# under the run's key (sent on stdin, never in the environment or a file). The grader refuses a
# run whose channel has a line it cannot authenticate or a sequence number out of place.
#   kind "ledger": {"nodeid", "entry", "value"}; entry is "start", "done", OBJECT_KIND + role
#       (value: the primary key of an object the test tracked) or NOTE_KIND + name (value: what
#       the test tells the assignment's verify.py: a file it expects gone, an order id, ...)
#   kind "verdict": {"nodeid", "outcome", feedback...}, as each test ends
#   kind "connect": a receiver connected (signal, sender, phase, app, receiver, where)
#   kind "forged": student code called the grader's evidence functions itself ("where")
OBJECT_KIND = "object:"
NOTE_KIND = "note:"
CHANNEL_LINE_MAX = 64 * 1024
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
    "PIL": "Pillow",
    "crispy_forms": "django-crispy-forms",
    "crispy_bootstrap4": "crispy-bootstrap4",
    "crispy_bootstrap5": "crispy-bootstrap5",
    "crispy_tailwind": "crispy-tailwind",
    "decouple": "python-decouple",
    "environ": "django-environ",
    "dotenv": "python-dotenv",
    "rest_framework": "djangorestframework",
    "corsheaders": "django-cors-headers",
    "debug_toolbar": "django-debug-toolbar",
    "django_extensions": "django-extensions",
    "allauth": "django-allauth",
    "storages": "django-storages",
    "psycopg2": "psycopg2-binary",
    "MySQLdb": "mysqlclient",
    "yaml": "PyYAML",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "dj_database_url": "dj-database-url",
    "widget_tweaks": "django-widget-tweaks",
    "taggit": "django-taggit",
    "ckeditor": "django-ckeditor",
    "phonenumber_field": "django-phonenumber-field",
    "django_filters": "django-filter",
    "import_export": "django-import-export",
    "social_django": "social-auth-app-django",
}


@dataclass
class RunSettings:
    """What the grader tells the child about one run: one JSON line on the child's stdin."""

    submission: str  # where the project is, inside the child's view
    settings: str  # the project's settings module
    db: str  # the grading database file
    suite: str  # the hidden suite's folder
    tests: list = field(default_factory=list)  # hidden files to run, in order
    token: str = ""  # the run's secret for the control tests
    report_fd: int = -1  # where the child writes its report
    channel_fd: int | None = None  # the authenticated channel (see above)
    channel_key: str = ""  # its key, hex
    stack_fd: int | None = None  # where faulthandler writes the stack before the time limit
    stack_after_s: float = 0.0
    source: str | None = None  # under bubblewrap: the read-only copy to fill the tmpfs from
    models: dict = field(default_factory=dict)  # role -> "app_label.Model"
    connections: dict = field(default_factory=dict)  # hidden test -> {signal, sender, ready}
    allowed_packages: list = field(default_factory=list)
    disk_cap_mb: int = 512
    runtime_ok: bool = True
    rlimits: dict = field(default_factory=dict)
    folders: dict = field(default_factory=dict)  # "media" / "mail" -> the folder inside the child's view
    version: int = PROTOCOL_VERSION

    def to_line(self) -> bytes:
        return (json.dumps(asdict(self)) + "\n").encode()

    @classmethod
    def from_line(cls, line: str) -> "RunSettings":
        data = json.loads(line)
        if data.get("version") != PROTOCOL_VERSION:
            raise ValueError(
                f"the grader speaks protocol {data.get('version')}, this harness "
                f"{PROTOCOL_VERSION}: install them from the same version"
            )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): Django_Crispy.Forms -> django-crispy-forms."""
    return re.sub(r"[-_.]+", "-", name).lower()


def channel_mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


@dataclass
class Channel:
    """What the child wrote on the channel, as the grader reads it: only authenticated lines in
    sequence count; `broken` says why the rest cannot be trusted (a line the run's key did not
    sign, a line missing or out of place), '' when nothing is wrong."""

    records: list = field(default_factory=list)
    broken: str = ""


def read_channel(data: bytes, key: bytes) -> Channel:
    """Authenticate the lines of a channel (a last line without its newline was cut by the
    child's end: it is left out, not held against the run)."""
    channel = Channel()
    lines = data.split(b"\n")
    for number, line in enumerate(lines[:-1], 1):
        mac, _, body = line.partition(b" ")
        if not hmac.compare_digest(mac, channel_mac(key, body).encode("ascii")):
            channel.broken = f"line {number} of the grader's channel was not written by the grader"
            return channel
        try:
            record = json.loads(body)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict) or record.get("seq") != len(channel.records):
            channel.broken = (
                f"line {number} of the grader's channel is out of sequence: "
                "lines the grader wrote were removed or moved"
            )
            return channel
        channel.records.append(record)
    return channel
