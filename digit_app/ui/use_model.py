"""The "Use this model" button, which puts a model in use on the Draw page, and shows "In use" once
it is: on the Models page, under a training's result and under a fine-tune's."""

import streamlit as st

from digit_app.model_store import ModelStoreError
from digit_app.ui import access, resources

FAILED_KEY = "use_model_failed"  # why the last click did not put the model in use
EXPLANATION = "Make it the model that reads your drawings on the Draw page."


def use_model(model_id):
    """The button's callback: the host may put a model in use, if it loads."""
    if not access.can_change_models(access.current_role()):
        st.session_state[FAILED_KEY] = access.NOT_HOST
        return
    if problem := resources.load_problem(model_id):  # never make a model that cannot load the one in use
        st.session_state[FAILED_KEY] = f"{problem} It was not put in use."
        return
    try:
        resources.model_store().activate(model_id)
    except (ValueError, ModelStoreError) as error:  # e.g. deleted in another tab, a read-only folder
        st.session_state[FAILED_KEY] = str(error)


def take_failure():
    """Why the last click did not put a model in use, once; None when it did."""
    return st.session_state.pop(FAILED_KEY, None)


def use_model_button(model_id, *, key, in_use, in_use_label="In use on the Draw page", icon=":material/draw:",
                     primary=True, width="content", explanation=EXPLANATION):
    """'Use this model', or a disabled `in_use_label` when it is the model in use. The host sees
    `explanation` as its tooltip (None: none, where every card has the button); others see why
    they cannot click it."""
    if in_use:
        st.button(in_use_label, key=key, disabled=True, icon=":material/check:", width=width)
        return
    may_change = access.can_change_models(access.current_role())
    st.button(
        "Use this model", key=key, type="primary" if primary else "secondary", icon=icon, width=width,
        on_click=use_model, args=(model_id,), disabled=not may_change,
        help=explanation if may_change else access.NOT_HOST,
    )
