"""The grading service's tests (`grader serve` started for real).

A package, unlike the other test folders: it has a conftest.py of its own, and two conftest
modules outside packages would both be imported as ``conftest``; the later one would then
shadow tests/conftest.py for every ``from conftest import ...`` collected after it (tests/unit).
As a package this folder's is ``service.conftest`` and ``conftest`` stays tests/conftest.py.
"""
