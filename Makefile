# The two commands a newcomer needs: `make audit` (audit this machine) and `make test` (every test).
# Everything they need (virtualenv, Docker engine, base images) is installed by scripts/ on first use.
SHELL := /bin/bash
SCENARIO ?=

.PHONY: audit test venv units lint sanity molecule images docker bench docs build clean

audit:            ## audit this machine's TCP keepalive (no inventory needed)
	@bash scripts/audit.sh

test:             ## every test: unit, ruff, sanity, ansible-lint, every Molecule scenario
	@bash scripts/test.sh

venv:
	@bash scripts/venv.sh

units: venv
	@source scripts/lib.sh && python -m pytest tests/unit tests/integration

docker:
	@bash scripts/docker-up.sh

images: docker
	@bash scripts/images.sh
