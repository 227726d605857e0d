# The two commands of the README: `make demo` and `make test`. Both install into .venv first if needed.
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml scripts/bootstrap.sh
	scripts/bootstrap.sh

.PHONY: install demo test
install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/citebot demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest
