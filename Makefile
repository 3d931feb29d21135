# The two Quickstart commands: `make app` (set up, launch the explorer) and `make test` (set up, run tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: app test setup setup-dev browser

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch 2.13.0 first: on our machines it is a local CPU wheel; elsewhere pip picks a build for the platform.
setup: $(PY)
	$(PIP) install -q "torch==2.13.0" || $(PIP) install -q torch
	$(PIP) install -q -r requirements.txt

setup-dev: setup
	$(PIP) install -q -r requirements-dev.txt

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
browser:
	@command -v /usr/bin/chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

app: setup
	$(PY) app.py

test: setup-dev browser
	$(PY) -m pytest -q
