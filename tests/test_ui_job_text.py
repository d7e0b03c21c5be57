import pytest

from digit_app.ui.job_text import format_duration


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0 s"), (59.4, "59 s"), (65, "1 min 05 s"), (3599, "59 min 59 s"), (3600, "1 h 00 min"), (7380, "2 h 03 min")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
