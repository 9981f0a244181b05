"""Personal data wherever a delivery puts it: outside the contract's columns (extra columns, the lines of a form
above its header, a signature line below its data) and in the wrong contract column of a quarantined row.

The contract's own personal columns are known by name: the ID number is hashed, contact fields are never stored
(`wfm.ingest.pseudonym`, `wfm.ingest.staging`). An ID number, phone number or e-mail address in one of the
contract's free-text or number columns sends its row to quarantine (`holds_personal_sql`, reason
`<col>_personal_data`), so that none reaches `raw`. Everything else a sender writes is free text, searched here for
what looks personal, each found part replaced by `MASK`:

- an ID number: a run of 18 digits (the last may be X) whose GB 11643 check character is right;
- a mobile number (`1[3-9]` and nine more digits, `+86` and 3-4-4 spacing or hyphens allowed) or a landline
  (`0`, two or three more digits of area code in optional brackets, then seven or eight digits);
- an e-mail address;
- the word after a contact label (`填表人：张三`, `电话 13800138000`, `Tel: ...`, see `CONTACT_WORDS_*` in
  `wfm.contract`).

Full-width digits count as digits. A digit run that is part of a longer one is not a number of its own, so codes
and amounts longer than a phone number are left alone; an 18-digit run with a wrong check character is not an
ID number (a one-in-eleven chance for any other number), so it is kept.

A column outside the contract whose header names contact data, or itself holds personal data, is dropped
(`personal_header`). Two twins do the masking: `scrub_text` in Python for the few lines of form metadata, and
`scrub_sql`, a DuckDB expression for the many values of a file (it calls the `id_check_char` macro that
`wfm.ingest.codes.install_sql` installs); a test holds them to agreement.
"""

from __future__ import annotations

import re
import unicodedata

from wfm.contract import CONTACT_WORDS_EN, CONTACT_WORDS_ZH
from wfm.ingest.codes import id_check_char
from wfm.ingest.pseudonym import MASK
from wfm.warehouse import sql_literal

_D = "[0-9０-９]"
_NOT_D = "[^0-9０-９]"
_FULL_WIDTH, _ASCII = "０１２３４５６７８９Ｘｘ", "0123456789Xx"
#: spaces as both regular expression engines (Python's, DuckDB's RE2) read them, and the ideographic space
_SPACE = "[\t\n\f\r \u3000]"
_VALUE = "[^\t\n\f\r \u3000:：,，;；、]+"

#: maximal runs of digits, with an optional X at the end: the candidates for an ID number
ID_RUN = f"{_D}+[XxＸｘ]?"
_MOBILE = f"(?:[+＋]?86[ -]?)?[1１][3-9３-９]{_D}[ -]?{_D}{{4}}[ -]?{_D}{{4}}"
_LANDLINE = f"[(（]?[0０]{_D}{{2,3}}[)）]?[-－ ]?{_D}{{3,4}}[-－ ]?{_D}{{4}}"
#: a phone number with no digit on either side; the sides are captured (no lookaround in RE2), so a number
#: right after another one's side is only found by a second pass
PHONE = f"(^|{_NOT_D})(?:{_MOBILE}|{_LANDLINE})({_NOT_D}|$)"
EMAIL = "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}"


def _word(word: str) -> str:
    """A label as a pattern: its parts joined by an optional space, underscore or hyphen."""
    return "[ _-]?".join(re.escape(part) for part in re.split(r"[ _-]", word))


_ZH = "|".join(_word(w) for w in sorted(CONTACT_WORDS_ZH, key=len, reverse=True))
_EN = "|".join(_word(w) for w in sorted(CONTACT_WORDS_EN, key=len, reverse=True))
#: a contact label and the word after it, which is masked: after a Chinese label, a colon or spaces; after an
#: English one (not the end of a longer word: `Hotel:`), a colon
_LABELLED_ZH = f"({_ZH})({_SPACE}*[:：]{_SPACE}*|{_SPACE}+)({_VALUE})"
_LABELLED_EN = f"(^|[^A-Za-z])({_EN})({_SPACE}*[:：]{_SPACE}*)({_VALUE})"
LABELLED = f"(?i){_LABELLED_ZH}|{_LABELLED_EN}"
#: a value that is nothing but a contact label: a line of a form (a signature line) read as a data row
LABEL_ONLY = f"(?i){_SPACE}*(?:{_ZH}|{_EN}){_SPACE}*[:：]?{_SPACE}*"
#: what every value with something to mask contains, the others skip the masking: seven digits in a row or a
#: separator before three (every ID or phone number has one or the other), an @, or a label
_PREFILTER = f"(?i){_D}{{7}}|{_D}[-－ ]{_D}{{3}}|@|{_ZH}|{_EN}"

_ID_RUN_RE = re.compile(ID_RUN)
_PHONE_RE = re.compile(PHONE)
_EMAIL_RE = re.compile(EMAIL)
_LABELLED_RE = re.compile(LABELLED)
_LABEL_ONLY_RE = re.compile(LABEL_ONLY)
_PREFILTER_RE = re.compile(_PREFILTER)
_TO_ASCII = str.maketrans(_FULL_WIDTH, _ASCII)
BS = "\\"  # a backslash, for the back-references of a replacement


def _is_id(run: str) -> bool:
    if len(run) != 18:
        return False
    run = run.translate(_TO_ASCII).upper()
    return run[:17].isascii() and run[:17].isdigit() and id_check_char(run[:17]) == run[17]


def _unlabel(match: re.Match[str]) -> str:
    if match[1] is not None:
        return f"{match[1]}{match[2]}{MASK}"
    return f"{match[4]}{match[5]}{match[6]}{MASK}"


def scrub_text(text: str) -> str:
    """`text` with every ID number, phone number, e-mail address and word after a contact label masked."""
    if not _PREFILTER_RE.search(text):
        return text
    for run in [r for r in _ID_RUN_RE.findall(text) if _is_id(r)]:
        text = text.replace(run, MASK)
    for _ in range(2):
        text = _PHONE_RE.sub(lambda m: f"{m[1]}{MASK}{m[2]}", text)
    text = _EMAIL_RE.sub(MASK, text)
    return _LABELLED_RE.sub(_unlabel, text)


def label_only(text: str) -> bool:
    """Whether `text` is nothing but a contact label (`填表人：`, `Tel`)."""
    return _LABEL_ONLY_RE.fullmatch(text) is not None


def scrub_sql(value: str) -> str:
    """SQL: the VARCHAR expression `value` masked as `scrub_text` masks it (NULL stays NULL). Needs the macros of
    `wfm.ingest.codes.install_sql` on the connection."""
    mask = sql_literal(MASK)
    ids = (
        f"list_filter(regexp_extract_all({value}, {sql_literal(ID_RUN)}), lambda r: length(r) = 18 AND "
        f"id_check_char(translate(left(r, 17), '{_FULL_WIDTH}', '{_ASCII}')) = "
        f"upper(translate(right(r, 1), '{_FULL_WIDTH}', '{_ASCII}')))"
    )
    text = f"list_reduce({ids}, lambda acc, r: replace(acc, r, {mask}), {value})"
    for _ in range(2):
        text = f"regexp_replace({text}, {sql_literal(PHONE)}, {sql_literal(f'{BS}1{MASK}{BS}2')}, 'g')"
    text = f"regexp_replace({text}, {sql_literal(EMAIL)}, {mask}, 'g')"
    unlabel = sql_literal(f"{BS}1{BS}2{BS}4{BS}5{BS}6{MASK}")
    text = f"regexp_replace({text}, {sql_literal(LABELLED)}, {unlabel}, 'g')"
    return f"CASE WHEN regexp_matches({value}, {sql_literal(_PREFILTER)}) THEN {text} ELSE {value} END"


#: an ID number's shape: 17 digits whose 7th to 14th are a date of the 1900s or 2000s, and a check character,
#: with no digit on either side; only the runs of this shape go to the dearer check of `id_valid`
_ID_SHAPE = (
    f"(^|{_NOT_D}){_D}{{6}}(?:[1１][9９]|[2２][0０]){_D}{{2}}(?:[0０][1-9１-９]|[1１][0-2０-２])"
    f"(?:[0０][1-9１-９]|[1-2１-２]{_D}|[3３][0-1０-１]){_D}{{3}}[0-9０-９XxＸｘ]({_NOT_D}|$)"
)


def holds_personal_sql(value: str) -> str:
    """SQL: whether the VARCHAR expression `value` holds an ID number (18 characters with a real birth date and
    the right check character, so that a unified social credit code of digits is not taken for one), a phone
    number or an e-mail address. For the contract's own columns: such a value in a column that is not for it
    sends the row to quarantine, where it is masked. Needs the macros of `wfm.ingest.codes.install_sql`.

    A CASE, not AND/OR: DuckDB evaluates a CASE's later branches only for the rows the earlier ones left, so the
    ID check runs on the few values of an ID's shape, not on every value of the column."""
    ids = (
        f"list_bool_or(list_transform(regexp_extract_all({value}, {sql_literal(ID_RUN)}), lambda r: length(r) = 18 "
        f"AND id_valid(upper(translate(r, '{_FULL_WIDTH}', '{_ASCII}')))))"
    )
    return (
        f"CASE WHEN {value} IS NULL THEN NULL "
        f"WHEN regexp_matches({value}, {sql_literal(PHONE)}) THEN true "
        f"WHEN regexp_matches({value}, {sql_literal(EMAIL)}) THEN true "
        f"WHEN regexp_matches({value}, {sql_literal(_ID_SHAPE)}) THEN coalesce({ids}, false) "
        "ELSE false END"
    )


def label_only_sql(value: str) -> str:
    """SQL: whether the VARCHAR expression `value` is nothing but a contact label (NULL for NULL)."""
    return f"regexp_full_match({value}, {sql_literal(LABEL_ONLY)})"


def _header_words(name: str) -> str:
    """A header as lower-case words: camelCase and digits split off (`mobilePhone2` → `mobile phone`)."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", unicodedata.normalize("NFKC", name))
    return " ".join(re.findall(r"[a-z]+", text.lower()))


_HEADER_EN = "|".join(w.replace("-", " ").replace(" ", " ?") for w in CONTACT_WORDS_EN)
_HEADER_EN_RE = re.compile(rf"\b(?:{_HEADER_EN})\b")


def personal_header(name: str) -> bool:
    """Whether a column outside the contract is personal data by its header: it names contact data in Chinese or
    English (`联系电话`, `手机号`, `身份证号码`, `Contact person`, `e-mail`), or holds personal data itself."""
    folded = unicodedata.normalize("NFKC", name).lower()
    if any(word.lower() in folded for word in CONTACT_WORDS_ZH):
        return True
    if _HEADER_EN_RE.search(_header_words(name)):
        return True
    return scrub_text(name) != name
