"""The singer-sdk standard target tests, on the local CRM, plus one with the PLG streams.

The standard tests send streams other than contacts/companies/associations, so they
check that such streams are counted and ignored without failing (and that SDK-level
protocol errors still stop the run). Every standard test applies; none is left out.
`TargetMultipleStateMessages` is not in the SDK's suite (commented out upstream): the
SDK emits STATE only after a full drain, and `test_target_state.py` covers our contract.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.templates import TargetFileTestTemplate
from target_plg_crm.target import TargetPLGCRM

_FOLDER = Path(tempfile.mkdtemp(prefix="target-plg-crm-sdk-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
CONFIG = {
    "local_path": str(_FOLDER / "crm.sqlite"),
    "ledger_path": str(_FOLDER / "ledger.sqlite"),
    "rejects_path": str(_FOLDER / "rejects.jsonl"),
    "run_history_path": str(_FOLDER / "run-history.jsonl"),
    "summary_path": str(_FOLDER / "summary.json"),
}


class TargetPLGStreams(TargetFileTestTemplate):
    """The transform's three streams land in the local CRM; the latest STATE comes out."""

    name = "plg_streams"

    @property
    def singer_filepath(self) -> Path:  # type: ignore[override]
        """Our own input file."""
        return Path(__file__).parent / "streams" / "plg_streams.singer"

    def validate(self) -> None:
        """Contacts, companies and labelled associations are in the CRM."""
        with sqlite3.connect(CONFIG["local_path"]) as db:
            emails = {r[0] for r in db.execute("SELECT email FROM contacts")}
            keys = {r[0] for r in db.execute("SELECT account_key FROM companies")}
            labels = sorted(r[0] for r in db.execute("SELECT labels FROM associations"))
        assert emails == {"ann@acme.com", "bob@acme.com"}
        assert keys == {"a1", "a2"}
        assert labels == ['["admin", "primary"]', '["member"]', "[]"]
        assert self.runner.state_messages == [{"bookmarks": {"tracks": 2}}]


TestTargetPLGCRM = get_target_test_class(
    TargetPLGCRM,
    config=CONFIG,
    custom_suites=[SingerTestSuite(kind="target", tests=[TargetPLGStreams])],
)
