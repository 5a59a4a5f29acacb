"""Entry point: `python -m streamlit run app.py`. Pages come from lib.teach.contents, in tutorial order."""
import streamlit as st

from lib.teach.contents import available_sections, groups
from ui.cache import warm_up

st.set_page_config(page_title="Linear mixed models, step by step", page_icon=":material/school:",
                   layout="wide")

sections = available_sections()
navigation = {
    group: [st.Page(s.page, title=s.title, icon=s.icon, default=(s is sections[0]))
            for s in members]
    for group, members in groups(sections).items()
}
warm_up()  # once per process: every page's default fits and figures, in a background thread
st.navigation(navigation).run()
