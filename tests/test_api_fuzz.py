"""Schemathesis against a running ``roost serve``: no 5xx, every response as documented."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from roost.core.pages import encode
from roost.plugins.api.steer_schemas import CURSOR_FORMATS
from served import serve

# Valid cursors, as the listings hand them out: a schema cannot say "one roost made".
TASK_IDS = st.from_regex(r"\A[0-9a-f]{24}\Z")
schemathesis.openapi.format(
    CURSOR_FORMATS["tasks"], TASK_IDS.map(lambda i: encode("tasks", before=i))
)
schemathesis.openapi.format(
    CURSOR_FORMATS["tweets"],
    st.builds(lambda t, a: encode("records", c="tweets", t=t, after=a), TASK_IDS, st.text()),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``roost serve --no-worker`` process on a fresh SQLite file."""
    with serve(tmp_path_factory.mktemp("fuzz")) as served:
        yield served.url
    err = served.log.read_text(encoding="utf-8", errors="replace")
    assert served.proc.returncode == 0, err
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def api_schema(server: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server + "/api/v4/openapi.json")


def operations(api_schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    return [result.ok() for result in api_schema.get_all_operations()]


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(api_schema: schemathesis.BaseSchema) -> None:
    """Generated valid and invalid requests for every operation: no 5xx, responses as documented."""
    ops = operations(api_schema)
    assert len(ops) == 16
    for op, mode in itertools.product(ops, schemathesis.GenerationMode):
        if mode is schemathesis.GenerationMode.NEGATIVE and not (
            op.body or op.path_parameters or op.query
        ):
            continue  # nothing to make invalid

        @hypothesis.settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=op.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        check()
