"""Text tables show R's cells as written (st.table renders Markdown)."""
from streamlit.testing.v1 import AppTest

from ui.tables import escaped


def test_markdown_characters_are_escaped_and_the_rest_left_alone():
    assert escaped("***") == r"\*\*\*"
    assert escaped("lm LReg (FamID*Time + IndID*Time)") == r"lm LReg (FamID\*Time + IndID\*Time)"
    assert escaped("unique_ids(Sex, IndID) costs $5") == r"unique\_ids(Sex, IndID) costs \$5"
    assert escaped("Pr(>Chisq)") == "Pr(>Chisq)" and escaped("< 2.2e-16") == "< 2.2e-16"
    assert escaped(3.5) == 3.5


def test_the_lrtest_table_keeps_its_stars():
    """Issue 15: the lrtest table dropped R's significance stars (st.table read '***' as Markdown)."""
    def page():
        import streamlit as st  # noqa: F401
        import pandas as pd
        from ui.tables import text_table
        text_table(pd.DataFrame({"Chisq": ["19318"], "": ["***"]}, index=["2"]))

    at = AppTest.from_function(page).run()
    assert at.table[0].value[""].tolist() == [r"\*\*\*"]
