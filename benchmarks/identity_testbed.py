"""A labelled test bed for identity resolution: people with duplicate records under realistic
noise, with the true clusters known (not a benchmark itself; used by rule_matching_quality.py).

``generate(n_profiles, seed)`` returns ``n_profiles`` records ``(cluster_id, fields)``, where
``fields`` is the API's Profile shape (no ProfileId) and ``cluster_id`` names the real person.
``iter_generate`` yields the same records one by one (for 1M profiles without holding them all).
The output depends only on ``(n_profiles, seed)``: Faker (en_US, seeded) builds the pools once
(weighted first and last names, street and city names, states with their ZIP ranges), then one
``random.Random(seed)`` draws everything else. Records of one person come out consecutively (the
rule-based matcher does not depend on profile order).

**People.** First names follow Faker's US frequency weights, last names too (Smith ~2%), so
common names are shared by unrelated people, as in real data. Each person has: FirstName,
LastName, MiddleName (50%), BirthDate (1940-2006), a personal email (unique, built from the
name: ``jane.doe42@gmail.com``, ``jdoe``, ...), a work email (40%), a mobile phone (unique), an
address (US street, city, state, ZIP) and an AccountNumber (30%).

- Households: 10% of people join the household of an earlier person: same address and the same
  home phone (a *shared family phone*: a true non-match sharing a phone), same last name (80%).
  Half of the other people have a home phone of their own.
- Namesakes: 3% of people copy the first and last name (and 30% of those the ZIP code) of an
  earlier, unrelated person: true non-matches sharing a name, on top of the natural collisions.

**Records per person.** 60% of people have 1 record, 25% have 2, 10% have 3, 5% have 4 (1.6
records per person on average; the last person is cut to reach exactly ``n_profiles``).

**Fields of every record** (drawn independently per record, the first included):

- name: always FirstName and LastName; MiddleName on 60% of the records of a person who has one
  (as an initial ``J.`` on a quarter of them);
- email on 85% of records: the personal email in EmailAddress (55%) or PersonalEmailAddress
  (30%), or, for people with one, the work email in BusinessEmailAddress (15%; else personal in
  EmailAddress);
- phone on 80% of records: the mobile in PhoneNumber (50%) or MobilePhoneNumber (30%), or the
  home phone in HomePhoneNumber (20%, for people with one; else the mobile in PhoneNumber); a
  second phone field (the home phone in HomePhoneNumber) on 15% of records; formats evenly among
  ``+12065550100``, ``(206) 555-0100``, ``206-555-0100``, ``206.555.0100``, ``2065550100``,
  ``1-206-555-0100``, ``+1 206 555 0100``;
- BirthDate on 60% of records, formats evenly among ``1985-03-07``, ``03/07/1985``,
  ``3/7/1985``, ``March 7, 1985``, ``7 Mar 1985``, ``19850307``;
- Address on 70% of records: Address1 (suffix and directional spelled out or abbreviated, with
  or without a dot, unit as ``Apt 4`` / ``Apartment 4`` / ``#4``), City, State (abbreviation, 15%
  the full name), PostalCode (ZIP, 10% ZIP+4), Country (``US`` 60%, ``USA`` 20%, ``United
  States`` 10%, absent 10%);
- AccountNumber on 60% of the records of a person who has one.

**Noise on the 2nd..4th record of a person** (each independently, rates per duplicate record):

- nickname for the first name 12% (when the name has one: Robert -> Bob/Rob/Bobby, William ->
  Bill/Will, Elizabeth -> Liz/Beth, ... see ``NICKNAMES``);
- one-edit typo (substitution, deletion, insertion or transposition) in the first name 5%, in
  the last name 5%;
- first and last name swapped 3%;
- case change of the names 15% (``JANE DOE`` or ``jane doe``);
- email case or whitespace variant 20% (``Jane.Doe@Gmail.com``, `` jane.doe@gmail.com ``);
- a different (new) personal email 8%;
- moved: a new address 15% (the phone and email stay);
- a typo in the birth date (day off by one) 3%.

``pairwise_scores(true_labels, found_labels)`` scores a clustering over pairs of records, from a
contingency table of the two labelings (never enumerating pairs).
"""

from __future__ import annotations

import itertools
import random
import string
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

CLUSTER_SIZES = ((1, 0.60), (2, 0.25), (3, 0.10), (4, 0.05))
HOUSEHOLD_RATE, NAMESAKE_RATE = 0.10, 0.03
NICKNAME_RATE, FIRST_TYPO_RATE, LAST_TYPO_RATE, SWAP_RATE, CASE_RATE = 0.12, 0.05, 0.05, 0.03, 0.15
EMAIL_VARIANT_RATE, NEW_EMAIL_RATE, MOVE_RATE, BIRTH_TYPO_RATE = 0.20, 0.08, 0.15, 0.03

NICKNAMES = {
    "Robert": ("Bob", "Rob", "Bobby"), "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Betty"), "James": ("Jim", "Jimmy"), "John": ("Jack", "Johnny"),
    "Michael": ("Mike",), "Richard": ("Rick", "Dick"), "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe",), "Charles": ("Charlie", "Chuck"), "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",), "Anthony": ("Tony",), "Steven": ("Steve",),
    "Stephen": ("Steve",), "Andrew": ("Andy", "Drew"), "Joshua": ("Josh",), "Kenneth": ("Ken",),
    "Edward": ("Ed", "Ted"), "David": ("Dave",), "Donald": ("Don",), "Ronald": ("Ron",),
    "Timothy": ("Tim",), "Jonathan": ("Jon",), "Gregory": ("Greg",), "Samuel": ("Sam",),
    "Benjamin": ("Ben",), "Nicholas": ("Nick",), "Alexander": ("Alex",), "Jacob": ("Jake",),
    "Zachary": ("Zach",), "Patrick": ("Pat",), "Peter": ("Pete",), "Raymond": ("Ray",),
    "Margaret": ("Maggie", "Peggy"), "Jennifer": ("Jen", "Jenny"), "Katherine": ("Kate", "Kathy"),
    "Kathleen": ("Kathy",), "Catherine": ("Cathy", "Kate"), "Patricia": ("Pat", "Trish"),
    "Susan": ("Sue",), "Deborah": ("Debbie",), "Rebecca": ("Becky",), "Samantha": ("Sam",),
    "Jessica": ("Jess",), "Victoria": ("Vicky",), "Christina": ("Chris", "Tina"),
    "Christine": ("Chris",), "Kimberly": ("Kim",), "Pamela": ("Pam",), "Cynthia": ("Cindy",),
    "Barbara": ("Barb",), "Dorothy": ("Dot",), "Abigail": ("Abby",), "Alexandra": ("Alex",),
    "Stephanie": ("Steph",), "Melissa": ("Missy",), "Amanda": ("Mandy",),
}  # fmt: skip
#: street suffixes and directionals: (long, short) spellings
SUFFIXES = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"),
            ("Court", "Ct"), ("Boulevard", "Blvd"), ("Place", "Pl"), ("Parkway", "Pkwy"),
            ("Circle", "Cir"), ("Terrace", "Ter"), ("Way", "Way"))
DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"))
WORK_DOMAINS = ("acme.com", "globex.com", "initech.com", "umbrella.com", "hooli.com",
                "stark.com", "wayne.com", "contoso.com", "fabrikam.com", "example.org")
FREE_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass
class Person:
    cluster: int
    first: str
    last: str
    middle: str | None
    birth: date
    email: str
    work_email: str | None
    mobile: str
    home: str | None
    address: dict[str, Any]
    account: str | None
    extra: dict[str, Any] = field(default_factory=dict)


class _Pools:
    """What Faker contributes, built once per seed: weighted names, streets, cities, states."""

    def __init__(self, seed: int) -> None:
        from faker import Faker
        from faker.providers.address.en_US import Provider as AddressProvider
        from faker.providers.person.en_US import Provider as PersonProvider

        fake = Faker("en_US")
        fake.seed_instance(seed)
        #: per gender: the first names and their cumulative weights (middle names too)
        self.first_names = [
            (list(names), list(itertools.accumulate(names.values())))
            for names in (PersonProvider.first_names_male, PersonProvider.first_names_female)
        ]
        self.last_names = list(PersonProvider.last_names)
        self.last_cum = list(itertools.accumulate(PersonProvider.last_names.values()))
        self.street_names = sorted({fake.last_name() for _ in range(3000)}
                                   | {fake.first_name() for _ in range(1000)})
        self.cities = sorted({fake.city() for _ in range(4000)})
        states = AddressProvider.states_postcode
        abbrs = [a for a in AddressProvider.states_abbr if a != "DC"]  # 50 states, 50 names
        names = dict(zip(abbrs, AddressProvider.states, strict=True)) | {"DC": "District of Columbia"}
        self.states = [(abbr, names[abbr], *states[abbr]) for abbr in AddressProvider.states_abbr]


@lru_cache(maxsize=4)
def _pools(seed: int) -> _Pools:
    return _Pools(seed)


def _typo(rng: random.Random, word: str) -> str:
    """One edit: substitute, delete, insert or transpose a letter (never the empty word)."""
    if len(word) < 3:
        return word + rng.choice(string.ascii_lowercase)
    i = rng.randrange(1, len(word))  # keep the first letter, as most real typos do
    kind = rng.randrange(4)
    letter = rng.choice(string.ascii_lowercase)
    if kind == 0:
        return word[:i] + letter + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + letter + word[i:]
    if i == len(word) - 1:
        i -= 1
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _phone(rng: random.Random) -> str:
    """A US number as 10 digits: area code and exchange 2xx-9xx, no N11, line 0000-9999."""
    while True:
        area = rng.randrange(201, 990)
        exchange = rng.randrange(201, 1000)
        if area % 100 != 11 and exchange % 100 != 11:
            return f"{area}{exchange}{rng.randrange(10000):04d}"


def _phone_text(rng: random.Random, digits: str) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice((f"+1{digits}", f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", digits,
                       f"1-{a}-{b}-{c}", f"+1 {a} {b} {c}"))


def _date_text(rng: random.Random, d: date) -> str:
    month = MONTHS[d.month - 1]
    return rng.choice((d.isoformat(), f"{d.month:02d}/{d.day:02d}/{d.year}",
                       f"{d.month}/{d.day}/{d.year}", f"{month} {d.day}, {d.year}",
                       f"{d.day} {month[:3]} {d.year}", f"{d.year}{d.month:02d}{d.day:02d}"))


def _address(rng: random.Random, pools: _Pools) -> dict[str, Any]:
    abbr, state_name, lo, hi = rng.choice(pools.states)
    return {
        "number": rng.randrange(1, 20000),
        "direction": rng.randrange(len(DIRECTIONS)) if rng.random() < 0.2 else None,
        "street": rng.choice(pools.street_names),
        "suffix": rng.randrange(len(SUFFIXES)),
        "unit": rng.randrange(1, 400) if rng.random() < 0.25 else None,
        "city": rng.choice(pools.cities),
        "state": (abbr, state_name),
        "zip": f"{rng.randint(lo, hi):05d}",
        "plus4": f"{rng.randrange(10000):04d}",
    }


def _address_fields(rng: random.Random, a: dict[str, Any]) -> dict[str, str]:
    long = rng.random() < 0.4
    dot = "." if not long and rng.random() < 0.3 else ""
    parts = [str(a["number"])]
    if a["direction"] is not None:
        parts.append(DIRECTIONS[a["direction"]][0 if long else 1] + dot)
    parts.append(a["street"])
    parts.append(SUFFIXES[a["suffix"]][0 if long else 1] + dot)
    if a["unit"] is not None:
        parts.append(rng.choice(("Apt {}", "Apartment {}", "#{}")).format(a["unit"]))
    line = " ".join(parts)
    if rng.random() < 0.1:
        line = line.upper()
    out = {
        "Address1": line,
        "City": a["city"],
        "State": a["state"][1] if rng.random() < 0.15 else a["state"][0],
        "PostalCode": a["zip"] + ("-" + a["plus4"] if rng.random() < 0.1 else ""),
    }
    roll = rng.random()
    if roll < 0.9:
        out["Country"] = "US" if roll < 0.6 else "USA" if roll < 0.8 else "United States"
    return out


def _email(rng: random.Random, first: str, last: str, domain: str) -> str:
    f, l = first.lower(), last.lower().replace(" ", "").replace("'", "")
    local = rng.choice((f"{f}.{l}", f"{f[0]}{l}", f"{f}{l}", f"{f}_{l}", f"{l}.{f}"))
    return f"{local}{rng.randrange(1, 1000)}@{domain}"


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools = _pools(seed)
        self.people: list[Person] = []  # the recent ones, for households and namesakes
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.start = date(1940, 1, 1)

    def _unique_email(self, first: str, last: str, domains: Sequence[str]) -> str:
        rng = self.rng
        while True:
            email = _email(rng, first, last, rng.choice(domains))
            if email not in self.emails:
                self.emails.add(email)
                return email

    def _unique_phone(self) -> str:
        while True:
            phone = _phone(self.rng)
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def person(self, cluster: int) -> Person:
        rng, pools = self.rng, self.pools
        names, cum = pools.first_names[rng.randrange(2)]
        first = rng.choices(names, cum_weights=cum)[0]
        last = rng.choices(pools.last_names, cum_weights=pools.last_cum)[0]
        address = _address(rng, pools)
        home = self._unique_phone() if rng.random() < 0.5 else None
        roll = rng.random()
        if roll < HOUSEHOLD_RATE and self.people:
            head = rng.choice(self.people[-1000:])
            if head.home is None:
                head.home = self._unique_phone()
            address, home = head.address, head.home
            if rng.random() < 0.8:
                last = head.last
        elif roll < HOUSEHOLD_RATE + NAMESAKE_RATE and self.people:
            other = rng.choice(self.people[-5000:])
            first, last = other.first, other.last
            if rng.random() < 0.3:
                address = {**address, "zip": other.address["zip"]}
        person = Person(
            cluster=cluster, first=first, last=last,
            middle=rng.choices(names, cum_weights=cum)[0] if rng.random() < 0.5 else None,
            birth=self.start + timedelta(days=rng.randrange(24000)),
            email=self._unique_email(first, last, FREE_DOMAINS),
            work_email=self._unique_email(first, last, WORK_DOMAINS) if rng.random() < 0.4 else None,
            mobile=self._unique_phone(), home=home, address=address,
            account=f"AC{rng.randrange(10**9):09d}" if rng.random() < 0.3 else None,
        )  # fmt: skip
        self.people.append(person)
        if len(self.people) > 10000:
            del self.people[:5000]
        return person

    def record(self, p: Person, duplicate: bool) -> dict[str, Any]:
        rng = self.rng
        first, last, birth, email, address = p.first, p.last, p.birth, p.email, p.address
        if duplicate:
            if first in NICKNAMES and rng.random() < NICKNAME_RATE:
                first = rng.choice(NICKNAMES[first])
            if rng.random() < FIRST_TYPO_RATE:
                first = _typo(rng, first)
            if rng.random() < LAST_TYPO_RATE:
                last = _typo(rng, last)
            if rng.random() < SWAP_RATE:
                first, last = last, first
            if rng.random() < CASE_RATE:
                first, last = (first.upper(), last.upper()) if rng.random() < 0.5 else (first.lower(), last.lower())
            if rng.random() < NEW_EMAIL_RATE:
                email = p.extra["new_email"] = p.extra.get("new_email") or self._unique_email(
                    p.first, p.last, FREE_DOMAINS
                )
            if rng.random() < MOVE_RATE:
                address = p.extra["moved"] = p.extra.get("moved") or _address(rng, self.pools)
            if rng.random() < BIRTH_TYPO_RATE:
                birth = birth + timedelta(days=rng.choice((-1, 1)))
        fields: dict[str, Any] = {"FirstName": first, "LastName": last}
        if p.middle and rng.random() < 0.6:
            fields["MiddleName"] = p.middle if rng.random() < 0.75 else p.middle[0] + "."
        if rng.random() < 0.85:
            if duplicate and rng.random() < EMAIL_VARIANT_RATE:
                local, _, domain = email.partition("@")
                email = rng.choice((f"{local.title()}@{domain.title()}", f" {email} ", email.upper()))
            roll = rng.random()
            if roll < 0.55:
                fields["EmailAddress"] = email
            elif roll < 0.85:
                fields["PersonalEmailAddress"] = email
            elif p.work_email:
                fields["BusinessEmailAddress"] = p.work_email
            else:
                fields["EmailAddress"] = email
        if rng.random() < 0.8:
            roll = rng.random()
            if roll < 0.5:
                fields["PhoneNumber"] = _phone_text(rng, p.mobile)
            elif roll < 0.8:
                fields["MobilePhoneNumber"] = _phone_text(rng, p.mobile)
            elif p.home:
                fields["HomePhoneNumber"] = _phone_text(rng, p.home)
            else:
                fields["PhoneNumber"] = _phone_text(rng, p.mobile)
            if p.home and "HomePhoneNumber" not in fields and rng.random() < 0.15:
                fields["HomePhoneNumber"] = _phone_text(rng, p.home)
        if rng.random() < 0.6:
            fields["BirthDate"] = _date_text(rng, birth)
        if rng.random() < 0.7:
            fields["Address"] = _address_fields(rng, address)
        if p.account and rng.random() < 0.6:
            fields["AccountNumber"] = p.account
        return fields


def iter_generate(n_profiles: int, seed: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """The records of ``generate``, one at a time."""
    gen = _Generator(seed)
    sizes = [s for s, _ in CLUSTER_SIZES]
    cum = list(itertools.accumulate(w for _, w in CLUSTER_SIZES))
    made, cluster = 0, 0
    while made < n_profiles:
        person = gen.person(cluster)
        size = min(gen.rng.choices(sizes, cum_weights=cum)[0], n_profiles - made)
        for k in range(size):
            yield cluster, gen.record(person, duplicate=k > 0)
        made += size
        cluster += 1


def generate(n_profiles: int, seed: int) -> list[tuple[int, dict[str, Any]]]:
    """``n_profiles`` records ``(cluster_id, profile_fields)``; the same for the same arguments."""
    return list(iter_generate(n_profiles, seed))


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(
    true_labels: Sequence[Hashable], found_labels: Sequence[Hashable | None]
) -> tuple[float, float, float]:
    """(precision, recall, F1) over pairs of records. ``true_labels[i]`` is record i's real
    cluster, ``found_labels[i]`` its found cluster (``None``: a singleton). A pair is found when
    both records share a found cluster, true when they share a real one. Counted from cluster
    sizes and the contingency table, in O(records). An empty side scores 1.0 (no pair to get
    wrong)."""
    if len(true_labels) != len(found_labels):
        raise ValueError("both labelings must cover the same records")
    true_sizes: Counter[Hashable] = Counter(true_labels)
    found_sizes: Counter[Hashable] = Counter(f for f in found_labels if f is not None)
    both: Counter[tuple[Hashable, Hashable]] = Counter(
        (t, f) for t, f in zip(true_labels, found_labels, strict=True) if f is not None
    )
    agree = sum(_pairs(n) for n in both.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    found_pairs = sum(_pairs(n) for n in found_sizes.values())
    precision = agree / found_pairs if found_pairs else 1.0
    recall = agree / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


if __name__ == "__main__":
    import sys

    import orjson

    for cluster_id, fields in generate(int(sys.argv[1]) if len(sys.argv) > 1 else 12, seed=7):
        print(cluster_id, orjson.dumps(fields).decode())
