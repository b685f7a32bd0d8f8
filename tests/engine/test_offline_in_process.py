"""Nothing is downloaded with isolation off either, and the caller's network is back when the preflight ends.

The probe process refuses every connection for its life; a preflight that runs the user's code in the caller's
process (a notebook, a script, ``isolation="off"``) refuses them only while that code runs.
"""

from __future__ import annotations

import socket

from pytest_hypermodel import preflight
from pytest_hypermodel.rules import offline
from tests.hypermodels.realistic import downloads_for_one_value

URL = "https://storage.googleapis.com/tensorflow/keras-applications/w.h5"


def test_a_download_in_this_process_is_refused_and_the_network_is_back_after(tmp_path):
    before = (socket.getaddrinfo, socket.create_connection, dict(vars(socket.socket)))
    report = preflight(
        downloads_for_one_value,
        strategy="extremes",
        epochs=1,
        boundaries=False,
        rehearsal=False,
        rootpath=tmp_path,
        isolation="off",
    )
    downloading = {case["case.id"] for case in report.cases if case.get("download")}
    assert downloading == {c["case.id"] for c in report.cases if c["values"]["weights"] == "imagenet"} != set()
    assert {case["download"] for case in report.cases if case.get("download")} == {URL}
    assert (socket.getaddrinfo, socket.create_connection, dict(vars(socket.socket))) == before


def test_the_block_is_reentrant_and_lifted_by_the_outermost():
    original = socket.getaddrinfo
    with offline.blocked():
        with offline.blocked():
            pass
        try:
            socket.getaddrinfo("example.com", 443)
        except offline.NetworkBlocked as exc:
            assert offline.attempted_download(str(exc)) == "example.com"
        else:
            raise AssertionError("a lookup inside the block was not refused")
    assert socket.getaddrinfo is original
