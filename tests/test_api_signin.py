"""Sign-in with the payout account (SEP-10): a lost token never locks a farmer out of its money."""
import time

from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.sep.stellar_web_authentication import build_challenge_transaction

from db.models import UsedChallenge
from tests.signing import registered_farmer, signed_challenge
from web import sep10


def test_any_account_gets_a_challenge_signed_by_the_pool_for_this_network(pool_harness):
    stranger = Keypair.random().public_key  # not a farmer's: the pool still answers
    response = pool_harness.api("POST", "/auth/challenge", json={"account": stranger})
    assert response.status_code == 200
    body = response.json()
    assert body["network_passphrase"] == pool_harness.settings.network.passphrase
    envelope = TransactionEnvelope.from_xdr(body["transaction"], body["network_passphrase"])
    transaction = envelope.transaction
    assert transaction.sequence == 0 and transaction.operations[0].source.account_id == stranger
    assert transaction.preconditions.time_bounds.max_time == body["expires_at"] > time.time()
    server = Keypair.from_public_key(transaction.source.account_id)
    server.verify(envelope.hash(), envelope.signatures[0].signature)


def test_a_farmer_that_lost_its_token_gets_a_new_one_and_the_old_one_stops_working(pool_harness):
    farmer = pool_harness.new_farmer(pool_harness.new_pooler())

    response = pool_harness.api("POST", "/auth/token", json={"transaction": signed_challenge(pool_harness,
                                                                                             farmer.payout)})

    assert response.status_code == 200, response.text
    assert response.json()["farmer_id"] == farmer.id
    new_token = response.json()["api_token"]
    assert new_token.startswith("kpf_") and new_token != farmer.token
    assert pool_harness.api("GET", "/farmers/me", token=new_token).json()["farmer_id"] == farmer.id
    assert pool_harness.api("GET", "/farmers/me", token=farmer.token).status_code == 401


def test_a_challenge_signed_by_another_key_is_refused(pool_harness):
    payout = Keypair.random()
    created = registered_farmer(pool_harness, payout.public_key)
    forged = signed_challenge(pool_harness, Keypair.random(), account=payout.public_key)

    response = pool_harness.api("POST", "/auth/token", json={"transaction": forged})

    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_challenge"
    assert pool_harness.api("GET", "/farmers/me", token=created["api_token"]).status_code == 200


def test_a_challenge_the_pool_did_not_sign_is_refused(pool_harness):
    payout = Keypair.random()
    registered_farmer(pool_harness, payout.public_key)
    settings = pool_harness.settings
    own = build_challenge_transaction(Keypair.random().secret, payout.public_key, settings.web_auth_domain,
                                      settings.web_auth_domain, settings.network.passphrase)
    envelope = TransactionEnvelope.from_xdr(own, settings.network.passphrase)
    envelope.sign(payout)

    response = pool_harness.api("POST", "/auth/token", json={"transaction": envelope.to_xdr()})

    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_challenge"


def test_an_expired_challenge_is_refused(pool_harness, monkeypatch):
    payout = Keypair.random()
    registered_farmer(pool_harness, payout.public_key)
    monkeypatch.setattr(sep10, "CHALLENGE_SECONDS", 1)
    transaction = signed_challenge(pool_harness, payout)
    expires_at = TransactionEnvelope.from_xdr(transaction, pool_harness.settings.network.passphrase) \
        .transaction.preconditions.time_bounds.max_time
    while time.time() <= expires_at + 1:
        time.sleep(0.2)

    response = pool_harness.api("POST", "/auth/token", json={"transaction": transaction})

    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_challenge"
    assert "timebounds" in response.json()["error"]["message"]


def test_a_replayed_challenge_is_refused(pool_harness):
    payout = Keypair.random()
    registered_farmer(pool_harness, payout.public_key)
    transaction = signed_challenge(pool_harness, payout)
    first = pool_harness.api("POST", "/auth/token", json={"transaction": transaction})
    assert first.status_code == 200

    replay = pool_harness.api("POST", "/auth/token", json={"transaction": transaction})

    assert replay.status_code == 401 and replay.json()["error"]["code"] == "challenge_used"
    assert pool_harness.api("GET", "/farmers/me", token=first.json()["api_token"]).status_code == 200
    assert UsedChallenge.select().count() == 1


def test_farmers_sharing_a_payout_address_must_say_which_one_signs_in(pool_harness):
    payout = Keypair.random()
    first = registered_farmer(pool_harness, payout.public_key)
    second = registered_farmer(pool_harness, payout.public_key)
    transaction = signed_challenge(pool_harness, payout)

    ambiguous = pool_harness.api("POST", "/auth/token", json={"transaction": transaction})
    assert ambiguous.status_code == 409 and ambiguous.json()["error"]["code"] == "ambiguous"
    chosen = pool_harness.api("POST", "/auth/token", json={"transaction": transaction,
                                                           "farmer_id": second["farmer_id"]})

    assert chosen.status_code == 200 and chosen.json()["farmer_id"] == second["farmer_id"]
    assert pool_harness.api("GET", "/farmers/me", token=first["api_token"]).status_code == 200
    assert pool_harness.api("GET", "/farmers/me", token=second["api_token"]).status_code == 401


def test_an_account_that_pays_no_farmer_gets_no_token(pool_harness):
    stranger = Keypair.random()

    response = pool_harness.api("POST", "/auth/token", json={"transaction": signed_challenge(pool_harness,
                                                                                             stranger)})

    assert response.status_code == 404 and "api_token" not in response.text


def test_a_transaction_that_is_not_an_envelope_is_a_400(pool_harness):
    for garbage in ("abc", "AAAA", "!" * 40):
        response = pool_harness.api("POST", "/auth/token", json={"transaction": garbage})
        assert response.status_code == 400, garbage
        assert response.json()["error"]["code"] == "invalid_field"


def test_the_signing_key_is_kept_in_the_keyring_and_never_shown(pool_harness):
    with pool_harness.app.app_context():
        server = sep10.server_keypair()
    challenge = pool_harness.api("POST", "/auth/challenge", json={"account": Keypair.random().public_key})
    assert TransactionEnvelope.from_xdr(challenge.json()["transaction"],
                                        pool_harness.settings.network.passphrase).transaction.source.account_id \
        == server.public_key
    assert server.secret not in challenge.text
    keyring_file = pool_harness.settings.state_dir / "keyring" / "devnet.json"
    assert server.secret in keyring_file.read_text()


def test_the_sign_in_endpoints_are_in_the_openapi_description(pool_harness):
    paths = pool_harness.api("GET", "/openapi.json").json()["paths"]
    assert {"/api/v1/auth/challenge", "/api/v1/auth/token", "/api/v1/farmers/me/payout-address",
            "/api/v1/farmers/me/payout-address/pending"} <= set(paths)
