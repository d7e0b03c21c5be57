"""Settings from the environment: the pages' training limit."""

import pytest

from digit_app.settings import TRAIN_LIMIT_ENV_VAR, train_limit_from_environment


@pytest.mark.parametrize(
    "value, expected",
    [(None, None), ("", None), ("500", 500), (" 3000 ", 3000)],
)
def test_train_limit_from_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(TRAIN_LIMIT_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, value)
    assert train_limit_from_environment() == expected


@pytest.mark.parametrize(
    "value, message",
    [
        ("lots", "DIGIT_APP_TRAIN_LIMIT must be a whole number of training digits, got 'lots'; fix or unset it"),
        ("10", "DIGIT_APP_TRAIN_LIMIT: Training samples must be a whole number from 20 to 60000, got 10. Then fix"),
        ("70000", "from 20 to 60000, got 70000."),
    ],
)
def test_bad_train_limit_is_refused_with_the_fix(monkeypatch, value, message):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, value)
    with pytest.raises(ValueError) as error:
        train_limit_from_environment()
    assert message in str(error.value)
