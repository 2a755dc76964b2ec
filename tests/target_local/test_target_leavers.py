"""Records that leave the model are flagged (or cleared) once, not left stale (`on_leave`).

Between two runs a user changes e-mail (a new contact; the old one left) and an account
goes away (its company left). With `flag` (the default) the old contact and the company
get `plg_in_product` = false, once; a record that comes back gets true. `clear` empties
their plg_ properties (the company key stays); `keep` leaves them. A stream without
`as_of` (not the transform's whole model) leaves nobody.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import LocalCRMWorkspace, association, company, contact, schema, schemas, state


def _model(*, bob_email: str, with_a2: bool) -> list[dict[str, Any]]:
    accounts = ["a1", "a2"] if with_a2 else ["a1"]
    return [
        *schemas(),
        *[company(a, engagement_score=60) for a in accounts],
        contact("u1", "ann@acme.com", primary_account_id="a1"),
        contact("u2", bob_email, primary_account_id="a1"),
        association("u1", "a1", role="admin"),
        association("u2", "a1", role="member"),
        state({"bookmarks": {"run": bob_email, "a2": with_a2}}),
    ]


FIRST = _model(bob_email="bob@acme.com", with_a2=True)
LATER = _model(bob_email="bob.new@acme.com", with_a2=False)


def test_records_that_left_are_flagged_once_and_unflagged_when_they_come_back(
    tmp_path: Path,
) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    assert workspace.run(FIRST).returncode == 0
    assert "plg_in_product" not in workspace.contacts()["bob@acme.com"]

    result = workspace.run(LATER)

    assert result.returncode == 0, result.stderr
    contacts, companies = workspace.contacts(), workspace.companies()
    assert contacts["bob@acme.com"]["plg_in_product"] == "false"
    assert contacts["bob@acme.com"]["plg_engagement_score"] == "40"  # kept, but flagged
    assert "plg_in_product" not in contacts["bob.new@acme.com"]
    assert "plg_in_product" not in contacts["ann@acme.com"]
    assert companies["a2"]["plg_in_product"] == "false"
    assert workspace.properties("contacts")["plg_in_product"]["type"] == "bool"
    assert "1 contacts left the model (flag): flagged" in result.stderr

    # Once: the next run with the same model writes nothing.
    before = workspace.query("SELECT email, updated_at FROM contacts ORDER BY email")
    again = workspace.run(LATER)
    assert again.returncode == 0, again.stderr
    assert "left the model" not in again.stderr
    assert workspace.query("SELECT email, updated_at FROM contacts ORDER BY email") == before
    assert workspace.summary()["objects"]["contacts"]["updated"] == 0

    # The account comes back: in the product again.
    assert workspace.run(_model(bob_email="bob.new@acme.com", with_a2=True)).returncode == 0
    assert workspace.companies()["a2"]["plg_in_product"] == "true"
    assert workspace.contacts()["bob@acme.com"]["plg_in_product"] == "false"


def test_clear_empties_the_plg_properties_but_keeps_the_company_key(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    assert workspace.run(FIRST, on_leave="clear").returncode == 0

    result = workspace.run(LATER, on_leave="clear")

    assert result.returncode == 0, result.stderr
    old_bob = workspace.contacts()["bob@acme.com"]
    assert not [k for k in old_bob if k.startswith("plg_")], old_bob
    assert [k for k in workspace.companies()["a2"] if k.startswith("plg_")] == ["plg_account_id"]
    assert workspace.contacts()["ann@acme.com"]["plg_engagement_score"] == "40"


def test_keep_leaves_them_as_they_are(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    assert workspace.run(FIRST, on_leave="keep").returncode == 0
    before = workspace.contacts()["bob@acme.com"]

    assert workspace.run(LATER, on_leave="keep").returncode == 0

    assert workspace.contacts()["bob@acme.com"] == before
    assert "plg_in_product" not in workspace.properties("contacts")


def test_a_stream_that_is_not_the_whole_model_leaves_nobody(tmp_path: Path) -> None:
    workspace = LocalCRMWorkspace(tmp_path)
    without_as_of = schema("contacts")
    del without_as_of["schema"]["properties"]["as_of"]

    def increment(email: str) -> list[dict[str, Any]]:
        record = contact("u1", email)
        del record["record"]["as_of"]
        return [without_as_of, record, state({"bookmarks": {"email": email}})]

    assert workspace.run(increment("ann@acme.com")).returncode == 0
    assert workspace.run(increment("bob@acme.com")).returncode == 0

    assert "plg_in_product" not in workspace.contacts()["ann@acme.com"]


def test_an_input_cut_short_before_its_state_leaves_nobody(tmp_path: Path) -> None:
    """A transform killed mid-way: the target's input ends without the model's STATE."""
    workspace = LocalCRMWorkspace(tmp_path)
    assert workspace.run(FIRST).returncode == 0

    cut = [m for m in LATER if m["type"] != "STATE"]
    result = workspace.run(cut[: len(cut) - 2])

    assert result.returncode == 0, result.stderr
    assert "plg_in_product" not in workspace.contacts()["bob@acme.com"]
    assert "plg_in_product" not in workspace.companies()["a2"]
    assert "did not end with a STATE" in result.stderr
