"""Companies matched before they are created: by account id, then by normalised domain.

Real portals already hold the customer's companies (typed by sales, or made by HubSpot
from contacts' e-mail domains) without our account id. A company record that no CRM
company holds by account id adopts the one CRM company that has its domain and no
account id yet; two or more such companies, or two records of this run claiming one
company, are a reject that names them: never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from target_plg_crm.crm.records import CRMRecord

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def normalise_domain(value: object) -> str | None:
    """`https://www.Acme.com/about` -> `acme.com`; None when there is no domain in it."""
    if not isinstance(value, str):
        return None
    text = _SCHEME.sub("", value.strip().lower())
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    text = text.removeprefix("www.")
    return text if "." in text and " " not in text else None


@dataclass(frozen=True)
class CompanyMatch:
    """How one company record meets the CRM: found, adopted, or refused as ambiguous."""

    record: CRMRecord | None = None
    adopt: bool = False  # found by domain: set its account id with an update by id
    problem: str | None = None  # the reason of an AMBIGUOUS_DOMAIN reject


class DomainIndex:
    """The CRM's companies without an account id, by normalised domain."""

    def __init__(self, companies: Iterable[CRMRecord], id_property: str) -> None:
        """Index `companies` (listed with `domain` and `id_property`)."""
        self.id_property = id_property
        self.by_domain: dict[str, list[CRMRecord]] = {}
        for company in companies:
            if company.properties.get(id_property):
                continue  # another account's company: never adopted
            # `domain` as HubSpot fills it, else the host of a `website` typed by a person.
            domain = normalise_domain(
                company.properties.get("domain") or company.properties.get("website")
            )
            if domain:
                self.by_domain.setdefault(domain, []).append(company)

    def match(
        self, claims: Sequence[tuple[str, str]], adopted: dict[str, str]
    ) -> dict[str, CompanyMatch]:
        """Matches of (account id, domain) claims; `adopted` (company id -> account) grows."""
        by_company: dict[str, list[str]] = {}
        candidates: dict[str, list[CRMRecord]] = {}
        for account_id, domain in claims:
            found = self.by_domain.get(domain, [])
            candidates[account_id] = found
            if len(found) == 1:
                by_company.setdefault(found[0].crm_id, []).append(account_id)
        matches: dict[str, CompanyMatch] = {}
        for account_id, domain in claims:
            found = candidates[account_id]
            if not found:
                continue
            if len(found) > 1:
                ids = ", ".join(c.crm_id for c in found)
                matches[account_id] = CompanyMatch(
                    problem=f"domain {domain} matches {len(found)} CRM companies without an "
                    f"account id (ids {ids}): set the account id on the right one"
                )
                continue
            company = found[0]
            rivals = [a for a in by_company[company.crm_id] if a != account_id]
            owner = adopted.get(company.crm_id)
            if owner and owner != account_id:
                rivals.append(owner)
            if rivals:
                matches[account_id] = CompanyMatch(
                    problem=f"domain {domain} of CRM company {company.crm_id} is claimed by "
                    f"accounts {', '.join(sorted({account_id, *rivals}))}: set the account id "
                    "on it by hand"
                )
                continue
            adopted[company.crm_id] = account_id
            matches[account_id] = CompanyMatch(record=company, adopt=True)
        return matches
