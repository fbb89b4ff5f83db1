# One command sets up and tests (make test); one runs the main job (make lab).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test plan lab system-packages clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# expect (the answer driver), openssh-server and haproxy (the lab) come from the OS packages.
system-packages:
	bash scripts/system-packages.sh

test: $(BIN)/.installed system-packages
	$(BIN)/python -m pytest -q tests

plan: $(BIN)/.installed
	$(BIN)/python -m tests.show_plan stacks/Pulumi.example.yaml

lab: plan

clean:
	rm -rf $(VENV) .pytest_cache
