"""The Models page's table in the real app: it sorts, and the selected row is renamed and put in use."""

import re

from playwright.sync_api import expect

from digit_app.ui.models_table import COLUMNS
from tests.e2e import app_driver

WIDTHS = {name: column["width"] for name, column in COLUMNS.items()}
MODEL, NAME, STATUS, TEST_ACCURACY = (list(COLUMNS).index(name) for name in ("Model", "Name", "Status", "Test accuracy"))


def _column(page, index):
    return [row[index] for row in app_driver.table_rows(page)]


def _row(page, model_id):
    """The row whose first cell is the model's id: another model's row may name it too (a sweep
    trial's architecture, say)."""
    return page.locator(f"{app_driver.DATAFRAME} tbody tr").filter(has_text=re.compile(f"^{re.escape(model_id)}"))


def _select(page, model_id):
    """Tick the box of the model's row, wherever sorting has put it."""
    row = _column(page, MODEL).index(model_id) + 1
    app_driver.rerun_after(page, lambda: app_driver.click_table(page, app_driver.TABLE_ROW_MARKER_WIDTH / 2, row))


def test_the_models_table_sorts_renames_and_activates(host, app_url, model_store, screenshot):
    page = app_driver.open_app(host, app_url, "models")
    shown = _column(page, MODEL)
    assert sorted(shown) == sorted(meta["id"] for meta in model_store.list())
    accuracies = {meta["id"]: f"{meta['test_accuracy'] * 100:.2f}".rstrip("0").rstrip(".") for meta in model_store.list()}
    assert dict(zip(shown, _column(page, TEST_ACCURACY))) == accuracies
    assert dict(zip(shown, _column(page, STATUS)))["default-cnn"] == "in use"

    # Models of equal accuracy (sweep trials, say) may come in either order: compare accuracies.
    ascending = sorted(float(accuracy) for accuracy in accuracies.values())
    assert [float(accuracies[model_id]) for model_id in shown] != ascending, \
        "the table must not start sorted by accuracy, or sorting proves nothing"
    first_accuracy = page.locator(f"{app_driver.DATAFRAME} tbody tr").first.locator("td").nth(TEST_ACCURACY)
    lowest, highest = min(accuracies.values(), key=float), max(accuracies.values(), key=float)
    app_driver.click_table(page, app_driver.header_x(WIDTHS, "Test accuracy"), 0)
    expect(first_accuracy).to_have_text(lowest)
    assert [float(accuracies[model_id]) for model_id in _column(page, MODEL)] == ascending
    app_driver.click_table(page, app_driver.header_x(WIDTHS, "Test accuracy"), 0)
    expect(first_accuracy).to_have_text(highest)
    assert [float(accuracies[model_id]) for model_id in _column(page, MODEL)] == ascending[::-1]
    screenshot(page, "sorted-by-accuracy")

    _select(page, "dense-32-64")
    expect(page.get_by_role("heading").filter(has_text="dense-32-64")).to_be_visible()
    page.locator(".st-key-name_dense-32-64 input").fill("Tiny dense")
    page.locator(".st-key-note_dense-32-64 textarea").fill("The first notebook's net, for comparison.")
    app_driver.rerun_after(page, page.get_by_role("button", name="Save name and note").click)
    expect(page.get_by_role("heading").filter(has_text="Tiny dense")).to_be_visible()
    expect(_row(page, "dense-32-64")).to_contain_text("Tiny dense")  # the grid redraws a moment later
    assert dict(zip(_column(page, MODEL), _column(page, NAME)))["dense-32-64"] == "Tiny dense"
    meta = model_store.metadata("dense-32-64")
    assert meta["name"] == "Tiny dense" and meta["note"] == "The first notebook's net, for comparison."

    app_driver.rerun_after(page, page.locator(".st-key-activate_dense-32-64 button").click)
    expect(page.locator(".st-key-activate_dense-32-64 button")).to_have_text(re.compile("In use"))
    assert model_store.active_id() == "dense-32-64"
    expect(_row(page, "dense-32-64")).to_contain_text("in use")
    assert dict(zip(_column(page, MODEL), _column(page, STATUS)))["dense-32-64"] == "in use"
    assert dict(zip(_column(page, MODEL), _column(page, STATUS)))["default-cnn"] == ""
    screenshot(page, "renamed-and-in-use")
    model_store.describe("dense-32-64", "", "")  # the other tests find the shipped copy as it was
