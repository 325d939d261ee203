"""The batch's usage error: ``grader batch`` prints it in one line and exits with status 2."""


class BatchError(Exception):
    """A usage problem of the batch (bad SOURCE, output folder busy, ...): exit status 2."""
