# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FINAGENT := $(BIN)/finagent
CODE := app agents tools graphs knowledge policies evals finagent bench server.py

.PHONY: run test install model kb lint typecheck unit integration browser chromium stop clean audit eval

run: install kb ## install, prepare the model, start vLLM and the server
	@if [ -z "$$LLM_BASE_URL" ]; then $(FINAGENT) llm prepare && $(FINAGENT) llm start; \
	 else echo "LLM_BASE_URL is set: using $$LLM_BASE_URL, no local vLLM"; fi
	@echo ""
	@echo "  Widget  (customer):   http://127.0.0.1:$${PORT:-8000}/widget/   (alice / alice-demo)"
	@echo "  Console (compliance): http://127.0.0.1:$${PORT:-8000}/console/  (ana / ana-demo, ben / ben-demo)"
	@echo "  API docs:             http://127.0.0.1:$${PORT:-8000}/docs"
	@echo ""
	@$(FINAGENT) serve

test: install chromium model lint typecheck ## install and run the whole suite
	$(BIN)/pytest tests/unit -q -m "not postgres"
	$(BIN)/pytest tests/unit -q -m postgres
	$(BIN)/pytest tests/integration tests/browser -q

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: anything unpinned would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

model: install ## vLLM venv + the verified, converted model under ~/.cache/finagent (once)
	$(FINAGENT) llm prepare

kb: install ## index the shipped corpus (incremental: unchanged documents are skipped)
	$(FINAGENT) ingest knowledge/corpus

chromium: ## Debian's chromium for the browser tests (Playwright's own download does not work here)
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }
	@# A Chinese font, or Chinese replies render as empty boxes in headless screenshots.
	@fc-list :lang=zh | grep -q . || { apt-get update -q && apt-get install -y -q fonts-wqy-zenhei; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy $(CODE)

# Known vulnerabilities in the installed dependencies, from PyPI's JSON API (advisories from the PyPA
# database). Not part of `make test`: where finagent is developed only PyPI's package index is reachable,
# not its JSON API, so every package would be reported as unauditable (docs/reliability.md).
audit: install
	$(BIN)/pip-audit --strict --vulnerability-service pypi --skip-editable

unit: install
	$(BIN)/pytest tests/unit -q

eval: install model ## every eval suite on the embedded vLLM (or LLM_BASE_URL): reports/eval/report.html
	@if [ -z "$$LLM_BASE_URL" ]; then $(FINAGENT) llm start; fi
	$(FINAGENT) eval --out reports/eval --concurrency 3

integration: install model
	$(BIN)/pytest tests/integration -q

browser: install chromium model
	$(BIN)/pytest tests/browser -q

stop: ## stop the embedded vLLM
	-$(FINAGENT) llm stop

clean: stop
	rm -rf var $(VENV)
