"""What the grading child and the grader agree on: the tables of the grading database.

Imported by both sides (the grader as ``grader.harness._grader_harness.protocol``);
it imports nothing, so the grader can read it without Django or student code.
"""
PROTOCOL_VERSION = 2

# Per hidden test: (nodeid, kind, value); kind is "start", "done" or "user" (value: a pk).
EVIDENCE_TABLE = "_grader_evidence"
# Every model's real table and columns, from Model._meta, written by the child when it
# creates the database: (label, db_table, pk_column, columns, related), the last two as
# JSON objects {field name: column} and {field name: label of the related model}.
MODELS_TABLE = "_grader_models"
# The models the exercise is about: (role, label), e.g. ("user", "auth.User").
ROLES_TABLE = "_grader_roles"
