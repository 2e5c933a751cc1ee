# The README's two commands: `make setup` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
COURSE_DATA_DIR ?= $(abspath ../shared/data)
export COURSE_DATA_DIR

.PHONY: setup install test lint release handouts handouts-smoke fmt doctor

setup: install release handouts-smoke  ## install, then build the student release and smoke handouts

install: $(BIN)/course
$(BIN)/course: requirements.txt requirements-test.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(BIN)/python -m course.lab_setup
	touch $(BIN)/course

test: install  ## the whole test suite (about 30 minutes on 2 cores)
	$(BIN)/python -m pytest

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
