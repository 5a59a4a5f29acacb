"""bench/st_client.py, the load test's student: widget changes, and one session with a real server."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.MultiSelect_pb2 import MultiSelect
from streamlit.proto.Radio_pb2 import Radio
from streamlit.proto.Slider_pb2 import Slider

from bench.st_client import Student, Widget, state_value
from deploy.cluster import Cluster
from lib.teach.contents import available_sections


def test_a_radio_moves_to_another_option():
    w = Widget("radio", "r", "Fit by", Radio(id="r", options=["REML", "ML"], default=0))
    assert state_value(w.changed(random.Random(1))) == "ML"
    assert state_value(w.changed(random.Random(1), current="ML")) == "REML"


def test_a_multiselect_gains_or_loses_one_option():
    w = Widget("multiselect", "m", "Fixed", MultiSelect(id="m", options=["Sex", "Time", "Sex:Time"], default=[0]))
    for seed in range(10):
        after = state_value(w.changed(random.Random(seed)))
        assert len(set(after) ^ {"Sex"}) == 1 and set(after) <= {"Sex", "Time", "Sex:Time"}


def test_a_checkbox_flips_and_a_slider_stays_on_its_grid():
    box = Widget("checkbox", "c", "intercept", Checkbox(id="c", default=True))
    assert state_value(box.changed(random.Random(0))) is False
    slider = Widget("slider", "s", "Month", Slider(id="s", min=0, max=17, step=1, default=[0]))
    values = [state_value(slider.changed(random.Random(seed)))[0] for seed in range(20)]
    assert all(0 <= v <= 17 and v == int(v) for v in values) and len(set(values)) > 1


@pytest.fixture(scope="module")
def server():
    with Cluster(replicas=1, nginx=False, timeout=60) as c:
        yield c.url


def test_a_student_sees_every_page_and_changes_a_widget(server):
    student = Student(server, random.Random(0), timeout=60)
    try:
        home = student.connect()
        assert home.ok and home.widgets
        wanted = {Path(s.page).stem for s in available_sections()}
        assert set(student.pages) == (wanted - {"home"}) | {""}  # Home is the default page, at /
        student.visit("fixed_effects")
        before = {w.id for w in student.widgets}
        widget, rerun = student.change_widget()
        assert rerun.ok and widget.id in before
        assert student.values[widget.id] is not None or widget.kind == "button"
    finally:
        student.close()
