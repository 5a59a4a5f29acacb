"""Data and repeated measures: the table, str(), long vs wide, families, curves over time."""
import streamlit as st

from lib.data.immune import (
    individual_choices,
    individuals_per_family,
    load_prepared,
    load_raw,
    to_wide,
)
from lib.rprint.rstr import str_summary
from ui import cache
from ui import exercises
from ui.widgets import people_picker, show_chart

raw, prepared = load_raw(), load_prepared()
pairs = cache.id_pairs("all")

st.title("Data and repeated measures")
st.markdown(
    f"""
Each row is **one person at one month**: {len(raw):,} rows =
{raw[['IndID', 'Sex']].drop_duplicates().shape[0]} people × {raw['Time'].nunique()} months.

* **FamID**: the person's extended family (same maternal grandparents), 1 to 8
* **IndID**: an ID code — but {pairs.sentence()}
* **Time**: month of measurement, 0 to 17
* **Sex**: F or M
* **IgG**: concentration of immunoglobulin G in the blood
"""
)

st.header("The table")
shape = st.radio("Layout", ["Long (one row per person and month)", "Wide (one row per person)"],
                 horizontal=True, key="layout")
table = prepared if shape.startswith("Long") else to_wide(prepared)
st.dataframe(table, hide_index=True, height=280)
st.caption(f"{table.shape[0]:,} rows × {table.shape[1]} columns. The tutorial's data is in the "
           "long format; the wide one puts the 18 months side by side (`IgG.0` … `IgG.17`).")

st.header("What R sees: `str()`")
st.markdown("As `read.csv()` reads the file:")
st.code(str_summary(raw), language=None)
st.markdown("After `as.factor()` of IndID, FamID and Sex:")
st.code(str_summary(prepared), language=None)
st.markdown(
    """
`read.csv()` sees only digits in FamID and IndID, so it makes them **integers** — numbers
that a model would treat as a measurement, as if family 8 had "more family" than family 1.
Only after `as.factor()` are they labels: 8 families and 135 ID codes. (Sex, text, becomes a
factor once converted; the next page shows what goes wrong when FamID stays an integer.)
"""
)

st.header("Individuals per family at month 0")
st.dataframe(individuals_per_family(raw), hide_index=True)
st.markdown("The families are **unbalanced**: between 26 and 41 people each. People of one "
            "family are alike, as the plot shows:")
show_chart(cache.family_tick_chart())

st.header("IgG over time")
choices = individual_choices(raw)
chosen = people_picker("People to highlight (IndID-Sex)", choices, choices[:4], key="individuals")
show_chart(cache.people_over_time_chart(tuple(chosen)))
st.markdown(
    """
**Why the rows are not independent.** The 18 measurements of one person lie on one curve:
knowing month 3 tells you a lot about month 4. An `lm()` over all rows would count
4,860 observations where there are 270 people — **pseudoreplication**, which makes
standard errors too small. Relatives add a second layer: people of the same family
respond alike. Mixed models account for both.
"""
)

exercises.show("data", raw=raw)
