"""Master key rotation: every data key re-wrapped under a new master key, no plaintext anywhere."""
import os
import subprocess
import sys
from pathlib import Path

from stellar_sdk import Account, Keypair, Network, TransactionBuilder

from chain.custody import Custody
from db.connection import database
from db.models import Farmer
from jobs.custody_rotation import rotate_master_key

ROOT = Path(__file__).resolve().parent.parent



def _signs(custody: Custody, farmer: Farmer) -> bool:
    envelope = (TransactionBuilder(Account(farmer.custodial_address, 1), Network.TESTNET_NETWORK_PASSPHRASE, 100)
                .append_bump_sequence_op(2).set_timeout(30).build())
    custody.sign_transaction(farmer, envelope)
    Keypair.from_public_key(farmer.custodial_address).verify(envelope.hash(), envelope.signatures[0].signature)
    return True


def test_rotation_rewraps_every_data_key_and_retires_the_old_master_key(app, make_farmer, api_settings):
    farmers = [make_farmer() for _ in range(3)]
    custody = app.extensions["kalepool"].custody
    old_id = custody.keystore.current_id()
    before = {f.id: bytes(f.secret_ciphertext) for f in Farmer.select()}
    result = rotate_master_key(custody)
    assert result.rewrapped == 3 and result.retired == (old_id,)
    assert custody.keystore.current_id() == result.new_key_id
    fresh = Custody.from_settings(api_settings)
    for farmer in Farmer.select():
        assert farmer.master_key_id == result.new_key_id
        assert bytes(farmer.secret_ciphertext) == before[farmer.id]  # the secret itself never reopened
        assert _signs(fresh, farmer)
    assert make_farmer() and len(farmers) == 3


def test_keys_rotate_command_round_trips_and_writes_no_plaintext(app, make_farmer, api_settings, postgres, seeds):
    for _ in range(2):
        make_farmer()
    env = {**os.environ, "DATABASE_URL": postgres, "KALEPOOL_STATE_DIR": str(api_settings.state_dir),
           "KALEPOOL_NETWORK": "devnet"}
    result = subprocess.run([sys.executable, "manage.py", "keys", "rotate"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "re-wrapped 2 data key(s)" in result.stdout
    custody = Custody.from_settings(api_settings)
    assert all(_signs(custody, farmer) for farmer in Farmer.select())
    dump = " ".join(str(row) for row in database.execute_sql("SELECT f::text FROM farmers f").fetchall())
    files = " ".join(path.read_text(errors="replace") for path in Path(api_settings.state_dir).rglob("*")
                     if path.is_file())
    for seed in seeds:
        assert seed not in result.stdout + result.stderr + dump + files
