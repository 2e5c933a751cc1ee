# The README's two commands: `make setup` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
COURSE_DATA_DIR ?= $(abspath ../shared/data)
export COURSE_DATA_DIR

.PHONY: setup install test lint release handouts handouts-smoke fmt doctor backends

setup: install release handouts-smoke  ## install, then build the student release and smoke handouts

install: $(BIN)/course
$(BIN)/course: requirements.txt requirements-test.txt requirements-site.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt -r requirements-site.txt
	$(BIN)/python -m course.lab_setup
	touch $(BIN)/course

test: install  ## the whole test suite (about 30 minutes on 2 cores)
	$(BIN)/python -m pytest

# The library's unit tests (models, train, complexity, the grading checks ...) and lecture 01 on Keras'
# JAX and PyTorch backends: not part of `make test` (README, "One code on three Keras backends").
TORCH_INDEX ?= --extra-index-url https://download.pytorch.org/whl/cpu
BACKEND_TESTS = tests/test_backends.py tests/test_models.py tests/test_complexity.py tests/test_train.py \
	tests/test_grading.py tests/test_feature_maps_checks.py tests/test_theory_quiz.py tests/test_xray.py \
	tests/test_inception_cifar10.py tests/test_vgg16_transfer.py tests/test_grad_cam.py tests/test_losses.py \
	tests/test_transfer.py tests/test_conv.py tests/test_training_cost.py tests/test_probes.py tests/test_viz.py

backends: install  ## the unit tests and lecture 01 on the JAX and PyTorch backends (a few minutes)
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) -r requirements-backends.txt
	for backend in jax torch; do \
	  echo "== KERAS_BACKEND=$$backend"; \
	  KERAS_BACKEND=$$backend $(BIN)/python -m pytest -p no:cacheprovider -q $(BACKEND_TESTS) || exit 1; \
	done

lint: install  ## ruff: lint and format the Python code (the test suite checks both)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

release: install
	$(BIN)/course release

handouts-smoke: install
	$(BIN)/course handouts --smoke

handouts: install  ## the real handouts in solutions/ (full training runs)
	$(BIN)/course handouts

fmt: install
	$(BIN)/course fmt

doctor: install
	$(BIN)/course doctor
