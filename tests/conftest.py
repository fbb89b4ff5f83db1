import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402  (after the path set-up above)



@pytest.fixture
def new_lab(tmp_path):
    """A factory of labs for one test, each taken down afterwards (the lab's addresses are fixed:
    one lab at a time). `all_nodes`: the stack lists every node the lab has, not the stack file's 3."""
    from lab.harness import Lab
    from tests.lab_support import FAST

    labs = []

    def make(nodes: int = 3, durations=None, faults=None, all_nodes: bool = False, session_path=None,
             balancers: int = 0) -> Lab:
        lab = Lab(tmp_path / f"lab{len(labs)}", nodes=nodes, durations=durations or FAST, faults=faults,
                  session_path=session_path, balancers=balancers)
        if all_nodes:
            lab.values = {**lab.values, "nodes": lab.node_values(nodes)["nodes"]}
        labs.append(lab)
        return lab

    yield make
    for each in labs:
        each.down()


def _toolchain_line() -> str:
    from lab import toolchain

    why = toolchain.missing()
    return f"toolchain: {why}" if why else f"toolchain: {toolchain.describe()}"


def pytest_report_header(config):
    """Which pulumi CLI, command provider and language host the lab and real-engine tests use."""
    return _toolchain_line()


def pytest_terminal_summary(terminalreporter):
    """The same at the end, where `pytest -q` (make test) shows it too."""
    if terminalreporter.config.get_verbosity() < 0:
        terminalreporter.write_line(_toolchain_line())
