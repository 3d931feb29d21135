# The two Quickstart commands: `make app` (set up, launch the explorer) and `make test` (set up, run tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: app test test-fast evaluate setup setup-dev browser

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch and torchvision first, as a pair that imports together: on our machines these exact releases lie on
# disk (pip takes them offline); elsewhere pip picks builds for the platform. Then this package, editable,
# which puts the `cartoon-vae` command (= python -m vae_core) in the venv. Last, onnxruntime-web for the page,
# from npm at the version and integrity package-lock.json pins; offline, the page decodes on the server instead.
setup: $(PY)
	$(PIP) install -q "torch==2.14.1" "torchvision==0.29.1" || $(PIP) install -q torch torchvision
	$(PIP) install -q -e ".[app]"
	$(PY) -m vae_core fetch-web-runtime || echo "onnxruntime-web not fetched: the page will decode on the server"

setup-dev: setup
	$(PIP) install -q -e ".[app,dev]"

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
browser:
	@command -v /usr/bin/chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

app: setup
	$(PY) app.py

test: setup-dev browser
	$(PY) -m pytest -q

# Unit tests only (no browser, no training runs, no UMAP JIT): a couple of minutes.
test-fast: setup-dev
	$(PY) -m pytest -q -m "not slow"

# The shipped default's held-out reconstruction figures, through the installed command.
evaluate: setup
	$(VENV)/bin/cartoon-vae evaluate --checkpoint checkpoints/default
