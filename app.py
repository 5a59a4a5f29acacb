"""Entry point: `python -m streamlit run app.py`. Pages come from lib.teach.contents, in tutorial order."""
import streamlit as st

from lib.teach.contents import available_sections, groups
from ui.experiment import leave
from ui.preload import preload_element_scripts
from ui.warmup import warm_in_background

st.set_page_config(page_title="Linear mixed models, step by step", page_icon=":material/school:",
                   layout="wide")

sections = available_sections()
navigation = {
    group: [st.Page(s.page, title=s.title, icon=s.icon, default=(s is sections[0]))
            for s in members]
    for group, members in groups(sections).items()
}
page = st.navigation(navigation)
leave(page)  # another page than the experiment: its run stops (ui/experiment.py)
page.run()
warm_in_background()  # the first page is drawn: import what the other pages need (ui/warmup.py)
preload_element_scripts()  # ... and in the browser, the scripts their elements need (ui/preload.py)
