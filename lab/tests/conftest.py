"""Every test in this folder tests the lab itself, not the program: marked `lab_self` (pytest.ini), so
`make test` counts them apart from the program's."""
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)   # before -m deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.lab_self)
