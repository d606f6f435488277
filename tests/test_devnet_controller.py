"""The devnet controller (devnet/controller.py): starts `manage.py devnet`, drives it over HTTP, stops it."""
from __future__ import annotations

import os

import pytest
from stellar_sdk import Keypair

from devnet.controller import DevnetError, LocalDevnet


@pytest.fixture
def controlled(tmp_path):
    """A manual-close devnet started by the controller, stopped after the test."""
    node = LocalDevnet(tmp_path / "chain", close_interval=0)
    yield node
    node.stop()


def test_a_started_devnet_answers_on_the_port_it_chose(controlled):
    controlled.start()
    assert controlled.port > 0
    assert controlled.call("getHealth")["status"] == "healthy"
    assert controlled.passphrase == controlled.call("getNetwork")["passphrase"]
    assert controlled.info["rpc_url"] == controlled.rpc_url


def test_a_restart_keeps_the_port_and_the_chain(controlled):
    controlled.start()
    account = Keypair.random().public_key
    controlled.fund(account)
    latest = controlled.close_ledgers(2)
    port = controlled.port
    controlled.restart()
    assert controlled.port == port
    assert controlled.latest_ledger() == latest
    assert controlled.server().load_account(account).sequence > 0


def test_stop_leaves_no_process_and_nothing_answering(controlled):
    controlled.start()
    pid = controlled.process.pid
    controlled.stop()
    assert controlled.process is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not controlled.healthy()


def test_a_bad_option_fails_with_the_devnets_own_message(tmp_path):
    node = LocalDevnet(tmp_path / "chain", protocol=99)
    with pytest.raises(DevnetError, match=r"exited with status 2: .*Invalid value for '--protocol'"):
        node.start()
    assert node.process is None


def test_a_refused_call_says_the_rpc_error_code(controlled):
    controlled.start()
    with pytest.raises(DevnetError, match=r"devnet_mint: .*\(-32602\)"):
        controlled.mint(Keypair.random().public_key, -1)
