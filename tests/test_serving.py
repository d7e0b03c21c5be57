"""The serving settings: every DIGIT_APP_* problem found at once, one line each; loopback or not."""

import pytest

from digit_app import serving


def test_no_settings_give_the_defaults():
    settings = serving.from_environment({})
    assert settings.shared is None and not settings.visitors_read_only and settings.host_token is None
    assert settings.quotas == serving.Quotas(2_000, 40_000, 200, 40)


def test_every_bad_setting_is_one_line(tmp_path):
    environ = {
        "DIGIT_APP_MODELS": "",
        "DIGIT_APP_DRAWINGS_DB": str(tmp_path / "missing-folder" / "d.sqlite3"),
        "DIGIT_APP_TRAIN_LIMIT": "abc",
        "DIGIT_APP_SHARED": "maybe",
        "DIGIT_APP_MAX_MODELS": "2",
        "DIGIT_APP_HOST_TOKEN": "short",
    }
    with pytest.raises(serving.SettingsError) as raised:
        serving.from_environment(environ)
    problems = raised.value.problems
    assert len(problems) == 6 and str(raised.value).count("\n") == 5
    assert problems[0] == "DIGIT_APP_MODELS is set but empty: set it to a models folder, or unset it to use the default."
    assert any(line.startswith("DIGIT_APP_DRAWINGS_DB=") and "does not exist; create it first." in line for line in problems)
    assert "DIGIT_APP_TRAIN_LIMIT='abc': expected a whole number of training digits from 20 to 60000; fix or unset it." in problems
    assert "DIGIT_APP_MAX_MODELS='2': expected a whole number of at least 3 (default 40); fix or unset it." in problems


def test_a_models_path_that_does_not_exist_is_refused_not_created(tmp_path):
    missing = tmp_path / "new-models"
    with pytest.raises(serving.SettingsError, match="no such path; create it"):
        serving.from_environment({"DIGIT_APP_MODELS": str(missing)})
    assert not missing.exists()


@pytest.mark.parametrize(
    "address, shared_setting, serves_others",
    [
        ("localhost", None, False),
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("0.0.0.0", None, True),
        (None, None, True),  # Streamlit's default listens on every interface
        ("192.168.1.20", None, True),
        ("127.0.0.1", True, True),  # DIGIT_APP_SHARED=1 says so
        ("0.0.0.0", False, False),
    ],
)
def test_who_can_reach_the_app(address, shared_setting, serves_others):
    settings = serving.ServingSettings(shared=shared_setting)
    assert serving.serves_others(settings, address) is serves_others


def test_the_host_link_and_cookie():
    token = serving.new_host_token()
    assert len(token) >= serving.MIN_HOST_TOKEN_LENGTH
    assert serving.host_link(token, "0.0.0.0", 8501) == f"http://localhost:8501/?host_token={token}"
    cookie = serving.host_cookie_value(token)
    assert token not in cookie and serving.same_secret(cookie, serving.host_cookie_value(token))
    assert not serving.same_secret(None, cookie) and not serving.same_secret("x", cookie)
