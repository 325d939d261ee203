"""Code that runs inside the grading child, never in the grader process.

The name is unusual on purpose: the grader puts this package on sys.path before
the submission and refuses submissions with a top-level module of this name.
"""
