"""Generate the embedded demo: a product-led SaaS's Segment archive, deterministically.

The company sells a B2B analytics tool with trial, free, pro and enterprise plans. Its
accounts follow recognisable stories (power accounts, steady customers, teams that grow,
customers that fade or churn, trials that convert or lapse, free teams) and its users work
in one or several accounts with a role in each. Everything Segment delivers is written as
an S3-style archive: gzip JSON lines partitioned by the date the message was *received*,
with the usual imperfections (re-delivered duplicates, late arrivals, bad emails, a runaway
script that floods one event).

Same arguments, same bytes: only a seeded ``random.Random`` decides, times are computed
from the fixed end date in UTC, and gzip headers carry no file name or time.

    python demo/generate_demo.py --out demo-data/events [--seed 7 --accounts 300
        --users 1000 --days 120 --end 2026-06-30]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import random
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

try:  # orjson is ~5x faster; for these messages it writes the same bytes as json below.
    import orjson

    def _dumps(message: dict[str, Any]) -> bytes:
        return orjson.dumps(message)

except ImportError:  # pragma: no cover - the project's venv has orjson

    def _dumps(message: dict[str, Any]) -> bytes:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


DAY_MS = 86_400_000
HOUR_MS = 3_600_000
COMPRESS_LEVEL = 3  # fast; the archive is generated on every fresh demo machine
FILE_BLOCK_HOURS = 8  # one archive file per 8 hours of receive time, like Segment's batches
DEFAULT_END = date(2026, 6, 30)

DUPLICATE_RATE = 0.01  # Segment delivers at least once: ~1% arrive twice
LATE_RATE = 0.03  # client messages sent from an offline device days later
INVALID_EMAIL_RATE = 0.012
MESSY_EMAIL_RATE = 0.03  # valid once trimmed and lower-cased
MULTI_ACCOUNT_RATE = 0.12  # consultants, agencies, people who changed teams
ANONYMOUS_VISITOR_RATE = 0.4  # marketing-site visitors who never sign up, per user

BROWSER = {"name": "analytics.js", "version": "next-1.70.0"}
SERVER = {"name": "analytics-python", "version": "2.3.2"}


def _words(text: str) -> list[str]:
    return text.split()


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o"))
    return "".join(c for c in decomposed if c.isascii())


USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Safari/537.36",
]
FIRST_NAMES = _words(
    "Ada Alan Amara Ana Ben Bianca Carlos Chen Chloe Dana Daniel Diego Elena Emma Farah Felix"
    " Grace Hana Hugo Ines Ivan Jamal Jana Jin Jose Julia Kai Kenji Lara Leo Lina Luca Maya"
    " Mei Mila Nadia Nina Noah Omar Oscar Priya Rafael Ravi Rosa Sam Sara Sofia Tariq Tom"
    " Uma Victor Wei Yara Yusuf Zoe Zoë José Søren Ayşe"
)
LAST_NAMES = _words(
    "Abbott Adeyemi Alvarez Bauer Becker Brown Chen Costa Dubois Eriksson Fischer Garcia Gupta"
    " Hansen Haddad Ito Jensen Kim Kowalski Larsen Lopez Martin Meyer Moreau Nakamura Nguyen"
    " Novak Okafor Olsen Patel Perez Rossi Santos Schmidt Silva Singh Smith Suzuki Tanaka"
    " Torres Weber Wilson Yamamoto Zhang Müller Núñez"
)
# Documentation address ranges (RFC 5737): demo IPs that belong to nobody.
DOC_NETWORKS = ["198.51.100", "203.0.113", "192.0.2"]

TITLES = [
    "Product Manager",
    "Data Analyst",
    "Head of Growth",
    "Software Engineer",
    "CTO",
    "VP Marketing",
    "Customer Success Manager",
    "Operations Lead",
    "Founder",
    "Designer",
    "Analytics Engineer",
    "Head of Sales",
]
COMPANY_WORDS = _words(
    "North Blue Bright Iron Cedar Silver Rapid Clear Prime Lumen Nova Vector Harbor Summit"
    " Maple Orbit Pixel Quartz River Solar Tidal Urban Vivid Willow Atlas Beacon Cobalt Delta"
    " Ember Falcon"
)
COMPANY_NOUNS = _words(
    "Labs Works Analytics Systems Logistics Health Foods Media Robotics Energy Finance Studio"
    " Retail Bio Cloud Dynamics Partners Apparel Ventures Software"
)
INDUSTRIES = ["Software", "Retail", "Healthcare", "Finance", "Media", "Logistics", "Education"]
TLDS = [".com", ".io", ".co", ".ai", ".dev"]
APP_PAGES = ["Dashboard", "Projects", "Reports", "Settings", "Team", "Integrations", "Billing"]
SITE_PAGES = ["Home", "Pricing", "Features", "Blog", "Customers", "Docs"]
FREE_MAIL = "gmail.com"


@dataclass(frozen=True)
class Story:
    """How a kind of account behaves over the archive's days."""

    name: str
    share: float  # fraction of accounts
    plan: str  # plan at the start of the archive (or at sign-up for new accounts)
    team: float  # relative team size
    activity: float  # chance a typical member is active on a weekday
    api: bool  # has a server integration calling the API
    new: bool  # signed up during the archive


STORIES = [
    Story("power", 0.03, "enterprise", 12.0, 0.85, True, False),
    Story("enterprise", 0.06, "enterprise", 7.0, 0.55, True, False),
    Story("steady", 0.22, "pro", 3.5, 0.45, False, False),
    Story("expanding", 0.06, "pro", 4.0, 0.5, True, False),
    Story("declining", 0.06, "pro", 3.0, 0.45, False, False),
    Story("churned", 0.10, "pro", 2.5, 0.4, False, False),
    Story("trial-converts", 0.09, "trial", 2.5, 0.6, False, True),
    Story("trial-lapses", 0.11, "trial", 1.5, 0.5, False, True),
    Story("free-active", 0.12, "free", 2.0, 0.35, False, False),
    Story("free-dormant", 0.15, "free", 1.2, 0.08, False, False),
]

# Relative frequency of in-app actions per role; events a viewer cannot do are absent.
ACTIONS_BY_ROLE: dict[str, dict[str, float]] = {
    "owner": {
        "Dashboard Viewed": 30,
        "Report Exported": 7,
        "Project Created": 4,
        "Comment Added": 10,
        "Invite Sent": 3,
        "Integration Connected": 0.8,
    },
    "admin": {
        "Dashboard Viewed": 30,
        "Report Exported": 7,
        "Project Created": 4,
        "Comment Added": 10,
        "Invite Sent": 2.5,
        "Integration Connected": 0.8,
    },
    "member": {
        "Dashboard Viewed": 34,
        "Report Exported": 6,
        "Project Created": 4,
        "Comment Added": 12,
        "Invite Sent": 0.5,
    },
    "viewer": {"Dashboard Viewed": 40, "Comment Added": 3, "Report Exported": 1},
}


@dataclass
class Account:
    """A customer account (Segment group)."""

    id: str
    name: str
    domain: str
    website: str | None  # some accounts only send a website, not a domain
    industry: str
    employees: int
    story: Story
    created_day: int  # day index (0 = first archive day; negative = before the archive)
    change_day: int | None = None  # conversion, lapse or churn day
    members: list[Membership] = field(default_factory=list)

    def plan_on(self, day: int) -> str:
        """The plan the account is on during day ``day``."""
        story = self.story.name
        if self.change_day is None or day < self.change_day:
            return self.story.plan
        if story == "trial-converts":
            return "pro"
        return "free"  # lapsed trials and cancelled customers fall back to the free plan


@dataclass
class User:
    """A person with a login; ``anonymous_id`` is the browser they signed up from."""

    id: str
    first: str
    last: str
    email: str
    title: str
    zone_hours: int  # the user's UTC offset, to place activity in working hours
    heaviness: float  # how intensely this person uses the product
    ip: str
    agent: str
    signup_day: int = 0
    signup_ms: int | None = None  # when the sign-up happened, if inside the archive
    anonymous_id: str | None = None
    link: str = "identify"  # how the anonymous id gets linked: identify | alias | never
    memberships: list[Membership] = field(default_factory=list)


@dataclass
class Membership:
    """A user's seat in an account, with a role."""

    user: User
    account: Account
    role: str
    joined_day: int
    promoted_day: int | None = None  # member -> admin during the archive


class Archive:
    """Collects messages and writes them as a receive-date partitioned gzip archive."""

    def __init__(self, rng: random.Random, first_day: date, days: int) -> None:
        self.rng = rng
        self.first_day = first_day
        self.days = days
        self.start_ms = 0  # times are ms since the first archive day 00:00 UTC
        self.end_ms = days * DAY_MS
        self.rows: list[tuple[int, str, dict[str, Any]]] = []
        self.counts: Counter[str] = Counter()
        self._dates: dict[int, str] = {}

    def iso(self, ms: int) -> str:
        """ISO 8601 UTC with milliseconds, as Segment writes it."""
        day, rest = divmod(ms, DAY_MS)
        text = self._dates.get(day)
        if text is None:
            text = (self.first_day + timedelta(days=day)).isoformat()
            self._dates[day] = text
        seconds, millis = divmod(rest, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return f"{text}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"

    def message_id(self, server: bool) -> str:
        """A random-looking but seeded id in the style of the sending library."""
        bits = f"{self.rng.getrandbits(128):032x}"
        if server:
            return f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-{bits[16:20]}-{bits[20:]}"
        return f"ajs-next-{bits}"

    def add(self, ms: int, body: dict[str, Any], server: bool = False) -> None:
        """Stamp a message with ids and delivery times and keep it if it arrived in time."""
        rng = self.rng
        late = not server and rng.random() < LATE_RATE
        # A late message: an offline laptop flushes its queue days later.
        sent = ms + (rng.randint(DAY_MS, 4 * DAY_MS) if late else rng.randint(5, 1500))
        received = sent + rng.randint(20, 400)
        message = {"messageId": self.message_id(server), **body}
        message["timestamp"] = self.iso(ms)
        message["sentAt"] = self.iso(sent)
        message["receivedAt"] = self.iso(received)
        if not self.start_ms <= received < self.end_ms:
            return  # before the archive began, or not received yet at its end
        self.rows.append((received, message["messageId"], message))
        self.counts[message["type"]] += 1
        if received - ms >= DAY_MS:
            self.counts["late"] += 1  # distinct messages; a re-delivered copy is late too
        if rng.random() < DUPLICATE_RATE:
            again = received + rng.choice((rng.randint(1000, 60_000), rng.randint(HOUR_MS, DAY_MS)))
            if again < self.end_ms:
                copy = dict(message)
                copy["sentAt"] = self.iso(again - rng.randint(20, 400))
                copy["receivedAt"] = self.iso(again)
                self.rows.append((again, message["messageId"], copy))
                self.counts["duplicates"] += 1

    def write(self, out_dir: Path) -> int:
        """Write gzip JSON-lines files OUT/YYYY/MM/DD/segment-<n>.jsonl.gz; return the count."""
        self.rows.sort(key=lambda row: (row[0], row[1]))
        block_ms = FILE_BLOCK_HOURS * HOUR_MS
        files = 0
        for key, rows in groupby(
            self.rows, key=lambda row: divmod(row[0], DAY_MS)[0] * 100 + row[0] % DAY_MS // block_ms
        ):
            day, block = divmod(key, 100)
            when = self.first_day + timedelta(days=day)
            folder = out_dir / f"{when.year:04d}" / f"{when.month:02d}" / f"{when.day:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            # One file at a time: holding every serialised line at once costs more than it saves.
            data = b"".join(_dumps(message) + b"\n" for _, _, message in rows)
            with (
                open(folder / f"segment-{block}.jsonl.gz", "wb") as raw,
                gzip.GzipFile(
                    filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=COMPRESS_LEVEL
                ) as gz,
            ):
                gz.write(data)
            files += 1
        return files


class Company:
    """The SaaS company's world: accounts, users, memberships, and what they do each day."""

    def __init__(
        self, rng: random.Random, accounts: int, users: int, days: int, first_weekday: int
    ) -> None:
        self.rng = rng
        self.days = days
        self.first_weekday = first_weekday  # Monday = 0; weekends are quiet
        self.accounts = self._make_accounts(accounts)
        self.users = self._make_users(users)
        self._seat_users()

    # -- the cast --------------------------------------------------------------------------

    def _make_accounts(self, count: int) -> list[Account]:
        rng = self.rng
        stories = rng.choices(STORIES, weights=[s.share for s in STORIES], k=count)
        names: set[str] = set()
        accounts = []
        for index, story in enumerate(stories, start=1):
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NOUNS)}"
            while name in names:  # account names are unique, like real companies' domains
                first, second = rng.sample(COMPANY_WORDS, 2)
                name = f"{first}{second.lower()} {rng.choice(COMPANY_NOUNS)}"
            names.add(name)
            domain = name.lower().replace(" ", "") + rng.choice(TLDS)
            website = None
            if rng.random() < 0.3:
                website = rng.choice([f"https://www.{domain}", f"{domain}", f"https://{domain}/"])
            # Half the trials started in the last three weeks, so some are still running.
            recent = rng.random() < 0.5
            new_day = rng.randint(max(0, self.days - 21) if recent else 0, self.days - 3)
            created = new_day if story.new else -rng.randint(30, 700)
            account = Account(
                id=f"acct_{index:04d}",
                name=name,
                domain=domain,
                website=website,
                industry=rng.choice(INDUSTRIES),
                employees=rng.choice([8, 25, 60, 150, 400, 2000]),
                story=story,
                created_day=created,
            )
            if story.name == "trial-converts":
                account.change_day = created + rng.randint(7, 14)
            elif story.name == "trial-lapses":
                account.change_day = created + 14
            elif story.name == "churned":
                account.change_day = rng.randint(self.days // 4, self.days * 2 // 3)
            accounts.append(account)
        return accounts

    def _make_users(self, count: int) -> list[User]:
        rng = self.rng
        users = []
        for index in range(1, count + 1):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            users.append(
                User(
                    id=f"usr_{index:05d}",
                    first=first,
                    last=last,
                    email="",
                    title=rng.choice(TITLES),
                    zone_hours=rng.choice([-8, -5, -5, 0, 1, 1, 2, 5, 8, 9]),
                    heaviness=rng.choice([0.4, 0.7, 1.0, 1.0, 1.3, 1.8]),
                    ip=f"{rng.choice(DOC_NETWORKS)}.{rng.randint(1, 254)}",
                    agent=rng.choice(USER_AGENTS),
                )
            )
        return users

    def _seat_users(self) -> None:
        """Give every account an owner, spread the rest by team size, add second seats."""
        rng = self.rng
        accounts, users = self.accounts, self.users
        weights = [a.story.team * rng.uniform(0.6, 1.6) for a in accounts]
        homes: list[Account] = list(accounts[: len(users)])
        if len(users) > len(accounts):
            homes += rng.choices(accounts, weights=weights, k=len(users) - len(accounts))
        for user, account in zip(users, homes, strict=True):
            self._join(user, account, first=not account.members)
        for user in users:
            if rng.random() < MULTI_ACCOUNT_RATE:
                for account in rng.choices(accounts, weights=weights, k=rng.randint(1, 2)):
                    if all(m.account is not account for m in user.memberships):
                        self._join(user, account, first=False)
        # Exact numbers of bad and messy emails, so even a small archive has some.
        odd = rng.sample(users, len(users))
        invalid = {u.id for u in odd[: max(1, round(len(users) * INVALID_EMAIL_RATE))]}
        messy = {
            u.id
            for u in odd[len(invalid) : len(invalid) + max(1, round(len(users) * MESSY_EMAIL_RATE))]
        }
        for user in users:
            user.signup_day = min(m.joined_day for m in user.memberships)
            self._name_email(
                user, "invalid" if user.id in invalid else "messy" if user.id in messy else "clean"
            )
            if 0 <= user.signup_day < self.days and rng.random() < 0.85:
                user.anonymous_id = self._uuid()
                user.link = rng.choices(["identify", "alias", "never"], [80, 12, 8])[0]

    def _join(self, user: User, account: Account, first: bool) -> None:
        rng, story = self.rng, account.story
        if first:
            role, joined = "owner", account.created_day
        else:
            role = rng.choices(["admin", "member", "viewer"], [15, 60, 25])[0]
            if user.memberships:  # a second seat comes after the user's first one
                start = max(account.created_day, user.memberships[0].joined_day)
            else:
                start = account.created_day
            begin = max(start, 0)
            if story.new:  # the trial's owner brings the team in within a few weeks
                joined = rng.randint(begin, begin + 20)
            elif story.name == "expanding" or rng.random() < 0.1:
                joined = rng.randint(begin, begin + self.days)
            else:
                joined = rng.randint(start, max(start, -1))
            joined = min(joined, self.days - 1)
        membership = Membership(user, account, role, joined)
        if role == "member" and rng.random() < 0.04:
            membership.promoted_day = rng.randint(max(joined, 0), self.days - 1)
        account.members.append(membership)
        user.memberships.append(membership)

    def _name_email(self, user: User, kind: str) -> None:
        rng = self.rng
        home = user.memberships[0].account
        domain = FREE_MAIL if rng.random() < 0.05 else home.domain
        name = _ascii(f"{user.first}.{user.last}")  # Zoë Núñez writes zoe.nunez@
        local = name.lower() + (user.id[-3:] if domain == FREE_MAIL else "")
        if kind == "invalid":
            user.email = rng.choice(
                [f"{local}@", f"{local} at {domain}", "n/a", f"{local}@localhost"]
            )
        elif kind == "messy":
            user.email = f"  {name}@{domain.upper()} "
        else:
            user.email = f"{local}@{domain}"

    def _uuid(self) -> str:
        bits = f"{self.rng.getrandbits(128):032x}"
        return f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-{bits[16:20]}-{bits[20:]}"

    # -- what they do ----------------------------------------------------------------------

    def intensity(self, membership: Membership, day: int) -> float:
        """How likely this seat is used on ``day`` relative to its story's base rate."""
        account, story = membership.account, membership.account.story.name
        days = self.days
        if story == "expanding":
            return 0.6 + 0.8 * day / days
        if story == "declining":
            fade_from = days - 60
            return 1.0 if day < fade_from else max(0.05, 1.0 - (day - fade_from) / 55)
        if story == "churned":
            assert account.change_day is not None
            return 1.0 if day < account.change_day else 0.01
        if story == "trial-converts":
            return 1.3
        if story == "trial-lapses":
            assert account.change_day is not None
            if day < account.change_day - 7:
                return 1.2
            return 0.5 if day < account.change_day else 0.03
        return 1.0

    def play(self, archive: Archive) -> None:
        """Emit every message of the archive's days."""
        for user in self.users:
            if 0 <= user.signup_day < self.days:
                self._sign_up(archive, user)
            self._title_change(archive, user)
            for membership in user.memberships:
                self._use(archive, membership, secondary=membership is not user.memberships[0])
        for account in self.accounts:
            self._plan_change(archive, account)
        self._visitors(archive, count=int(len(self.users) * ANONYMOUS_VISITOR_RATE))
        self._runaway_scripts(archive, count=max(1, len(self.users) // 200))

    def _work_time(self, user: User, day: int) -> int:
        """A moment in the user's working hours on ``day``, in ms since the archive start."""
        local = self.rng.randint(8 * HOUR_MS, 18 * HOUR_MS)
        return day * DAY_MS + local - user.zone_hours * HOUR_MS

    def _browser(self, user: User, account: Account | None) -> dict[str, Any]:
        context: dict[str, Any] = {
            "library": BROWSER,
            "ip": user.ip,
            "userAgent": user.agent,
            "locale": "en-US",
        }
        if account is not None:
            context["groupId"] = account.id
        return context

    def _identify(self, archive: Archive, user: User, ms: int, anonymous: bool = False) -> None:
        traits = {
            "email": user.email,
            "name": f"{user.first} {user.last}",
            "firstName": user.first,
            "lastName": user.last,
            "title": user.title,
            "createdAt": archive.iso(user.signup_day * DAY_MS + 9 * HOUR_MS),
        }
        body: dict[str, Any] = {"type": "identify", "userId": user.id}
        if anonymous:
            body["anonymousId"] = user.anonymous_id
        body["context"] = self._browser(user, None)
        body["traits"] = traits
        archive.add(ms, body)

    def _group(self, archive: Archive, membership: Membership, ms: int, day: int) -> None:
        account, user = membership.account, membership.user
        role = membership.role
        if membership.promoted_day is not None and day >= membership.promoted_day:
            role = "admin"
        traits: dict[str, Any] = {"name": account.name}
        if account.website is not None:
            traits["website"] = account.website
        else:
            traits["domain"] = account.domain
        traits.update(
            plan=account.plan_on(day),
            industry=account.industry,
            employees=account.employees,
            createdAt=archive.iso(account.created_day * DAY_MS + 9 * HOUR_MS),
            role=role,
        )
        archive.add(
            ms,
            {
                "type": "group",
                "userId": user.id,
                "groupId": account.id,
                "context": self._browser(user, account),
                "traits": traits,
            },
        )

    def _track(
        self,
        archive: Archive,
        user: User,
        account: Account | None,
        ms: int,
        event: str,
        properties: dict[str, Any] | None = None,
        anonymous: bool = False,
    ) -> None:
        body: dict[str, Any] = {"type": "track", "event": event, "userId": user.id}
        if anonymous:
            body["anonymousId"] = user.anonymous_id
        body["context"] = self._browser(user, account)
        body["properties"] = properties or {}
        archive.add(ms, body)

    def _page(
        self,
        archive: Archive,
        user: User | None,
        account: Account | None,
        ms: int,
        name: str,
        anonymous_id: str | None = None,
    ) -> None:
        path = "/" if name == "Home" else f"/{name.lower()}"
        host = "app.brightmetrics.example" if account else "www.brightmetrics.example"
        body: dict[str, Any] = {"type": "page", "name": name}
        if user is not None:
            body["userId"] = user.id
        if anonymous_id is not None:
            body["anonymousId"] = anonymous_id
        if user is not None:
            context = self._browser(user, account)
        else:
            context = {"library": BROWSER, "ip": "192.0.2.77", "userAgent": USER_AGENTS[0]}
        context["page"] = {"path": path, "url": f"https://{host}{path}", "title": name}
        body["context"] = context
        body["properties"] = {"path": path, "url": f"https://{host}{path}", "title": name}
        archive.add(ms, body)

    def _sign_up(self, archive: Archive, user: User) -> None:
        """Anonymous site visits, then sign-up and the identify (or alias) that links them."""
        rng, day = self.rng, user.signup_day
        ms = self._work_time(user, day)
        user.signup_ms = ms
        home = user.memberships[0]
        anonymous = user.anonymous_id is not None
        if anonymous:
            for _ in range(rng.randint(1, 6)):
                visit = ms - rng.randint(HOUR_MS // 2, 10 * DAY_MS)
                page = rng.choice(SITE_PAGES)
                self._page(archive, None, None, visit, page, anonymous_id=user.anonymous_id)
            if rng.random() < 0.6:
                archive.add(
                    ms - rng.randint(60_000, HOUR_MS),
                    {
                        "type": "track",
                        "event": "Signup Started",
                        "anonymousId": user.anonymous_id,
                        "context": {"library": BROWSER, "ip": user.ip, "userAgent": user.agent},
                        "properties": {"source": rng.choice(["pricing", "home", "blog", "invite"])},
                    },
                )
        if home.role != "owner":  # invited by someone already in the account
            inviters = [
                m
                for m in home.account.members
                if m.role in ("owner", "admin") and m.user is not user and m.joined_day < day
            ]
            if inviters:
                inviter = rng.choice(inviters).user
                self._track(
                    archive,
                    inviter,
                    home.account,
                    ms - rng.randint(HOUR_MS, DAY_MS),
                    "Invite Sent",
                    {"invitee_role": home.role},
                )
        self._track(
            archive,
            user,
            home.account,
            ms,
            "Signed Up",
            {"method": rng.choice(["email", "google"]), "invited": home.role != "owner"},
            anonymous=anonymous,
        )
        if user.link == "alias" and anonymous:
            archive.add(
                ms + 500,
                {
                    "type": "alias",
                    "previousId": user.anonymous_id,
                    "userId": user.id,
                    "context": {"library": SERVER},
                },
                server=True,
            )
        self._identify(archive, user, ms + 1000, anonymous=anonymous and user.link == "identify")
        self._group(archive, home, ms + 1500, day)

    def _title_change(self, archive: Archive, user: User) -> None:
        if self.rng.random() < 0.03 and user.signup_day < self.days - 2:
            day = self.rng.randint(max(user.signup_day + 1, 0), self.days - 1)
            user.title = self.rng.choice(TITLES)  # later identifies carry the new title
            self._identify(archive, user, self._work_time(user, day))

    def _plan_change(self, archive: Archive, account: Account) -> None:
        """Billing tells Segment about conversions, lapses and cancellations."""
        day = account.change_day
        if day is None or not 0 <= day < self.days or not account.members:
            return
        owner = account.members[0]
        ms = day * DAY_MS + 3 * HOUR_MS + self.rng.randint(0, HOUR_MS)
        if account.story.name == "trial-converts":
            self._track(
                archive, owner.user, account, ms - HOUR_MS, "Upgrade Clicked", {"to_plan": "pro"}
            )
            self._track(
                archive,
                owner.user,
                account,
                ms,
                "Plan Upgraded",
                {"from_plan": "trial", "to_plan": "pro"},
            )
        if account.story.name != "churned" or self.rng.random() < 0.5:
            self._group(archive, owner, ms + 1000, day)

    def _use(self, archive: Archive, membership: Membership, secondary: bool) -> None:
        """Day by day product use of one seat: sessions of pages and actions, API traffic."""
        rng, user, account = self.rng, membership.user, membership.account
        story = account.story
        actions = ACTIONS_BY_ROLE[membership.role]
        names, weights = list(actions), list(actions.values())
        base = story.activity * (0.5 if secondary else 1.0) * min(1.5, user.heaviness)
        if membership.role == "viewer":
            base *= 0.6
        identified = grouped = False
        start = max(membership.joined_day, account.created_day, 0)
        api = story.api and membership.role in ("owner", "admin")
        for day in range(start, self.days):
            weekday = (self.first_weekday + day) % 7
            p = base * self.intensity(membership, day) * (0.2 if weekday >= 5 else 1.0)
            if rng.random() >= p:
                continue
            ms = self._work_time(user, day)
            if user.signup_ms is not None and ms <= user.signup_ms:  # nothing before sign-up
                ms = user.signup_ms + rng.randint(60_000, HOUR_MS)
            if not identified or rng.random() < 0.1:
                self._identify(archive, user, ms - 2000)
                identified = True
            if not grouped or rng.random() < 0.04:
                self._group(archive, membership, ms - 1000, day)
                grouped = True
            for _ in range(1 + (rng.random() < 0.35) + (rng.random() < 0.1)):
                self._page(archive, user, account, ms, rng.choice(APP_PAGES))
                steps = 1 + int(rng.expovariate(1 / (2.5 * user.heaviness)))
                for event in rng.choices(names, weights, k=steps):
                    ms += rng.randint(5_000, 240_000)
                    self._track(archive, user, account, ms, event, self._properties(event))
                if story.plan in ("trial", "free") and rng.random() < 0.04:
                    self._track(
                        archive, user, account, ms + 3000, "Upgrade Clicked", {"to_plan": "pro"}
                    )
                ms += rng.randint(HOUR_MS, 3 * HOUR_MS)
            if api and rng.random() < 0.6:
                self._api_calls(archive, user, account, day, rng.randint(3, 40))

    def _api_calls(
        self, archive: Archive, user: User, account: Account, day: int, count: int
    ) -> None:
        """A server integration calling the API; some libraries put the account in properties."""
        rng = self.rng
        in_properties = rng.random() < 0.15
        for _ in range(count):
            ms = day * DAY_MS + rng.randint(0, DAY_MS - 1)
            properties: dict[str, Any] = {
                "endpoint": rng.choice(["/v1/events", "/v1/reports", "/v1/projects"])
            }
            context: dict[str, Any] = {"library": SERVER}
            if in_properties:
                properties["groupId"] = account.id
            else:
                context["groupId"] = account.id
            archive.add(
                ms,
                {
                    "type": "track",
                    "event": "API Call",
                    "userId": user.id,
                    "context": context,
                    "properties": properties,
                },
                server=True,
            )

    def _properties(self, event: str) -> dict[str, Any]:
        rng = self.rng
        if event == "Report Exported":
            return {"format": rng.choice(["csv", "pdf", "xlsx"])}
        if event == "Project Created":
            return {"template": rng.choice(["blank", "funnel", "retention", "revenue"])}
        if event == "Integration Connected":
            return {"integration": rng.choice(["Slack", "Salesforce", "Snowflake", "Stripe"])}
        if event == "Dashboard Viewed":
            return {"dashboard_id": f"dash_{rng.randint(1, 40)}"}
        return {}

    def _visitors(self, archive: Archive, count: int) -> None:
        """Marketing-site visitors who never sign up: never linked, never scored."""
        for _ in range(count):
            anonymous_id = self._uuid()
            day = self.rng.randint(0, self.days - 1)
            for _ in range(self.rng.randint(1, 3)):
                ms = day * DAY_MS + self.rng.randint(0, DAY_MS - 1)
                self._page(archive, None, None, ms, self.rng.choice(SITE_PAGES), anonymous_id)
        archive.counts["anonymous_visitors"] += count

    def _runaway_scripts(self, archive: Archive, count: int) -> None:
        """A wall-screen dashboard refreshing every minute: hundreds of one event in a day."""
        rng = self.rng
        seats = [m for a in self.accounts for m in a.members if m.joined_day < self.days - 1]
        for membership in rng.sample(seats, min(count, len(seats))):
            day = rng.randint(max(membership.joined_day + 1, 0), self.days - 1)
            start = day * DAY_MS + 6 * HOUR_MS
            for minute in range(rng.randint(150, 500)):
                self._track(
                    archive,
                    membership.user,
                    membership.account,
                    start + minute * 60_000,
                    "Dashboard Viewed",
                    {"dashboard_id": "dash_wallboard"},
                )
            archive.counts["runaway_bursts"] += 1


def generate(
    out_dir: str | Path,
    seed: int = 7,
    accounts: int = 300,
    users: int = 1000,
    days: int = 120,
    end: date = DEFAULT_END,
) -> dict[str, int]:
    """Write the demo archive for ``days`` days ending on ``end`` into ``out_dir``.

    Returns counts: messages (lines written, duplicates included), per type, duplicates,
    late, files, accounts, users, memberships, anonymous_visitors, linked identities.
    """
    if accounts < 1 or users < 1 or days < 7:
        raise ValueError("need at least 1 account, 1 user and 7 days")
    rng = random.Random(seed)
    first_day = end - timedelta(days=days - 1)
    # Hundreds of thousands of small dicts and no cycles: the cyclic collector would only
    # rescan them over and over (a quarter of the run time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        company = Company(rng, accounts, users, days, first_day.weekday())
        archive = Archive(rng, first_day, days)
        company.play(archive)
        files = archive.write(Path(out_dir))
    finally:
        if collecting:
            gc.enable()
    counts = dict(archive.counts)
    counts.update(
        messages=len(archive.rows),
        files=files,
        accounts=accounts,
        users=users,
        memberships=sum(len(u.memberships) for u in company.users),
        users_in_several_accounts=sum(len(u.memberships) > 1 for u in company.users),
        anonymous_linked_by_identify=sum(
            u.link == "identify" and u.anonymous_id is not None for u in company.users
        ),
        anonymous_linked_by_alias=sum(
            u.link == "alias" and u.anonymous_id is not None for u in company.users
        ),
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line: generate the archive and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for the archive")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=DEFAULT_END,
        help="last day of the archive (UTC), default %(default)s",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        counts = generate(args.out, args.seed, args.accounts, args.users, args.days, args.end)
    except ValueError as error:
        parser.error(str(error))
    elapsed = time.perf_counter() - started
    first = args.end - timedelta(days=args.days - 1)
    print(
        f"Wrote {counts['messages']:,} Segment messages in {counts['files']} files to "
        f"{args.out} ({first} .. {args.end}, {elapsed:.1f} s)"
    )
    for key in (
        "track",
        "page",
        "identify",
        "group",
        "alias",
        "duplicates",
        "late",
        "accounts",
        "users",
        "memberships",
        "users_in_several_accounts",
        "anonymous_linked_by_identify",
        "anonymous_linked_by_alias",
        "anonymous_visitors",
        "runaway_bursts",
    ):
        print(f"  {key:<30} {counts.get(key, 0):>9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
