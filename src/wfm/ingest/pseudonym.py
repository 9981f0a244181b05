"""Personal data: the ID number becomes a keyed hash at ingest, contact fields are dropped, before staging
(`wfm.ingest.staging`) writes anything to the warehouse file.

`data-contract.md` forbids clear ID numbers, names and phones anywhere in the warehouse. Ingestion derives and
checks sex, birth date and province from the ID number, then replaces it by HMAC-SHA256 under a secret key that
lives outside the repository:

1. the environment variable `WFM_HMAC_KEY`, or
2. the Airflow connection `wfm_pseudonym_key` (its password), when running under Airflow;
3. only in the demo (`WFM_DEMO=1`), a fixed, public demo key — never for real data.

The hash is computed inside DuckDB (`hmac_sql`), vectorised, as RFC 2104 defines it: sha256(K⊕opad ‖
sha256(K⊕ipad ‖ m)); a test holds it against Python's `hmac`.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from wfm.errors import WfmError

DEMO_KEY = b"wfm-demo-key-not-for-real-data"
AIRFLOW_CONNECTION = "wfm_pseudonym_key"
MASK = "***"


def demo_mode() -> bool:
    return os.environ.get("WFM_DEMO", "") == "1"


def airflow_configured() -> bool:
    """Whether the key may come from Airflow (`_airflow_key` imports it then): an Airflow home is set."""
    return "AIRFLOW_HOME" in os.environ or "AIRFLOW__CORE__DAGS_FOLDER" in os.environ


def _airflow_key() -> bytes | None:
    if not airflow_configured():
        return None
    try:
        from airflow.sdk import Connection

        return Connection.get(AIRFLOW_CONNECTION).password.encode()
    except Exception:  # no such connection, or not inside a task: fall through to the next source
        return None


def secret_key() -> bytes:
    """The pseudonymisation key; refuses to run without one outside the demo."""
    if key := os.environ.get("WFM_HMAC_KEY"):
        return key.encode()
    if key := _airflow_key():
        return key
    if demo_mode():
        return DEMO_KEY
    raise WfmError(
        "no pseudonymisation key: set WFM_HMAC_KEY (or the Airflow connection "
        f"{AIRFLOW_CONNECTION}); only the demo (WFM_DEMO=1) may run with the public demo key",
        rule="personal_data_key",
    )


def hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of RFC 2104 for SHA-256 (block size 64)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sql(column: str) -> str:
    """SQL for HMAC-SHA256 of a VARCHAR column; bind the pads from `hmac_pads` as $ipad and $opad."""
    return f"sha256($opad::BLOB || unhex(sha256($ipad::BLOB || encode({column}))))"
