"""A student without a browser: Streamlit's own WebSocket protocol, spoken with the app's protobufs.

A browser tab loads the page over HTTP, opens `/_stcore/stream` and sends a `BackMsg` whose
`rerun_script` carries the page and the widget states; the server answers with `ForwardMsg`s
(the page's elements as deltas) and ends every run with `script_finished`. `StudentSession` does
the same with `websocket-client` and the message classes shipped in the streamlit package, so a
load test measures the server, not a browser. `Widget.changed` picks another value for a widget
as a student would (another radio option, one more or one fewer fixed effect, a flipped
checkbox, another slider position).
"""
from __future__ import annotations

import random
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_OK = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
CHANGEABLE = ("radio", "selectbox", "multiselect", "checkbox", "slider", "number_input", "button")


class RerunError(RuntimeError):
    """A run that did not finish cleanly: an exception element, a failed script or a lost page."""


@dataclass(frozen=True)
class Widget:
    """One widget as the server drew it: its kind, id, label and element message."""
    kind: str
    id: str
    label: str
    element: object  # the widget's protobuf (Radio, Selectbox, ...)

    def changed(self, rng: random.Random, current: object = None) -> WidgetState | None:
        """A new state for this widget, as a student's click would send it (None if it has no other value)."""
        e = self.element
        state = WidgetState(id=self.id)
        if self.kind in ("radio", "selectbox"):
            now = current if current is not None else _option_value(e)
            others = [o for o in e.options if o != now]
            if not others:
                return None
            state.string_value = rng.choice(others)
        elif self.kind == "multiselect":
            now = list(current) if current is not None else _multi_value(e)
            option = rng.choice(list(e.options)) if e.options else None
            if option is None:
                return None
            chosen = [o for o in now if o != option] if option in now else [*now, option]
            if e.max_selections and len(chosen) > e.max_selections:
                return None
            state.string_array_value.data.extend(chosen)
        elif self.kind == "checkbox":
            state.bool_value = not (current if current is not None else (e.value if e.set_value else e.default))
        elif self.kind == "slider":
            return self._slider(rng, state)
        elif self.kind == "number_input":
            low = e.min if e.has_min else e.default - 10 * (e.step or 1)
            high = e.max if e.has_max else e.default + 10 * (e.step or 1)
            steps = int(round((high - low) / (e.step or 1)))
            value = low + rng.randint(0, max(steps, 0)) * (e.step or 1)
            if e.data_type == e.INT:
                state.int_value = int(round(value))
            else:
                state.double_value = value
        elif self.kind == "button":
            state.trigger_value = True
        else:
            return None
        return state

    def _slider(self, rng: random.Random, state: WidgetState) -> WidgetState:
        e = self.element
        n = len(e.default)
        if e.type == Slider.SELECT_SLIDER:
            picks = sorted(rng.sample(range(len(e.options)), n)) if len(e.options) >= n else [0] * n
            state.string_array_value.data.extend(e.options[i] for i in picks)
            return state
        steps = max(int(round((e.max - e.min) / (e.step or 1))), 0)
        picks = sorted(rng.randint(0, steps) for _ in range(n))
        state.double_array_value.data.extend(e.min + k * (e.step or 1) for k in picks)
        return state


def _option_value(e) -> str | None:
    if e.set_value:
        return e.raw_value
    return e.options[e.default] if 0 <= e.default < len(e.options) else None


def _multi_value(e) -> list[str]:
    return list(e.raw_values) if e.set_value else [e.options[i] for i in e.default if i < len(e.options)]


def state_value(state: WidgetState) -> object:
    """The plain value a WidgetState carries (for remembering what a student has set)."""
    kind = state.WhichOneof("value")
    value = getattr(state, kind)
    return list(value.data) if hasattr(value, "data") else value


@dataclass
class Rerun:
    """What one run sent back: how long it took, the widgets drawn, any exception, the pages."""
    seconds: float
    widgets: list[Widget] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)  # url path ("" for Home) -> page_script_hash
    page_hash: str = ""
    status: int = ForwardMsg.FINISHED_SUCCESSFULLY
    elements: int = 0
    headings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.exceptions and self.status in FINISHED_OK


class StudentSession:
    """One browser tab's WebSocket session with a Streamlit server (directly or through a proxy)."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = _load_page_cookies(self.base_url, timeout)
        parts = urlsplit(self.base_url)
        ws_url = f"ws://{parts.netloc}{parts.path}/_stcore/stream"
        header = [f"Cookie: {'; '.join(f'{k}={v}' for k, v in self.cookies.items())}"] if self.cookies else []
        self.ws = websocket.create_connection(ws_url, subprotocols=["streamlit"], timeout=timeout,
                                              header=header, enable_multithread=True)
        # nginx's X-Upstream (deploy/nginx-site.conf.in) names the replica; None when direct
        self.upstream = (self.ws.getheaders() or {}).get("x-upstream")

    def run(self, page_hash: str = "", states: Iterable[WidgetState] = ()) -> Rerun:
        """Ask for a rerun of a page with these widget states; wait for script_finished."""
        msg = BackMsg()
        msg.rerun_script.page_script_hash = page_hash
        msg.rerun_script.widget_states.widgets.extend(states)
        start = time.perf_counter()
        self.ws.send_binary(msg.SerializeToString())
        result = Rerun(seconds=0.0)
        deadline = start + self.timeout
        while True:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no script_finished within {self.timeout:.0f} s")
            fwd = ForwardMsg()
            fwd.ParseFromString(self.ws.recv())
            if _read(fwd, result):
                result.seconds = time.perf_counter() - start
                return result

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> StudentSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read(fwd: ForwardMsg, result: Rerun) -> bool:
    """Fold one ForwardMsg into the run's result; True when the run has finished."""
    kind = fwd.WhichOneof("type")
    if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
        _read_element(fwd.delta.new_element, result)
    elif kind == "navigation":
        result.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
    elif kind == "new_session":
        result.page_hash = fwd.new_session.page_script_hash
    elif kind == "page_not_found":
        result.exceptions.append(f"page not found: {fwd.page_not_found.page_name}")
    elif kind == "script_finished":
        result.status = fwd.script_finished
        return fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
    return False


def _read_element(element: Element, result: Rerun) -> None:
    result.elements += 1
    kind = element.WhichOneof("type")
    if kind == "exception":
        result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
    elif kind == "heading":
        result.headings.append(element.heading.body)
    elif kind in CHANGEABLE:
        w = getattr(element, kind)
        if not w.disabled and not w.form_id:
            result.widgets.append(Widget(kind, w.id, w.label, w))


def _load_page_cookies(base_url: str, timeout: float) -> dict[str, str]:
    """GET the app's page as a browser would; keep its cookies (a proxy's sticky-session cookie)."""
    with urllib.request.urlopen(base_url + "/", timeout=timeout) as r:
        r.read()
        cookies = {}
        for header in r.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            cookies[name.strip()] = value.strip()
        return cookies


class Student:
    """A student's tour: open the app, visit pages, change widgets; remembers what was set."""

    def __init__(self, base_url: str, rng: random.Random, timeout: float = 60.0):
        self.base_url = base_url
        self.rng = rng
        self.timeout = timeout
        self.session: StudentSession | None = None
        self.pages: dict[str, str] = {}
        self.page = ""  # url path of the current page ("" for Home)
        self.widgets: list[Widget] = []
        self.values: dict[str, object] = {}  # widget id -> value this student set

    def connect(self) -> Rerun:
        """A fresh session on the current page (a new tab, or the reconnect after a lost server)."""
        if self.session is not None:
            self.close()
        self.values.clear()  # a new session starts from the widgets' defaults
        self.session = StudentSession(self.base_url, self.timeout)
        return self._run(self.pages.get(self.page, ""))

    def visit(self, page: str) -> Rerun:
        self.page = page
        return self._run(self.pages[page])

    def change_widget(self) -> tuple[Widget, Rerun] | None:
        """Change one widget of the current page to another value; None if it has none."""
        for widget in self.rng.sample(self.widgets, len(self.widgets)):
            state = widget.changed(self.rng, self.values.get(widget.id))
            if state is not None:
                if widget.kind != "button":
                    self.values[widget.id] = state_value(state)
                return widget, self._run(self.pages.get(self.page, ""), [state])
        return None

    def _run(self, page_hash: str, states: Iterable[WidgetState] = ()) -> Rerun:
        result = self.session.run(page_hash, states)
        self.widgets = result.widgets
        self.pages = result.pages or self.pages
        if not result.ok:
            raise RerunError("; ".join(result.exceptions) or f"script finished with status {result.status}")
        return result

    @property
    def upstream(self) -> str | None:
        return self.session.upstream if self.session is not None else None

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except (websocket.WebSocketException, OSError):
                pass  # a connection already lost has nothing left to close
            finally:
                self.session = None
