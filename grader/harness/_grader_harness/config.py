"""Run settings handed over by the grader on stdin, filled in by bootstrap."""
SUBMISSION = ""
STUDENT_SETTINGS = ""
DB_PATH = ""
TOKEN = ""
PROFILE_MODEL = "users.Profile"
ALLOWED_PACKAGES: list = []  # canonical names of the assignment's [runtime] packages
RUNTIME_OK = True  # False: the grader could not install them (its problem, not the student's)
STUDENT_DB_ENGINE = ""  # DATABASES["default"]["ENGINE"] of the student's settings (the grader uses SQLite)
NOTES: list = []  # warnings found while the grading settings were made (no points)
DISK_CAP_MB = 512  # what a run may write (the grader's disk_cap)
