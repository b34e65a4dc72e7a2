# KundOnline: `make run` brings the whole system up; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv/bin

.PHONY: run test deps lint types format schemas docs i18n unit bench resilience scale

deps:
	@bash deploy/install-deps.sh

run: deps
	$(VENV)/python -m kundonline_devstack.run

test: deps
	$(VENV)/ruff check .
	$(VENV)/mypy
	$(VENV)/python -m kundonline_contracts.schema --check
	$(VENV)/pytest

unit: deps
	$(VENV)/pytest -m "not integration and not e2e and not browser and not resilience"

lint: deps
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

# Types, by mypy over the packages listed in pyproject.toml ([tool.mypy] files).
types: deps
	$(VENV)/mypy

format: deps
	$(VENV)/ruff check --fix .
	$(VENV)/ruff format .

schemas: deps
	$(VENV)/python -m kundonline_contracts.schema

# The settings tables of docs/OPERATIONS.md, from the settings classes.
docs: deps
	$(VENV)/python -m kundonline_devstack.settings_doc

# The services whose words people read, each with a babel.cfg and src/<package>/locale/, and
# the languages translated there (messages are written in English, the source language).
I18N_SERVICES := services/notify services/gateway
I18N_LANGUAGES := sv

# Catalogues: each service's messages extracted from its code and templates (babel.cfg), each
# language's .po brought up to them (a new message empty, a changed one marked fuzzy, a removed
# one dropped), then whatever still lacks a translation listed. Translate those and run it
# again. The .po files are compiled in memory when a service starts: no .mo files.
i18n: deps
	@set -e; for service in $(I18N_SERVICES); do \
		pot=$$(mktemp); \
		$(VENV)/pybabel -q extract -F $$service/babel.cfg --project=KundOnline \
			--add-location=file --sort-by-file -o $$pot $$service; \
		for language in $(I18N_LANGUAGES); do \
			$(VENV)/pybabel -q update -i $$pot -d $$(echo $$service/src/*/locale) -l $$language \
				--init-missing --ignore-obsolete --ignore-pot-creation-date; \
		done; \
		rm -f $$pot; \
	done
	$(VENV)/python -m kundonline_common.i18n_check $(I18N_SERVICES)

# SPEC §7 figures, measured on this machine; results in bench/results/*.json and the table in
# docs/PERFORMANCE.md. About 30 minutes on the 2-core build machine; one benchmark:
# `.venv/bin/python -m bench intake`, shorter runs: `.venv/bin/python -m bench --quick`.
bench: deps
	$(VENV)/python -m bench

# The fault-injection suite at full size (10 000 reports per scenario; make test runs 1 000).
resilience: deps
	KUNDONLINE_RESILIENCE=full $(VENV)/pytest tests/resilience

# Three Kafka brokers and two replicas of every service under fault injection, at full size
# (10 000 reports; make test runs 1 000; KUNDONLINE_SCALE_REPORTS=N sets another size). The
# counts it checked are printed at the end (-rP).
scale: deps
	KUNDONLINE_SCALE=full $(VENV)/pytest -rP tests/scale

# Containers, with podman (none of these is part of make test). container-setup installs
# podman, runc, debootstrap and podman-compose and writes /etc/containers/containers.conf where
# this machine needs it (deploy/container/setup.sh).
.PHONY: container-setup image compose-up compose-smoke kube-smoke

container-setup:
	@bash deploy/container/setup.sh

# The one image of the five services: localhost/kundonline:<version> (deploy/Containerfile).
image: container-setup
	bash deploy/container/build.sh

# The one-server install with deploy/compose/.env (made from .env.example on the first run).
compose-up: image
	eval "$$(bash deploy/container/images.sh)" && export KAFKA_IMAGE POSTGRES_IMAGE && \
		bash deploy/compose/up.sh

# The one-server install brought up on its own, the first flow through it, then taken down.
compose-smoke: deps image
	bash deploy/compose/smoke.sh

# The Kubernetes Deployments (deploy/kubernetes) run with podman kube play beside Kafka and
# PostgreSQL pods, every replica ready, then the first flow through the gateway's pod.
kube-smoke: deps image
	bash deploy/kubernetes/smoke.sh
