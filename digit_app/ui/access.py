"""Who is using the app: the host, or a visitor; and what each may do.

Served on this machine only, everyone is the host. Served to others (digit_app/serving.py), the
browser that opened the host link printed at start, or whose user entered the password set as
`host_password` in .streamlit/secrets.toml, is the host; it keeps a host cookie. Everyone else is
a visitor with an id of their own, kept in a cookie: a visitor sees and deletes only their own
drawings, and cannot delete models, change the active model, or stop someone else's job.

This module is imported once per server process, so the host token is shared by every session.
Who started a job is kept with the job (digit_app.jobs: its owner's session is the visitor id).
"""

import dataclasses
import re
import sys
import threading
import uuid

import streamlit as st

from digit_app import serving
from digit_app.drawing_store import DrawingStore
from digit_app.ui import resources

VISITOR_COOKIE = "digit_app_visitor"
HOST_COOKIE = "digit_app_host"
COOKIE_MAX_AGE_SECONDS = 365 * 24 * 3600
PASSWORD_SECRET = "host_password"
_VISITOR_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_SESSION_VISITOR_KEY = "access_visitor_id"
_SESSION_HOST_KEY = "access_is_host"
_SESSION_COOKIES_KEY = "access_cookies_to_set"
_PASSWORD_FAILED_KEY = "access_password_failed"


def _settings_at_start():
    """(settings, problems): the environment checked once, when the app's first run imports this."""
    try:
        return serving.from_environment(), []
    except serving.SettingsError as error:
        for problem in error.problems:
            print(f"digit_app: {problem}", file=sys.stderr, flush=True)
        return serving.ServingSettings(), error.problems


SETTINGS, SETTINGS_PROBLEMS = _settings_at_start()
HOST_TOKEN = SETTINGS.host_token or serving.new_host_token()


@dataclasses.dataclass(frozen=True)
class Role:
    is_host: bool
    visitor_id: str
    shared: bool  # served to others: the rules below apply
    visitors_read_only: bool = False

    @property
    def may_write(self):
        """Whether this person may keep drawings, import them, and start jobs."""
        return self.is_host or not self.visitors_read_only

    @property
    def name(self):
        return "host" if self.is_host else "visitor"


def serves_others():
    return serving.serves_others(SETTINGS, st.get_option("server.address"))


def _print_host_link():
    address, port = st.get_option("server.address"), st.get_option("server.port")
    print(
        f"digit_app is served to others. You are the host when you open:\n  "
        f"{serving.host_link(HOST_TOKEN, address, port)}\nEveryone else is a visitor.",
        flush=True,
    )


def _queue_cookie(name, value):
    st.session_state.setdefault(_SESSION_COOKIES_KEY, {})[name] = value


def _set_queued_cookies():
    """Cookies can only be set by the browser: a one-line script per cookie, once."""
    cookies = st.session_state.pop(_SESSION_COOKIES_KEY, None)
    if not cookies:
        return
    assignments = "".join(
        f'document.cookie = "{name}={value}; path=/; max-age={COOKIE_MAX_AGE_SECONDS}; SameSite=Strict";'
        for name, value in cookies.items()
    )
    st.html(f"<script>{assignments}</script>", unsafe_allow_javascript=True, width="content")


def _visitor_id():
    if visitor_id := st.session_state.get(_SESSION_VISITOR_KEY):
        return visitor_id
    visitor_id = st.context.cookies.get(VISITOR_COOKIE, "")
    if not (isinstance(visitor_id, str) and _VISITOR_ID_PATTERN.fullmatch(visitor_id)):
        visitor_id = uuid.uuid4().hex
        _queue_cookie(VISITOR_COOKIE, visitor_id)
    st.session_state[_SESSION_VISITOR_KEY] = visitor_id
    return visitor_id


def _become_host():
    st.session_state[_SESSION_HOST_KEY] = True
    _queue_cookie(HOST_COOKIE, serving.host_cookie_value(HOST_TOKEN))


def _is_host_session():
    if st.session_state.get(_SESSION_HOST_KEY):
        return True
    if serving.same_secret(st.context.cookies.get(HOST_COOKIE), serving.host_cookie_value(HOST_TOKEN)):
        st.session_state[_SESSION_HOST_KEY] = True
        return True
    token = st.query_params.get(serving.HOST_TOKEN_PARAMETER)
    if token is not None:
        del st.query_params[serving.HOST_TOKEN_PARAMETER]  # not left in the address bar to be shared
        if serving.same_secret(token, HOST_TOKEN):
            _become_host()
            return True
    return False


def current_role():
    """This session's Role, decided on each run from its session state and cookies."""
    visitor_id = _visitor_id()
    if not serves_others():
        return Role(is_host=True, visitor_id=visitor_id, shared=False)
    return Role(
        is_host=_is_host_session(), visitor_id=visitor_id, shared=True,
        visitors_read_only=SETTINGS.visitors_read_only,
    )


def host_password():
    try:
        password = st.secrets.get(PASSWORD_SECRET)
    except FileNotFoundError:  # no secrets.toml, or one that cannot be parsed
        return None
    return str(password) if password else None


def _check_password():
    given = st.session_state.get("host_password_input", "")
    st.session_state["host_password_input"] = ""
    if serving.same_secret(given, host_password()):
        _become_host()
    else:
        st.session_state[_PASSWORD_FAILED_KEY] = True


def show_role(role):
    """'You are the host' or 'You are a visitor', with what that means, in the sidebar."""
    with st.sidebar:
        if role.is_host:
            st.success("You are the host", icon=":material/shield_person:")
            if role.shared:
                st.caption("You can delete models, choose the model in use, and stop any job.")
        else:
            st.info("You are a visitor", icon=":material/person:")
            if role.visitors_read_only:
                st.caption("The host has made the app read-only: draw and see readings; nothing is kept.")
            else:
                st.caption("You see and delete only your own drawings; the host looks after the models.")
            if host_password():
                st.text_input("Host password", type="password", key="host_password_input", on_change=_check_password)
                if st.session_state.pop(_PASSWORD_FAILED_KEY, False):
                    st.error("That is not the host password.")
    _set_queued_cookies()


def start_app():
    """Run at the top of every whole run: stop on bad settings, print the host link once per
    process, and say who this person is. Returns this session's Role."""
    if SETTINGS_PROBLEMS:
        st.error(
            "The app cannot start: fix these settings in its environment and start it again.\n\n"
            + "\n".join(f"- {problem}" for problem in SETTINGS_PROBLEMS),
            icon=":material/settings_alert:",
        )
        st.stop()
    print_host_link_once()
    role = current_role()
    show_role(role)
    return role


_link_printed = threading.Event()


def print_host_link_once():
    """Print the host link, once per server process, when the app is served to others: at server
    start (digit_app/ui/warm_up.py), and again at the first run should that not have happened."""
    if serves_others() and not _link_printed.is_set():
        _link_printed.set()
        _print_host_link()


# --- the rules, one small function each, for the pages to ask


def drawing_store(role=None):
    """The drawings this person may see: all of them for the host, their own for a visitor."""
    role = role or current_role()
    return DrawingStore(
        resources.drawing_store().path, owner=None if role.is_host else role.visitor_id, quotas=SETTINGS.quotas
    )


def can_change_models(role):
    """Delete models and choose the model in use: the host only."""
    return role.is_host


def can_stop_job(role, starter_id):
    """Stop (or delete) a job: the host, or the visitor who started it."""
    return role.is_host or (starter_id is not None and starter_id == role.visitor_id)


def models_quota_problem():
    """Why no new model may be stored, or None: the number of stored models is capped."""
    limit = SETTINGS.quotas.stored_models
    count = len(resources.model_store().list())
    if count < limit:
        return None
    return (
        f"There are {count} stored models, the most this app keeps ({limit}, set by DIGIT_APP_MAX_MODELS). "
        "The host can delete some on the Models page; then train again."
    )


NOT_HOST = "Only the host can do this."
READ_ONLY = "The host has made the app read-only for visitors."
