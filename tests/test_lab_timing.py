"""A fresh deploy takes no longer than the manual's serial chain, plus a tenth.

The simulated tools get fixed durations (lab.measure.FIXED); independent work (node preparation,
HAProxy) must overlap the chain, and the program must add no serialisation of its own."""
from __future__ import annotations

import tempfile
from pathlib import Path

from lab.measure import fresh_deploy_ratio
from tests.lab_support import needs_lab

pytestmark = needs_lab


def test_fresh_deploy_of_three_nodes_is_within_ten_percent_of_the_critical_path():
    result = fresh_deploy_ratio(Path(tempfile.mkdtemp(prefix="elma365-lab-ratio.")), 3)
    assert result["ratio"] <= 1.10, result
    assert result["scheduling ratio"] <= 1.05, result
