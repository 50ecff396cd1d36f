"""The stages after ingest, as pure functions over tables.

Each takes the frames it needs and returns new frames; ``pipeline.run``
reads and writes them. Heavy resources (word lists, Apertium, the spaCy
pipeline) are loaded once per process by the modules that own them.
"""
from __future__ import annotations

from collections import Counter
from functools import partial

import pandas as pd

from pipeline.normalise import backend_info, detect_variant, get_backend, to_bokmal
from pipeline.normalise.text import Tokens


def board_majorities(posts: pd.DataFrame, results: list) -> dict[str, str]:
    """Each board's majority variant among posts with enough distinctive words (nb when none)."""
    counts: dict[str, Counter] = {}
    for board_id, result in zip(posts["board_id"], results):
        if not result.defaulted:
            counts.setdefault(board_id, Counter())[result.variant] += 1
    return {board: c.most_common(1)[0][0] for board, c in counts.items()}


def normalise(posts: pd.DataFrame, backend: str = "auto") -> tuple[pd.DataFrame, dict]:
    """Detect each post's written standard and carry Nynorsk over into Bokmål.

    Posts without distinctive words take their board's majority. ``to_bokmal``
    is called once for all posts (one Apertium request per call). Each post
    is tokenised once, for detection and carry-over. Returns the posts with
    the variant columns and ``text_nb`` filled, and the backend's name and
    version for the manifest.
    """
    texts = posts["text_clean"].fillna("").tolist()
    tokens = [Tokens(text) for text in texts]
    first = [detect_variant(text, tokens=tok) for text, tok in zip(texts, tokens)]
    majority = board_majorities(posts, first)
    results = [
        detect_variant(text, board_majority=majority.get(board, "nb"), tokens=tok) if result.defaulted else result
        for text, tok, board, result in zip(texts, tokens, posts["board_id"], first)
    ]
    chosen = get_backend(backend)
    out = posts.copy()
    out["variant"] = [r.variant for r in results]
    out["variant_score"] = [r.score for r in results]
    out["nn_share"] = [r.nn_share for r in results]
    out["nb_share"] = [r.nb_share for r in results]
    out["variant_defaulted"] = [r.defaulted for r in results]
    out["text_nb"] = to_bokmal(texts, backend=chosen, variants=out["variant"].tolist(), tokens=tokens)
    return out, backend_info(chosen)


def who(posts: pd.DataFrame, boards: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Groups, participants and places; returns posts with ``group_id`` and the three tables."""
    from pipeline.who import extract_who

    found = extract_who(posts, boards)
    # A person field that is only a pseudonym reads "Person 7", as in posts.author.
    found["participants"]["person"] = found["participants"]["person"].str.replace(
        r"^\[(Person \d+)\]$", r"\1", regex=True
    )
    group_of = dict(zip(found["post_groups"]["post_id"], found["post_groups"]["group_id"]))
    out = posts.copy()
    out["group_id"] = out["post_id"].map(group_of)
    return out, {name: found[name] for name in ("groups", "participants", "places")}


def _joined_union(values, sep: str, sort: bool = False) -> str | None:
    items: list[str] = []
    for value in values:
        if isinstance(value, str) and value:
            items += [v.strip() for v in value.split(sep.strip()) if v.strip() and v.strip() not in items]
    if sort:
        items.sort()
    return sep.join(items) or None


def _column(records: list[dict], name: str) -> list:
    return [record[name] for record in records]


def merge_groups(groups: pd.DataFrame) -> pd.DataFrame:
    """One row per group across boards: a group of a seminar can post on several of its boards.

    Rows come in board order; the first row gives the label, first post and
    venue; boards, municipalities and organisations are united; post and
    person counts are summed (a person on two boards is counted twice).
    """
    if groups.empty or groups["group_id"].is_unique:
        return groups
    parts: dict[str, list[dict]] = {}
    for record in groups.to_dict("records"):  # plain dicts: a groupby with Series per group is ten times slower
        parts.setdefault(record["group_id"], []).append(record)
    rows = []
    for part in parts.values():
        column = partial(_column, part)
        first = dict(part[0])
        numbers = _joined_union(column("kommunenummer"), ";", sort=True)
        names_by_number = {}
        for nums, names in zip(column("kommunenummer"), column("kommuner")):
            if isinstance(nums, str) and isinstance(names, str):
                names_by_number.update(zip(nums.split(";"), names.split("; ")))
        first.update(
            board_ids=_joined_union(column("board_ids"), ";"),
            n_posts=int(sum(v for v in column("n_posts") if not pd.isna(v))),
            kommunenummer=numbers,
            kommuner="; ".join(names_by_number.get(n, n) for n in numbers.split(";")) if numbers else None,
            unresolved_places=_joined_union(column("unresolved_places"), "; "),
            venue=next((v for v in column("venue") if isinstance(v, str)), None),
            organisations=_joined_union(column("organisations"), "; "),
            n_persons=int(sum(v for v in column("n_persons") if not pd.isna(v))),
        )
        rows.append(first)
    return pd.DataFrame(rows, columns=groups.columns)
