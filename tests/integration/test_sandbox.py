"""The sandbox over real HTTP on 127.0.0.1: raw httpx requests and hand-made JWTs, no client code.

What is asserted is what the sandbox stored or refused, read back through its own test
accessors (records, destroyed, due_keys, stats), not what a reply claims.
"""

from __future__ import annotations

import base64
import functools
import json
import ssl
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from opus_desktop.sandbox import Sandbox, SandboxConfig, describe
from opus_desktop.sandbox.dates import DatePattern
from tests.integration.conftest import MakeSandbox

GRAPH = "/records/connector/records"
LEGACY_SUBMIT = "/api/connector/SubmitRecords"
LEGACY_DUE = "/api/connector/GetDueRecords"
LEGACY_DESTROY = "/api/connector/DisposeRecords"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "records.readwrite.all"
RESOURCES = Path(__file__).resolve().parents[2] / "opus_desktop" / "resources" / "demo"


# -- helpers: certificates, assertions, tokens ---------------------------------------------------


@functools.cache
def new_certificate(days: int = 30) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A certificate the sandbox does not know (made once: key generation is slow)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test app")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def demo_credentials(sandbox: Sandbox) -> tuple[Any, x509.Certificate]:
    return _credentials(sandbox.key_pem_path.read_bytes(), sandbox.cert_pem_path.read_bytes())


@functools.cache
def _credentials(key_pem: bytes, cert_pem: bytes) -> tuple[Any, x509.Certificate]:
    # Checking an RSA key costs ~50 ms; the demo key is the same for every sandbox of a run.
    key = serialization.load_pem_private_key(key_pem, None, unsafe_skip_rsa_key_validation=True)
    return key, x509.load_pem_x509_certificate(cert_pem)


def token_endpoint(sandbox: Sandbox) -> str:
    return f"{sandbox.identity_url}/connect/token"


def make_assertion(
    sandbox: Sandbox,
    *,
    key: Any = None,
    cert: x509.Certificate | None = None,
    client_id: str | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client assertion as the documentation describes it; `claims` override (None removes)."""
    if key is None or cert is None:
        key, cert = demo_credentials(sandbox)
    client = client_id or sandbox.client_id
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client,
        "sub": client,
        "aud": token_endpoint(sandbox),
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    body.update(claims)
    digest = cert.fingerprint(hashes.SHA1())
    header = {
        "kid": digest.hex().upper(),
        "x5t": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        **(headers or {}),
    }
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None},
        key,
        algorithm="RS256",
        headers={k: v for k, v in header.items() if v is not None},
    )


def token_form(assertion: str, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    form.update(changes)
    return form


def bearer(client: httpx.Client, sandbox: Sandbox) -> dict[str, str]:
    reply = client.post(token_endpoint(sandbox), data=token_form(make_assertion(sandbox)))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


@pytest.fixture(scope="module")
def tls() -> ssl.SSLContext:
    # Loading the trust store takes tens of milliseconds; one per module is enough.
    return ssl.create_default_context()


@pytest.fixture
def client(tls: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, verify=tls) as http:
        yield http


@pytest.fixture
def auth(client: httpx.Client, sandbox: Sandbox) -> dict[str, str]:
    return bearer(client, sandbox)


# -- helpers: records ----------------------------------------------------------------------------


def record(key: str, **values: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "rowKey": key,
        "leafName": f"{key}.pdf",
        "timeCreated": "2024-03-01 09:30:00",
        "timeModified": "2024-03-02 10:00:00",
    }
    item.update(values)
    return item


def submit(
    client: httpx.Client,
    sandbox: Sandbox,
    auth: dict[str, str],
    items: list[dict[str, Any]],
    conflict: str = "Overwrite",
    legacy: bool = False,
) -> httpx.Response:
    body = {"id": sandbox.connection_id, "conflictOption": conflict, "data": items}
    path = LEGACY_SUBMIT if legacy else GRAPH
    return client.post(sandbox.url + path, json=body, headers=auth)


def graph_due(
    client: httpx.Client,
    sandbox: Sandbox,
    auth: dict[str, str],
    before: str,
    per_page: int,
    token: str = "",
) -> httpx.Response:
    params = {
        "id": sandbox.connection_id,
        "disposalDueDate": before,
        "startIndex": token,
        "itemsPerPage": str(per_page),
    }
    return client.get(sandbox.url + GRAPH, params=params, headers=auth)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


# -- identity ------------------------------------------------------------------------------------


def test_discovery_names_the_token_endpoint(client: httpx.Client, sandbox: Sandbox) -> None:
    reply = client.get(sandbox.identity_url + "/.well-known/openid-configuration")
    assert reply.status_code == 200
    document = reply.json()
    assert document["issuer"] == sandbox.identity_url
    assert document["token_endpoint"] == f"http://127.0.0.1:{sandbox.port}/identity/connect/token"
    assert document["grant_types_supported"] == ["client_credentials"]
    assert document["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert client.get(document["jwks_uri"]).json() == {"keys": []}


def test_a_good_assertion_gets_a_token(client: httpx.Client, sandbox: Sandbox) -> None:
    assertion = make_assertion(sandbox)
    reply = client.post(token_endpoint(sandbox), data=token_form(assertion))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == SCOPE
    assert sandbox.issued_tokens == [body["access_token"]]
    assert sandbox.issued_assertions == [assertion]
    stored = b"".join(path.read_bytes() for path in sandbox.directory.iterdir() if path.is_file())
    assert body["access_token"].encode() not in stored  # only its digest is kept
    assert sandbox.stats()["tokens_issued"] == 1


def _refusal(client: httpx.Client, sandbox: Sandbox, form: dict[str, str]) -> tuple[str, str]:
    reply = client.post(token_endpoint(sandbox), data=form)
    assert reply.status_code == 400, reply.text
    body = reply.json()
    return body["error"], body["error_description"]


REFUSALS: dict[str, tuple[str, str]] = {
    "bad signature": ("invalid_client", "signature"),
    "wrong audience": ("invalid_client", "audience"),
    "expired": ("invalid_client", "expired"),
    "too long-lived": ("invalid_client", "1 hour"),
    "from the future": ("invalid_client", "future"),
    "sub differs from iss": ("invalid_client", "subject"),
    "no jti": ("invalid_client", "jti"),
    "unknown client": ("invalid_client", "No app is registered"),
    "unregistered certificate": ("invalid_client", "not registered"),
    "HS256": ("invalid_client", "RS256"),
    "wrong scope": ("invalid_scope", "scope"),
    "no scope": ("invalid_scope", "scope"),
    "wrong grant": ("unsupported_grant_type", "client_credentials"),
    "wrong assertion type": ("invalid_client", "client_assertion_type"),
    "not a JWT": ("invalid_client", "JWT"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_token_refusals(client: httpx.Client, sandbox: Sandbox, case: str) -> None:
    now = int(time.time())
    other_key, other_cert = new_certificate()
    _, demo_cert = demo_credentials(sandbox)
    forms = {
        "bad signature": lambda: token_form(make_assertion(sandbox, key=other_key, cert=demo_cert)),
        "wrong audience": lambda: token_form(make_assertion(sandbox, aud=sandbox.identity_url)),
        "expired": lambda: token_form(
            make_assertion(sandbox, iat=now - 900, nbf=now - 900, exp=now - 300)
        ),
        "too long-lived": lambda: token_form(make_assertion(sandbox, exp=now + 3601)),
        "from the future": lambda: token_form(
            make_assertion(sandbox, iat=now + 300, nbf=now + 300, exp=now + 600)
        ),
        "sub differs from iss": lambda: token_form(make_assertion(sandbox, sub=str(uuid.uuid4()))),
        "no jti": lambda: token_form(make_assertion(sandbox, jti=None)),
        "unknown client": lambda: token_form(make_assertion(sandbox, client_id=str(uuid.uuid4()))),
        "unregistered certificate": lambda: token_form(
            make_assertion(sandbox, key=other_key, cert=other_cert)
        ),
        "HS256": lambda: token_form(
            jwt.encode(
                {"iss": sandbox.client_id}, "secret-secret-secret-secret-secret", algorithm="HS256"
            )
        ),
        "wrong scope": lambda: token_form(make_assertion(sandbox), scope="records.read"),
        "no scope": lambda: {
            k: v for k, v in token_form(make_assertion(sandbox)).items() if k != "scope"
        },
        "wrong grant": lambda: token_form(make_assertion(sandbox), grant_type="password"),
        "wrong assertion type": lambda: token_form(
            make_assertion(sandbox), client_assertion_type="jwt"
        ),
        "not a JWT": lambda: token_form("not-a-jwt"),
    }
    error, words = REFUSALS[case]
    got_error, description = _refusal(client, sandbox, forms[case]())
    assert (got_error, words in description) == (error, True), description
    assert sandbox.issued_tokens == []


def test_a_reused_jti_is_refused(client: httpx.Client, sandbox: Sandbox) -> None:
    jti = str(uuid.uuid4())
    first = client.post(token_endpoint(sandbox), data=token_form(make_assertion(sandbox, jti=jti)))
    assert first.status_code == 200
    error, description = _refusal(client, sandbox, token_form(make_assertion(sandbox, jti=jti)))
    assert error == "invalid_client" and "used before" in description
    assert sandbox.seen_jtis == [jti]


def test_the_token_request_must_be_a_form(client: httpx.Client, sandbox: Sandbox) -> None:
    reply = client.post(token_endpoint(sandbox), json=token_form(make_assertion(sandbox)))
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"


def test_a_registered_client_with_its_own_certificate(
    client: httpx.Client, sandbox: Sandbox
) -> None:
    key, cert = new_certificate()
    client_id = str(uuid.uuid4())
    sandbox.register_client(client_id, cert.public_bytes(serialization.Encoding.PEM))
    assertion = make_assertion(
        sandbox, key=key, cert=cert, client_id=client_id, headers={"x5t": None}
    )
    assert client.post(token_endpoint(sandbox), data=token_form(assertion)).status_code == 200
    with pytest.raises(ValueError, match="GUID"):
        sandbox.register_client("not-a-guid", cert.public_bytes(serialization.Encoding.PEM))


# -- bearer tokens -------------------------------------------------------------------------------


def test_every_api_call_needs_a_live_token(client: httpx.Client, sandbox: Sandbox) -> None:
    body = {"id": sandbox.connection_id, "conflictOption": "Skip", "data": [record("NOAUTH-1")]}
    graph = client.post(sandbox.url + GRAPH, json=body)
    assert graph.status_code == 401
    assert graph.json()["statusCode"] == 401 and graph.json()["message"]
    legacy = client.post(
        sandbox.url + LEGACY_SUBMIT, json=body, headers={"Authorization": "Bearer nope"}
    )
    assert legacy.status_code == 401
    assert set(legacy.json()) == {"Message"}
    assert "NOAUTH-1" not in sandbox.records()


@pytest.mark.slow
def test_an_expired_token_is_refused(client: httpx.Client, make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(token_ttl=1)
    auth = bearer(client, sandbox)
    assert submit(client, sandbox, auth, [record("TTL-1")]).status_code == 201
    time.sleep(1.1)
    reply = submit(client, sandbox, auth, [record("TTL-2")])
    assert reply.status_code == 401
    assert "expired" in reply.json()["message"]
    assert "TTL-2" not in sandbox.records()


# -- submit --------------------------------------------------------------------------------------


def full_record(key: str) -> dict[str, Any]:
    return record(
        key,
        termFullPath="Records/Finance/Invoices",
        createdBy="alice.nguyen@contoso.example",
        modifiedBy="",
        **{
            "_Case_%20_Number": f"CASE-{key}",
            "_Description": "Line one\nLine two",
            "_Date_%20_Received": "2024-02-28 23:59:59",
            "_Page_%20_Count": 12.5,
            "_Security_%20_Level": 3,
            "_Departments": [1, 3],
            "_Record_%20_Owner": ["someone.new@example.org", "bob.smith@contoso.example"],
            "_Storage_%20_Location": "Sites/Melbourne/Archive Store",
        },
    )


def test_submit_fifteen_records_stores_them_exactly(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    items = [full_record(f"NEW-{n:02d}") for n in range(15)]
    items[3]["_Description"] = None  # null: no value for an optional column
    reply = submit(client, sandbox, auth, items)
    assert reply.status_code == 201, reply.text
    assert reply.json() == {"statusCode": 201, "message": "15 records submitted."}
    stored = sandbox.records()
    for item in items:
        expected = {k: v for k, v in item.items() if v is not None}
        assert stored[item["rowKey"]] == expected
    assert sandbox.stats()["records_written"] == 15


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b.update(data=[record(f"K{n}") for n in range(16)]), "1 to 15"),
        (lambda b: b.update(data=[]), "1 to 15"),
        (lambda b: b.update(data={"rowKey": "X"}), "1 to 15"),
        (lambda b: b["data"].append(record("B", _Nonexistent_Column="x")), "not a column"),
        (lambda b: b["data"].append(record("A")), "twice"),
        (lambda b: b["data"].append({"leafName": "no key"}), "no rowKey"),
        (lambda b: b["data"].append(record("  ")), "no rowKey"),
        (lambda b: b["data"].append("not an object"), "not a JSON object"),
        (lambda b: b.pop("conflictOption"), "conflictOption"),
        (lambda b: b.update(conflictOption="overwrite"), "conflictOption"),
        (lambda b: b.update(id="not-a-guid"), "GUID"),
        (lambda b: b.update(id=str(uuid.uuid4())), "no connection"),
        (
            lambda b: b.update(confilictOption="Overwrite"),
            "confilictOption",
        ),  # Graph: correct spelling only
        (lambda b: b.update(extra=1), "extra"),
    ],
)
def test_submit_refuses_the_whole_request(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str], change: Any, words: str
) -> None:
    body: dict[str, Any] = {
        "id": sandbox.connection_id,
        "conflictOption": "Overwrite",
        "data": [record("A")],
    }
    change(body)
    reply = client.post(sandbox.url + GRAPH, json=body, headers=auth)
    assert reply.status_code == 400, reply.text
    assert reply.json()["statusCode"] == 400
    assert words in reply.json()["message"]
    assert "A" not in sandbox.records()


def test_submit_refuses_bodies_that_are_not_json(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    for content, kind in [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"id": 1, "id": 2}', "application/json"),
        (b'{"data": NaN}', "application/json"),
        (json.dumps({"id": sandbox.connection_id}).encode(), "text/plain"),
    ]:
        reply = client.post(
            sandbox.url + GRAPH, content=content, headers={**auth, "Content-Type": kind}
        )
        assert reply.status_code == 400, content
        legacy = client.post(
            sandbox.url + LEGACY_SUBMIT, content=content, headers={**auth, "Content-Type": kind}
        )
        assert legacy.status_code == 400 and set(legacy.json()) == {"Message"}


BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "BAD-no-name": ({"leafName": ""}, "leafName"),
    "BAD-no-created": ({"timeCreated": None}, "timeCreated"),
    "BAD-date-format": ({"timeModified": "2024-03-02T10:00:00"}, "timeModified"),
    "BAD-date-unpadded": ({"timeModified": "2024-3-2 10:00:00"}, "timeModified"),
    "BAD-date-type": ({"_Date_%20_Received": 20240301}, "_Date_%20_Received"),
    "BAD-number-text": ({"_Page_%20_Count": "12"}, "_Page_%20_Count"),
    "BAD-number-bool": ({"_Page_%20_Count": True}, "_Page_%20_Count"),
    "BAD-long-text": ({"_Case_%20_Number": "x" * 256}, "_Case_%20_Number"),
    "BAD-text-type": ({"_Description": 5}, "_Description"),
    "BAD-choice-label": ({"_Security_%20_Level": "Secret"}, "_Security_%20_Level"),
    "BAD-choice-range": ({"_Security_%20_Level": 5}, "_Security_%20_Level"),
    "BAD-multi-scalar": ({"_Departments": 1}, "_Departments"),
    "BAD-multi-option": ({"_Departments": [1, 9]}, "_Departments"),
    "BAD-people-text": ({"_Record_%20_Owner": "alice.nguyen@contoso.example"}, "_Record_%20_Owner"),
    "BAD-people-name": ({"_Record_%20_Owner": ["Alice Nguyen"]}, "_Record_%20_Owner"),
    "BAD-term-unknown": ({"termFullPath": "Records/Finance"}, "termFullPath"),
    "BAD-term-separator": (
        {"_Storage_%20_Location": "Sites>Melbourne>Head Office"},
        "_Storage_%20_Location",
    ),
    "BAD-created-by": ({"createdBy": ["alice"]}, "createdBy"),
}


def test_bad_values_fail_per_item_on_graph(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    bad = [record(key, **values) for key, (values, _) in list(BAD_VALUES.items())[:13]]
    good = [record("GOOD-1"), record("GOOD-2", _Departments=[])]
    reply = submit(client, sandbox, auth, [good[0], *bad, good[1]])
    assert reply.status_code == 418, reply.text
    body = reply.json()
    assert body["statusCode"] == 418
    assert body["message"] == "2 of 15 records submitted; 13 failed."
    failed = {entry["item"]: entry["message"] for entry in body["failedItems"]}
    assert list(failed) == [item["rowKey"] for item in bad]
    for key, message in failed.items():
        assert BAD_VALUES[key][1] in message, message
    stored = sandbox.records()
    assert {"GOOD-1", "GOOD-2"} <= set(stored)
    assert not set(failed) & set(stored)


def test_bad_values_fail_per_item_on_legacy(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    bad = [record(key, **values) for key, (values, _) in list(BAD_VALUES.items())[13:]]
    body = {
        "id": sandbox.connection_id,
        "confilictOption": "Skip",
        "data": [record("GOOD-L"), *bad],
    }
    reply = client.post(sandbox.url + LEGACY_SUBMIT, json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert set(answer) == {"Message", "FailedItems"}
    assert [
        entry["Item"] for entry in answer["FailedItems"]
    ] == bad  # the submitted objects themselves
    for entry in answer["FailedItems"]:
        assert BAD_VALUES[entry["Item"]["rowKey"]][1] in entry["Message"]
    assert "GOOD-L" in sandbox.records()
    assert not {item["rowKey"] for item in bad} & set(sandbox.records())


def test_legacy_success_has_no_failed_items(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    reply = submit(client, sandbox, auth, [record("LEG-1")], legacy=True)
    assert reply.status_code == 200
    assert reply.json() == {"Message": "1 records submitted."}


def test_skip_keeps_and_overwrite_replaces(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    assert submit(client, sandbox, auth, [record("SAME", _Description="first")]).status_code == 201
    skipped = submit(
        client, sandbox, auth, [record("SAME", _Description="second"), record("OTHER")], "Skip"
    )
    assert skipped.status_code == 201
    assert "skipped" in skipped.json()["message"]
    assert sandbox.records()["SAME"]["_Description"] == "first"
    assert "OTHER" in sandbox.records()
    replaced = submit(client, sandbox, auth, [record("SAME", leafName="renamed.pdf")], "Overwrite")
    assert replaced.status_code == 201
    assert sandbox.records()["SAME"]["leafName"] == "renamed.pdf"
    assert "_Description" not in sandbox.records()["SAME"]  # overwrite replaces, it does not merge


def test_a_destroyed_record_cannot_be_overwritten(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    key = sorted(sandbox.due_keys(datetime.now(UTC)))[0]
    destroyed = client.request(
        "DELETE", sandbox.url + GRAPH, json={"disposalIds": [key]}, headers=auth
    )
    assert destroyed.json() == {"statusCode": 200, "message": "1 of 1 records marked as destroyed."}
    reply = submit(client, sandbox, auth, [record(key)], "Overwrite")
    assert reply.status_code == 418
    assert "destroyed" in reply.json()["failedItems"][0]["message"]
    assert sandbox.records()[key]["leafName"] != f"{key}.pdf"


def test_an_added_connection_has_its_own_columns_and_options(
    client: httpx.Client, make_sandbox: MakeSandbox
) -> None:
    sandbox = make_sandbox(demo=False)
    with pytest.raises(RuntimeError, match="no demo tenant"):
        _ = sandbox.client_id
    key, cert = new_certificate()
    client_id = str(uuid.uuid4())
    sandbox.register_client(client_id, cert.public_bytes(serialization.Encoding.PEM))
    template = {
        "id": str(uuid.uuid4()).upper(),
        "confilictOption": "Skip",
        "data": [
            {
                "rowKey": "SingleText",
                "leafName": "SingleText",
                "termFullPath": "Taxonomy",
                "timeCreated": "DateTime",
                "timeModified": "DateTime",
                "_Colour": "SingleChoice",
            }
        ],
    }
    connection_id = sandbox.add_connection(
        template, {"_Colour": {"Red": 1, "Blue": 7}}, {"termFullPath": {"Mail/Outgoing": 1}}
    )
    assert connection_id == template["id"].lower()
    assertion = make_assertion(sandbox, key=key, cert=cert, client_id=client_id)
    token = client.post(token_endpoint(sandbox), data=token_form(assertion)).json()["access_token"]
    items = [
        record("C-1", _Colour=7, termFullPath="Mail/Outgoing"),
        record("C-2", _Colour=2),
        record("C-3", termFullPath="Records/Finance/Invoices"),
    ]
    body = {"id": template["id"], "conflictOption": "Overwrite", "data": items}
    reply = client.post(
        sandbox.url + GRAPH, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 418, reply.text
    assert [entry["item"] for entry in reply.json()["failedItems"]] == ["C-2", "C-3"]
    assert sandbox.records(connection_id) == {"C-1": items[0]}
    assert sandbox.due_keys(datetime(2025, 3, 1, 9, 30), connection_id) == {"C-1"}
    assert sandbox.due_keys(datetime(2025, 3, 1, 9, 29), connection_id) == set()
    with pytest.raises(ValueError, match="exists already"):
        sandbox.add_connection(template, {}, {})
    with pytest.raises(ValueError, match="unknown type"):
        sandbox.add_connection(
            {**template, "id": str(uuid.uuid4()), "data": [{"rowKey": "Text"}]}, {}, {}
        )


# -- due records ---------------------------------------------------------------------------------


def test_due_records_page_through_with_an_opaque_token(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    before = now_iso()
    keys: list[str] = []
    tokens: list[str] = []
    token = ""
    for _ in range(3):
        reply = graph_due(client, sandbox, auth, before, 50, token)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        keys += [item["rowKey"] for item in body["queriedItems"]]
        token = body["startIndex"]
        tokens.append(token)
    assert tokens[2] == ""  # the last page
    assert len(keys) == 120 and len(set(keys)) == 120
    assert set(keys) == sandbox.due_keys(datetime.now(UTC))
    assert not any(t.isdigit() for t in tokens[:2]) and tokens[0] != tokens[1]
    assert len(tokens[0]) >= 16


def test_due_items_are_display_strings_in_due_order(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    body = graph_due(client, sandbox, auth, now_iso(), 100).json()
    items = body["queriedItems"]
    dues = [datetime.strptime(item["disposalDueDate"], "%Y-%m-%d %H:%M:%S ") for item in items]
    assert dues == sorted(dues)
    first = items[0]
    assert all(isinstance(value, str) for value in first.values())
    assert first["timeCreated"].endswith(" ") and not first["leafName"].endswith(" ")
    stored: dict[str, Any] = sandbox.records()[first["rowKey"]]
    labels = {1: "Public", 2: "Internal", 3: "Confidential", 4: "Secret"}
    assert first["_Security_%20_Level"] == labels[stored["_Security_%20_Level"]]
    assert first["_Record_%20_Owner"] == "; ".join(stored["_Record_%20_Owner"])
    assert first["timeCreated"] == f"{stored['timeCreated']} "


def test_due_tokens_cannot_be_tampered_with(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    before = now_iso()
    token = graph_due(client, sandbox, auth, before, 10).json()["startIndex"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    reply = graph_due(client, sandbox, auth, before, 10, tampered)
    assert reply.status_code == 400 and "startIndex" in reply.json()["message"]
    other_date = graph_due(client, sandbox, auth, "2099-01-01T00:00:00", 10, token)
    assert other_date.status_code == 400
    assert (
        graph_due(client, sandbox, auth, before, 10, token).status_code == 200
    )  # the real one works


def test_nothing_due_is_204_with_an_empty_body(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    reply = graph_due(client, sandbox, auth, "1990-01-01T00:00:00", 10)
    assert reply.status_code == 204
    assert reply.content == b""


@pytest.mark.parametrize("per_page", ["0", "101", "ten", ""])
def test_items_per_page_is_1_to_100(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str], per_page: str
) -> None:
    params = {"id": sandbox.connection_id, "disposalDueDate": now_iso(), "itemsPerPage": per_page}
    assert client.get(sandbox.url + GRAPH, params=params, headers=auth).status_code == 400


def test_legacy_due_records_use_the_tenant_date_format(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    before = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    body = {
        "id": sandbox.connection_id,
        "disposalDueDate": before,
        "startIndex": "",
        "itemsPerPage": 100,
    }
    first = client.post(sandbox.url + LEGACY_DUE, json=body, headers=auth)
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"message", "pageIndex", "queriedItems"}
    assert len(page["queriedItems"]) == 100
    second = client.post(
        sandbox.url + LEGACY_DUE, json={**body, "startIndex": page["pageIndex"]}, headers=auth
    )
    assert len(second.json()["queriedItems"]) == 20 and second.json()["pageIndex"] == ""
    iso_date = client.post(
        sandbox.url + LEGACY_DUE, json={**body, "disposalDueDate": now_iso()}, headers=auth
    )
    assert iso_date.status_code == 400 and "Message" in iso_date.json()
    nothing = client.post(
        sandbox.url + LEGACY_DUE,
        json={**body, "disposalDueDate": "1990-01-01 00:00:00"},
        headers=auth,
    )
    assert nothing.status_code == 200 and nothing.json()["queriedItems"] == []


# -- destroy -------------------------------------------------------------------------------------


def test_destroy_on_graph_reports_each_failure(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    due = sorted(sandbox.due_keys(datetime.now(UTC)))
    not_due = sorted(set(sandbox.records()) - sandbox.due_keys(datetime(2200, 1, 1)))[0]
    sandbox.set_record_state(due[2], "awaiting approval")
    sandbox.set_record_state(due[3], "rejected")
    keys = [due[0], due[1], "NO-SUCH-KEY", not_due, due[2], due[3]]
    reply = client.request("DELETE", sandbox.url + GRAPH, json={"disposalIds": keys}, headers=auth)
    assert reply.status_code == 418, reply.text  # "Exist Failed Data Operation"
    body = reply.json()
    assert body["statusCode"] == 418
    assert body["message"] == "2 of 6 records marked as destroyed."
    failed = {entry["item"]: entry["message"] for entry in body["failedItems"]}
    assert "not found" in failed["NO-SUCH-KEY"]
    assert "not due for disposal" in failed[not_due]
    assert "awaiting approval" in failed[due[2]]
    assert "rejected" in failed[due[3]]
    assert sandbox.destroyed() == {due[0], due[1]}
    again = client.request(
        "DELETE", sandbox.url + GRAPH, json={"disposalIds": [due[0]]}, headers=auth
    ).json()
    assert again["failedItems"] == [{"item": due[0], "message": again["failedItems"][0]["message"]}]
    assert "already destroyed" in again["failedItems"][0]["message"]
    assert due[0] not in sandbox.due_keys(datetime.now(UTC))
    listed = [
        item["rowKey"]
        for item in graph_due(client, sandbox, auth, now_iso(), 100).json()["queriedItems"]
    ]
    assert due[0] not in listed


def test_destroy_on_legacy_lists_bare_keys(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    due = sorted(sandbox.due_keys(datetime.now(UTC)))
    first = client.post(sandbox.url + LEGACY_DESTROY, json={"disposalIds": [due[0]]}, headers=auth)
    assert first.json()["failedItems"] == []
    reply = client.post(
        sandbox.url + LEGACY_DESTROY, json={"disposalIds": [due[0], "GHOST", due[1]]}, headers=auth
    )
    assert reply.status_code == 200
    assert set(reply.json()) == {"message", "failedItems"}
    assert reply.json()["failedItems"] == [due[0], "GHOST"]
    assert sandbox.destroyed() == {due[0], due[1]}


@pytest.mark.parametrize("ids", [[], [f"K{n}" for n in range(16)], ["A", "A"], [""], "A", [1]])
def test_destroy_takes_1_to_15_keys(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str], ids: Any
) -> None:
    reply = client.request("DELETE", sandbox.url + GRAPH, json={"disposalIds": ids}, headers=auth)
    assert reply.status_code == 400
    assert sandbox.destroyed() == set()


# -- faults --------------------------------------------------------------------------------------


def test_throttling_is_429_with_retry_after_and_does_nothing(
    client: httpx.Client, make_sandbox: MakeSandbox
) -> None:
    sandbox = make_sandbox(throttle_rate=1.0, retry_after=0)
    auth = bearer(client, sandbox)  # identity is never faulted
    reply = submit(client, sandbox, auth, [record("THROTTLED")])
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "0"
    assert "THROTTLED" not in sandbox.records()
    sandbox.faults.throttle_rate = 0.0
    assert submit(client, sandbox, auth, [record("THROTTLED")]).status_code == 201
    assert sandbox.stats()["http_429"] == 1


def test_failure_is_503_and_does_nothing(client: httpx.Client, make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(fail_rate=1.0)
    auth = bearer(client, sandbox)
    due = sorted(sandbox.due_keys(datetime.now(UTC)))[0]
    reply = client.request("DELETE", sandbox.url + GRAPH, json={"disposalIds": [due]}, headers=auth)
    assert reply.status_code == 503
    assert sandbox.destroyed() == set()
    assert sandbox.stats()["http_503"] == 1


def test_a_drop_does_the_work_but_loses_the_answer(
    client: httpx.Client, make_sandbox: MakeSandbox
) -> None:
    sandbox = make_sandbox(drop_rate=1.0)
    auth = bearer(client, sandbox)
    with pytest.raises(httpx.RemoteProtocolError):
        submit(client, sandbox, auth, [record("DROPPED")])
    assert "DROPPED" in sandbox.records()
    assert sandbox.stats()["drops"] == 1
    sandbox.faults.drop_rate = 0.0
    assert (
        submit(client, sandbox, auth, [record("AFTER")]).status_code == 201
    )  # a fresh connection works


def test_latency_delays_api_calls(client: httpx.Client, make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(latency_ms=150)
    auth = bearer(client, sandbox)
    started = time.perf_counter()
    assert submit(client, sandbox, auth, [record("SLOW")]).status_code == 201
    assert time.perf_counter() - started >= 0.15


def test_seeded_faults_repeat(client: httpx.Client, make_sandbox: MakeSandbox) -> None:
    def statuses(sandbox: Sandbox) -> list[int]:
        auth = bearer(client, sandbox)
        return [submit(client, sandbox, auth, [record(f"S{n}")]).status_code for n in range(12)]

    first = statuses(make_sandbox(seed=7, throttle_rate=0.3, fail_rate=0.3, retry_after=0))
    second = statuses(make_sandbox(seed=7, throttle_rate=0.3, fail_rate=0.3, retry_after=0))
    assert first == second
    assert {429, 503, 201} <= set(first)


# -- the server itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "192.168.1.10", "::"])
def test_only_loopback_is_allowed(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Sandbox(SandboxConfig(directory=tmp_path, host=host))


def test_another_host_name_is_refused(client: httpx.Client, sandbox: Sandbox) -> None:
    reply = client.get(
        sandbox.identity_url + "/.well-known/openid-configuration",
        headers={"Host": "evil.example:80"},
    )
    assert reply.status_code == 421


def test_unknown_paths_and_methods(
    client: httpx.Client, sandbox: Sandbox, auth: dict[str, str]
) -> None:
    assert client.get(sandbox.url + "/api/connector/Nothing", headers=auth).status_code == 404
    assert client.put(sandbox.url + GRAPH, json={}, headers=auth).status_code == 405
    assert client.get(token_endpoint(sandbox)).status_code == 405


def test_a_restart_keeps_the_state(
    client: httpx.Client, make_sandbox: MakeSandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "kept"
    first = make_sandbox(directory=folder)
    auth = bearer(client, first)
    jti = first.seen_jtis[0]
    assert submit(client, first, auth, [record("KEPT")]).status_code == 201
    due = sorted(first.due_keys(datetime.now(UTC)))[0]
    client.request("DELETE", first.url + GRAPH, json={"disposalIds": [due]}, headers=auth)
    first.stop()

    second = make_sandbox(directory=folder)
    assert "KEPT" in second.records() and len(second.records()) == 501  # not seeded again
    assert second.destroyed() == {due}
    assert submit(client, second, auth, [record("KEPT-2")]).status_code == 201  # the token lives on
    error, _ = _refusal(client, second, token_form(make_assertion(second, jti=jti)))
    assert error == "invalid_client"


def test_the_demo_tenant(make_sandbox: MakeSandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox(directory=tmp_path / "fresh", seed=1)
    records = sandbox.records()
    assert len(records) == 500
    assert len(sandbox.due_keys(datetime.now(UTC))) == 120
    # Nothing becomes due for a while, so the count holds for a session.
    assert len(sandbox.due_keys(datetime.now(UTC) + timedelta(days=29))) == 120
    users = set(json.loads((RESOURCES / "tenant.json").read_text(encoding="utf-8"))["users"])
    owners: list[Any] = [r["_Record_%20_Owner"] for r in records.values()]
    assert {owner for listed in owners for owner in listed} == users
    assert len({r["leafName"] for r in records.values()}) > 200  # varied, believable names
    template = json.loads(sandbox.template_path.read_text())
    assert template["id"] == sandbox.connection_id
    same_seed = make_sandbox(directory=tmp_path / "again", seed=1)
    assert {k: v["leafName"] for k, v in same_seed.records().items()} == {
        k: v["leafName"] for k, v in records.items()
    }
    text = describe(sandbox)
    for part in (
        sandbox.url,
        sandbox.client_id,
        sandbox.connection_id,
        str(sandbox.pfx_path),
        "sandbox",
    ):
        assert part in text


def test_the_demo_certificate_files(sandbox: Sandbox) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    cert = x509.load_pem_x509_certificate(sandbox.cert_pem_path.read_bytes())
    assert (
        cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Opus Desktop Sandbox"
    )
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=729)
    key, pfx_cert, _ = pkcs12.load_key_and_certificates(sandbox.pfx_path.read_bytes(), b"sandbox")
    assert pfx_cert == cert and key is not None
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(sandbox.pfx_path.read_bytes(), b"wrong")


def test_another_date_format(client: httpx.Client, make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(date_format="M-d-yyyy h:mm:ss tt")
    auth = bearer(client, sandbox)
    items = [
        record(
            "US-1",
            timeCreated="3-1-2010 1:05:00 PM",
            timeModified="3-2-2010 12:00:00 AM",
            termFullPath="Records/Human Resources/Recruitment",
        ),
        record("US-2", timeCreated="2010-03-01 13:05:00", timeModified="3-2-2010 12:00:00 AM"),
        record("US-3", timeCreated="03-01-2010 1:05:00 PM", timeModified="3-2-2010 12:00:00 AM"),
    ]
    reply = submit(client, sandbox, auth, items)
    assert reply.status_code == 418
    assert [entry["item"] for entry in reply.json()["failedItems"]] == ["US-2", "US-3"]
    assert sandbox.records()["US-1"]["timeCreated"] == "3-1-2010 1:05:00 PM"
    body = {
        "id": sandbox.connection_id,
        "disposalDueDate": "3-1-2012 1:05:00 PM",
        "startIndex": "",
        "itemsPerPage": 100,
    }
    page = client.post(sandbox.url + LEGACY_DUE, json=body, headers=auth).json()["queriedItems"]
    assert [item["rowKey"] for item in page] == ["US-1"]  # due two years after creation, not before
    assert page[0]["disposalDueDate"] == "3-1-2012 1:05:00 PM "


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("yyyy-MM-dd HH:mm:ss", "2024-04-01 00:59:34"),
        ("M-d-yyyy h:mm:ss tt", "4-1-2024 12:59:34 AM"),
        ("dd-MM-yyyy HH:mm:ss", "01-04-2024 00:59:34"),
        ("MMMM d,yyyy h:mm:ss tt", "April 1,2024 12:59:34 AM"),
        ("d-MMM-yyyy HH:mm:ss", "1-Apr-2024 00:59:34"),
        ("M-d-yy HH:mm:ss", "4-1-24 00:59:34"),
    ],
)
def test_date_patterns_round_trip(pattern: str, text: str) -> None:
    date = DatePattern(pattern)
    assert date.parse(text) == datetime(2024, 4, 1, 0, 59, 34)
    assert date.format(datetime(2024, 4, 1, 0, 59, 34)) == text


@pytest.mark.parametrize(
    "pattern",
    ["yyyy-MM-dd", "yyyy-MM-dd hh:mm:ss", "yyyy-MM-dd HH:mm:ss Q", "yyyyy-MM-dd HH:mm:ss"],
)
def test_incomplete_date_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        DatePattern(pattern)
