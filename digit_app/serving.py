"""How the app is served: to this machine only, or to others (a class); the quotas that keep a
shared server usable; and the check of every DIGIT_APP_* environment setting at start.

Served on this machine only (the default: Streamlit listens on a loopback address), everyone is
the host. Served to others (Streamlit listens beyond loopback, or DIGIT_APP_SHARED=1), the person
who started the app is the host, the way Jupyter does it: a secret token is made at start and
printed as a host link; the browser that opens it keeps a host cookie. Everyone else is a
visitor (digit_app/ui/access.py applies the rules).

Imports no Streamlit and no TensorFlow, so the check runs before anything heavy.
"""

import dataclasses
import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path

SHARED_ENV_VAR = "DIGIT_APP_SHARED"
VISITORS_READ_ONLY_ENV_VAR = "DIGIT_APP_VISITORS_READ_ONLY"
HOST_TOKEN_ENV_VAR = "DIGIT_APP_HOST_TOKEN"
MODELS_ENV_VAR = "DIGIT_APP_MODELS"
DRAWINGS_DB_ENV_VAR = "DIGIT_APP_DRAWINGS_DB"
TRAIN_LIMIT_ENV_VAR = "DIGIT_APP_TRAIN_LIMIT"
MNIST_ENV_VAR = "DIGIT_APP_MNIST"
HOST_TOKEN_PARAMETER = "host_token"  # the host link's query parameter
MIN_HOST_TOKEN_LENGTH = 16
LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}

# Quotas. The defaults come from what one class did to an unguarded server: 40,024 drawings made
# a 165 MB database; one 10,000-drawing import adds 41 MB; each training adds a 0.8 MB model.
QUOTA_DEFAULTS = {
    "DIGIT_APP_MAX_DRAWINGS_PER_VISITOR": 2_000,  # a whole lesson of drawing, not repeated imports
    "DIGIT_APP_MAX_DRAWINGS": 40_000,  # what that class reached
    "DIGIT_APP_MAX_DATABASE_MB": 200,  # 40,000 drawings with their canvases, and some room
    "DIGIT_APP_MAX_MODELS": 40,  # about 32 MB of models
}
QUOTA_MINIMUMS = {
    "DIGIT_APP_MAX_DRAWINGS_PER_VISITOR": 1,
    "DIGIT_APP_MAX_DRAWINGS": 1,
    "DIGIT_APP_MAX_DATABASE_MB": 1,
    "DIGIT_APP_MAX_MODELS": 3,  # the three shipped models
}
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class Quotas:
    drawings_per_visitor: int = QUOTA_DEFAULTS["DIGIT_APP_MAX_DRAWINGS_PER_VISITOR"]
    total_drawings: int = QUOTA_DEFAULTS["DIGIT_APP_MAX_DRAWINGS"]
    database_megabytes: int = QUOTA_DEFAULTS["DIGIT_APP_MAX_DATABASE_MB"]
    stored_models: int = QUOTA_DEFAULTS["DIGIT_APP_MAX_MODELS"]


@dataclasses.dataclass(frozen=True)
class ServingSettings:
    """The serving settings read from the environment; build with from_environment()."""

    shared: bool | None = None  # None: decided by the address Streamlit listens on
    visitors_read_only: bool = False
    host_token: str | None = None  # None: a new one is made at start
    quotas: Quotas = Quotas()


class SettingsError(ValueError):
    """One or more DIGIT_APP_* settings are wrong; the message has one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _flag(environ, name, problems):
    text = environ.get(name)
    if text is None:
        return None
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    problems.append(f"{name}={text!r}: expected 1 or 0 (or true/false, yes/no, on/off); fix or unset it.")
    return None


def _quota(environ, name, problems):
    text = environ.get(name)
    if text is None:
        return QUOTA_DEFAULTS[name]
    low = QUOTA_MINIMUMS[name]
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or value < low:
        problems.append(
            f"{name}={text!r}: expected a whole number of at least {low} (default {QUOTA_DEFAULTS[name]}); "
            "fix or unset it."
        )
        return QUOTA_DEFAULTS[name]
    return value


def _path_problems(environ):
    problems = []
    for name, what in ((MODELS_ENV_VAR, "a models folder"), (MNIST_ENV_VAR, "the MNIST .npz file")):
        text = environ.get(name)
        if text is None:
            continue
        if not text.strip():
            problems.append(f"{name} is set but empty: set it to {what}, or unset it to use the default.")
        elif not Path(text).exists():
            problems.append(f"{name}={text!r}: no such path; create it, or point it at {what} that exists.")
        elif name == MODELS_ENV_VAR and not Path(text).is_dir():
            problems.append(f"{name}={text!r} is a file, not a folder; point it at {what}.")
    text = environ.get(DRAWINGS_DB_ENV_VAR)
    if text is not None:
        if not text.strip():
            problems.append(
                f"{DRAWINGS_DB_ENV_VAR} is set but empty: set it to a database file path, or unset it to use the default."
            )
        elif Path(text).is_dir():
            problems.append(f"{DRAWINGS_DB_ENV_VAR}={text!r} is a folder; point it at a database file in it.")
        elif not Path(text).parent.is_dir():
            problems.append(
                f"{DRAWINGS_DB_ENV_VAR}={text!r}: its folder {str(Path(text).parent)!r} does not exist; create it first."
            )
    return problems


def _train_limit_problems(environ):
    text = environ.get(TRAIN_LIMIT_ENV_VAR)
    if text is None or not text.strip():
        return []
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or not 20 <= value <= 60000:
        return [f"{TRAIN_LIMIT_ENV_VAR}={text!r}: expected a whole number of training digits from 20 to 60000; fix or unset it."]
    return []


def from_environment(environ=None):
    """ServingSettings from the environment, after checking every DIGIT_APP_* setting the app
    reads; raises SettingsError with one line per problem."""
    environ = os.environ if environ is None else environ
    problems = _path_problems(environ) + _train_limit_problems(environ)
    shared = _flag(environ, SHARED_ENV_VAR, problems)
    read_only = _flag(environ, VISITORS_READ_ONLY_ENV_VAR, problems)
    token = environ.get(HOST_TOKEN_ENV_VAR)
    if token is not None and len(token.strip()) < MIN_HOST_TOKEN_LENGTH:
        problems.append(
            f"{HOST_TOKEN_ENV_VAR} is {len(token.strip())} characters long; a host token needs at least "
            f"{MIN_HOST_TOKEN_LENGTH}, or unset it to get a new random one at each start."
        )
        token = None
    quotas = Quotas(*(_quota(environ, name, problems) for name in QUOTA_DEFAULTS))
    if problems:
        raise SettingsError(problems)
    return ServingSettings(
        shared=shared, visitors_read_only=bool(read_only), host_token=token.strip() if token else None, quotas=quotas
    )


def is_loopback(address):
    """Whether a listening address reaches this machine only ('' and None listen everywhere)."""
    if not address:
        return False
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve beyond this machine


def serves_others(settings, listen_address):
    """Whether people other than the one who started the app can reach it."""
    if settings.shared is not None:
        return settings.shared
    return not is_loopback(listen_address)


def new_host_token():
    return secrets.token_urlsafe(24)


def host_cookie_value(token):
    """What the host cookie holds: derived from the token, so the cookie never shows the token."""
    return hashlib.sha256(f"digit_app host:{token}".encode()).hexdigest()


def same_secret(given, expected):
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def host_link(token, address, port):
    """The link the host opens; a wildcard listening address is shown as localhost."""
    shown = "localhost" if address in (None, "", "0.0.0.0", "::") else address
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?{HOST_TOKEN_PARAMETER}={token}"
