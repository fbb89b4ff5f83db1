# One command sets up and tests (make test); one runs the main job (make lab).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lab measure plan system-packages pulumi hostkeys verify backup restore recover golden clean

$(BIN)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# expect (the answer driver), openssh-server and haproxy (the lab) come from the OS packages.
system-packages:
	@if [ "$$(id -u)" = 0 ]; then bash lab/setup.sh; else echo "not root: lab tests are skipped"; fi

# The real Pulumi CLI and Python language host, built from the Go module proxy into
# ~/.cache/elma365-cluster (a pulumi already on PATH is used instead); see tools/build-pulumi.sh.
pulumi:
	bash tools/build-pulumi.sh

# The program's tests, then the lab's self-tests (marker lab_self: lab/tests), each with its own
# summary; both always run, and either failing fails the target.
test: $(BIN)/.installed system-packages pulumi
	@status=0; \
	echo "== the program's tests"; \
	$(BIN)/python -m pytest -q -m 'not lab_self' tests lab/tests || status=1; \
	echo "== the lab's self-tests (simulator, by_hand, refresh load)"; \
	$(BIN)/python -m pytest -q -m lab_self tests lab/tests || status=1; \
	exit $$status

lab: $(BIN)/.installed system-packages pulumi
	bash lab/main_job.sh

measure: $(BIN)/.installed system-packages pulumi
	$(BIN)/python -m lab.measure --out lab-measure.json

# Pin every server's SSH host key in stacks/Pulumi.$(STACK).yaml after the operator confirms the
# fingerprints (IDENTITY=~/.ssh/key to scan through a bastion; YES=1 for scripts).
hostkeys: $(BIN)/.installed
	$(BIN)/python tools/hostkeys.py --stack "$(STACK)" $(if $(IDENTITY),--identity "$(IDENTITY)") $(if $(YES),--yes)

# After a deliberate change of a rendered script: rewrite tests/golden, then review its diff.
golden: $(BIN)/.installed
	$(BIN)/python -m tests.golden --write

plan: $(BIN)/.installed
	$(BIN)/python -m tests.show_plan $(or $(SITE),stacks/Pulumi.example.yaml)

# A read-only check of the live site (docs/verify.md): the config from
# `pulumi config --show-secrets --json --stack $(STACK)`, or with KEY=<ssh private key file> from the
# plain values of stacks/Pulumi.$(STACK).yaml and that key (no Pulumi CLI needed). Exit 1 on any drift.
verify: $(BIN)/.installed
	@if [ -z "$(STACK)" ]; then echo "usage: make verify STACK=<name> [KEY=<ssh private key file>]" >&2; exit 2; fi
	$(BIN)/python -m components.verify $(if $(KEY),--stack stacks/Pulumi.$(STACK).yaml --key $(KEY),--pulumi-stack $(STACK))

# A datastore backup on demand: taken on the main node, checked, copied to the other voters (docs/backups.md).
backup: $(BIN)/.installed
	@if [ -z "$(STACK)" ]; then echo "usage: make backup STACK=<name> [KEY=<ssh private key file>]" >&2; exit 2; fi
	$(BIN)/python -m components.verify.backup_cli backup $(if $(KEY),--stack stacks/Pulumi.$(STACK).yaml --key $(KEY),--pulumi-stack $(STACK) --cwd "$(CURDIR)")

# The datastore put back from a backup on the main node, after a confirmation naming the site and the
# backup's time (YES=1 for scripts).
restore: $(BIN)/.installed
	@if [ -z "$(STACK)" ] || [ -z "$(BACKUP)" ]; then echo "usage: make restore STACK=<name> BACKUP=<file> [YES=1] [KEY=<ssh private key file>]" >&2; exit 2; fi
	$(BIN)/python -m components.verify.backup_cli restore --backup "$(BACKUP)" $(if $(YES),--yes) $(if $(KEY),--stack stacks/Pulumi.$(STACK).yaml --key $(KEY),--pulumi-stack $(STACK) --cwd "$(CURDIR)")

# a datastore that lost its quorum, brought back by hand (docs/lost-quorum.md)
recover: $(BIN)/.installed
	@if [ -z "$(STACK)" ] || [ -z "$(SURVIVORS)" ]; then echo "usage: make recover STACK=<name> SURVIVORS=<node,...> [FROM=<node>] [ALLOW_OLDER=1] [YES=1] [KEY=<ssh private key file>]" >&2; exit 2; fi
	$(BIN)/python -m components.recover $(if $(KEY),--stack stacks/Pulumi.$(STACK).yaml --key $(KEY),--pulumi-stack $(STACK)) \
		--survivors $(SURVIVORS) $(if $(FROM),--from $(FROM)) $(if $(ALLOW_OLDER),--allow-older) $(if $(YES),--yes)

clean:
	rm -rf $(VENV) .pytest_cache
