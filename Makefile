# The two commands a newcomer needs: `make audit` (audit this machine) and `make test` (every test).
# Everything they need (virtualenv, Docker engine, base images) is installed by scripts/ on first use.
SHELL := /bin/bash
SCENARIO ?=

.PHONY: audit test venv units lint sanity versions python-range galaxy reuse molecule images docker docs bench clean

audit:            ## audit this machine's TCP keepalive (no inventory needed)
	@bash scripts/audit.sh

test:             ## every test: unit, ruff, sanity, ansible-lint, every Molecule scenario
	@bash scripts/test.sh

venv:             ## the project virtualenv with the pinned tooling (.venv)
	@bash scripts/venv.sh

units: venv       ## pytest: unit and integration tests
	@source scripts/lib.sh && python -m pytest tests/unit tests/integration

lint: venv        ## ruff and ansible-lint (production profile)
	@source scripts/lib.sh && ruff check . && ansible-lint

sanity: venv      ## ansible-test sanity (copy in build/ansible_collections/tcp/keepalive)
	@bash scripts/sanity.sh

versions: venv    ## unit tests and ansible-test sanity on ansible-core 2.17 and 2.18 (.venvs/)
	@for release in 2.17 2.18; do bash scripts/versions.sh $$release units && bash scripts/versions.sh $$release sanity || exit 1; done

python-range: venv  ## managed-node code on Python 3.8: vermin, runtime subscripts, a real 3.8 import
	@bash scripts/python-range.sh

galaxy: venv      ## release test on the built tarball, then galaxy-importer on it (offline)
	@bash scripts/galaxy-test.sh && bash scripts/galaxy-importer.sh

reuse: venv       ## reuse lint: every file's licence (REUSE.toml, LICENSES/)
	@source scripts/lib.sh && reuse lint

molecule: venv images  ## Molecule scenarios: all, or one with `make molecule SCENARIO=default`
	@bash scripts/molecule.sh $(SCENARIO)

docs: venv        ## regenerate the docs reference and role README tables, then lint them
	@bash scripts/docs.sh

docker:           ## start (installing if needed) the Docker engine
	@bash scripts/docker-up.sh

images: docker    ## build the local Debian base images when a tag is missing
	@bash scripts/images.sh

bench:            ## benchmarks (root; ~25 min): writes docs/performance.md. `bash scripts/bench.sh --help`
	@bash scripts/bench.sh

clean:            ## remove build/ and tests/output/ (never the venvs)
	rm -rf build tests/output
