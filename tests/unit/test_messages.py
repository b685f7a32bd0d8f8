"""The probe pipe's messages: each crosses as its name and its fields, and the child's handler for a request takes
exactly that request's fields as keyword arguments."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from pytest_hypermodel.probe import child, messages


def test_each_reply_crosses_the_pipe_as_its_name_and_fields():
    for reply in (
        messages.Ready(backend="tensorflow", device="CPU"),
        messages.Building(during=None),
        messages.Building(during=messages.GRID_BUILDS),
        messages.Probed(result={"case_id": "default"}),
        messages.SpecFailed(message="no such hypermodel"),
        messages.Bug(traceback="Traceback..."),
    ):
        wire = pickle.loads(pickle.dumps(reply.wire()))
        assert wire[0] == reply.name
        assert messages.reply(wire) == reply


def test_a_reply_of_no_known_name_is_refused():
    with pytest.raises(ValueError, match="not a reply"):
        messages.reply(("done", {}))
    with pytest.raises(RuntimeError, match="'bug' where 'prepared' was due"):
        messages.expect(messages.Bug(traceback=""), messages.Prepared)


def test_each_request_has_one_handler_that_takes_its_fields():
    handlers = {**child.ANSWERING, **child.KEEPING}
    assert set(handlers) == set(messages.REQUESTS)
    assert not set(child.ANSWERING) & set(child.KEEPING)
    for name, kind in messages.REQUESTS.items():
        parameters = inspect.signature(handlers[name]).parameters.values()
        keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
        assert keywords == {field.name for field in dataclasses.fields(kind)}, name
        assert all(p.default is inspect.Parameter.empty for p in parameters), name


def test_a_nested_record_stays_a_record():
    from pytest_hypermodel.rules.policy import Policy

    policy = Policy()
    wire = messages.Probe(spec="m.py:build", space=None, case=None, policy=policy, settings=None, repair=()).wire()
    assert wire[1]["policy"] is policy
