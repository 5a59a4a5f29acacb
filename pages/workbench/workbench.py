"""The model workbench: any mixed model on the bundled data or the user's CSV, compared and downloaded."""
import streamlit as st

from ui import workbench as ui

st.title("Model workbench")
st.markdown(
    """
Try your own models on the tutorial's data, the other bundled data sets, or **your own CSV file**:
build a model with the widgets (or type it in lme4's syntax), fit it, and keep it in the list to
compare it with others by `anova()` or `lrtest()`. Everything stays in your browser session: an
uploaded file is never saved on the server, and no one else sees it.
""")
chosen = ui.choose_data()
if chosen is None:
    models = ui.models_section()
    ui.compare_section(models)
    ui.downloads(models)
    st.stop()
data, frame = chosen
ui.time_and_units(data, frame)
choice, formula = ui.build_model(data, frame)
ui.fit_section(data, frame, choice, formula)
models = ui.models_section()
ui.compare_section(models)
ui.details_section(models)
ui.downloads(models)
