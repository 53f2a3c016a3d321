"""Typed methods for every method of the wire contract, written once for the three callers.

`Methods[R]` turns keyword arguments into the params map and hands it to `self._invoke(method,
params)`. The blocking client's `_invoke` returns the result (so R is a dict), the asyncio
client's returns an awaitable of it, and a pipeline's queues the call (R is None). Arguments
that are None are left out (nil counts as absent); `**extra` passes parameters this client does
not name yet straight through. `from` is a Python keyword, so it is spelled `from_`.
"""
from typing import Any, Dict, Generic, Iterable, List, Mapping, Optional, TypeVar, Union

from ._wire import clean_params

R = TypeVar("R")
EntityRef = Union[str, int, Mapping[str, Any]]   # a name or alias, a bare id, {"id": N} or a map
Record = Dict[str, Any]

__all__ = ["Methods", "EntityRef", "Record"]


class Methods(Generic[R]):
    """The contract's methods (see docs/protocol.md for every parameter and result)."""

    def _invoke(self, method: str, params: Dict[str, Any]) -> R:   # pragma: no cover
        raise NotImplementedError

    def _call(self, method: str, params: Dict[str, Any]) -> R:
        return self._invoke(method, clean_params(params))

    # --- server -------------------------------------------------------------------------------
    def ping(self) -> R:
        """`ping`: {"version": str, "protocol": 1}. Touches no storage (a readiness probe)."""
        return self._call("ping", {})

    def stats(self) -> R:
        """`stats`: counts, sizes, connections, uptime, last seq, per-method latencies."""
        return self._call("stats", {})

    def backup(self, path: str) -> R:
        """`backup` (admin only): a consistent, compacted copy into the absolute directory
        `path` (new or empty); {"path", "bytes"}. Conflict when the directory is not empty."""
        return self._call("backup", {"path": path})

    # --- entities ------------------------------------------------------------------------------
    def entity_put(self, name: str, kind: Optional[str] = None,
                   aliases: Optional[Iterable[str]] = None, description: Optional[str] = None,
                   wikidata: Optional[str] = None, **extra: Any) -> R:
        """`entity.put`: the entity, an existing one when `name` or an alias already names it
        (it gains the new aliases and any field it lacked). kind: person, organization,
        outlet, government, group, unknown."""
        return self._call("entity.put", dict(extra, name=name, kind=kind,
                                             aliases=list(aliases) if aliases is not None else None,
                                             description=description, wikidata=wikidata))

    def entity_get(self, id: int) -> R:
        """`entity.get`: the entity (a merged one with `merged_into`). NotFound (field "id")."""
        return self._call("entity.get", {"id": id})

    def entity_find(self, name: Optional[str] = None, prefix: Optional[str] = None,
                    limit: Optional[int] = None) -> R:
        """`entity.find`: {"items": [entity]} by exactly one of a whole `name` or alias, or a
        `prefix` (both folded). Never creates anything."""
        return self._call("entity.find", {"name": name, "prefix": prefix, "limit": limit})

    def entity_merge(self, from_: EntityRef, into: EntityRef, by: Optional[str] = None) -> R:
        """`entity.merge`: merges `from_` into `into` (names or ids, never created) and returns
        `into`; claims of `from_` answer as `into` from then on."""
        return self._call("entity.merge", {"from": from_, "into": into, "by": by})

    # --- claims -------------------------------------------------------------------------------
    def claim_put(self, claim: Optional[Mapping[str, Any]] = None, *,
                  on_duplicate: Optional[str] = None, **fields: Any) -> R:
        """`claim.put`: stores one claim, given as a map and/or keyword fields (`text` is the
        only required one; see PROTOCOL.md "Records"). {"id", "rev", "created"}.
        on_duplicate: "merge" (default), "skip" or "error" (Conflict with `id`)."""
        params = dict(claim or {})
        params.update(fields)
        if on_duplicate is not None:
            params["on_duplicate"] = on_duplicate
        return self._call("claim.put", params)

    def claim_get(self, id: int, as_of: Optional[str] = None) -> R:
        """`claim.get`: the claim; with `as_of` (a time) the claim as recorded by the end of that
        period plus its `verdicts` then. NotFound (field "id")."""
        return self._call("claim.get", {"id": id, "as_of": as_of})

    def claim_update(self, id: int, rev: int, set: Mapping[str, Any], by: Optional[str] = None,
                     **extra: Any) -> R:
        """`claim.update`: applies `set` (fields; None clears one) if the claim is still at
        `rev`; {"id", "rev"} with the new rev. Conflict (field "rev", `id`) otherwise."""
        return self._call("claim.update", dict(extra, id=id, rev=rev, set=dict(set), by=by))

    def claim_retract(self, id: int, reason: Optional[str] = None, by: Optional[str] = None,
                      rev: Optional[int] = None) -> R:
        """`claim.retract`: marks the claim retracted (idempotent); {"id", "rev"}. With `rev`,
        only at that revision (else Conflict)."""
        return self._call("claim.retract", {"id": id, "reason": reason, "by": by, "rev": rev})

    def claim_history(self, id: int, **extra: Any) -> R:
        """`claim.history`: {"items": [{"rev", "at", "by", "op", "claim"}]}, oldest first."""
        return self._call("claim.history", dict(extra, id=id))

    def claim_query(self, *, order: Optional[str] = None, limit: Optional[int] = None,
                    cursor: Any = None, **filters: Any) -> R:
        """`claim.query`: one page {"items": [claim], "cursor"}. Filters: speaker, about,
        outlet, via (entity refs), medium, status, tag, lang, said_from, said_to,
        include_retracted. order: said_desc (default), said_asc, recorded_desc. A page may be
        short or empty while `cursor` is not None: use iter_query() to walk them all."""
        return self._call("claim.query", dict(filters, order=order, limit=limit, cursor=cursor))

    def claim_search(self, q: str, *, limit: Optional[int] = None, cursor: Any = None,
                     **filters: Any) -> R:
        """`claim.search`: one page {"items": [{"id", "score", "snippet", "claim"}], "cursor",
        "total"} for the words, "phrases" and prefix* of `q`, with claim_query's filters (and
        `mark`). iter_search() follows the cursor."""
        return self._call("claim.search", dict(filters, q=q, limit=limit, cursor=cursor))

    def claim_match(self, text: str, speaker: Optional[EntityRef] = None,
                    lang: Optional[str] = None, min_similarity: Optional[float] = None,
                    limit: Optional[int] = None, include_retracted: Optional[bool] = None) -> R:
        """`claim.match`: {"items": [{"id", "similarity"}]}, near-duplicates of `text`, best
        first."""
        return self._call("claim.match", {"text": text, "speaker": speaker, "lang": lang,
                                          "min_similarity": min_similarity, "limit": limit,
                                          "include_retracted": include_retracted})

    def claim_import(self, claims: Iterable[Mapping[str, Any]],
                     on_duplicate: Optional[str] = None) -> R:
        """`claim.import`: one batch (≤ 10,000 by default); {"results": [{"id", "rev",
        "created"} or {"error": {...}}]} in input order. import_claims() streams any number."""
        return self._call("claim.import", {"claims": [dict(c) for c in claims],
                                           "on_duplicate": on_duplicate})

    claim_import_ = claim_import

    # --- verdicts, appearances, relations -----------------------------------------------------
    def verdict_add(self, claim: int, rating: Optional[str] = None, label: Optional[str] = None,
                    score: Optional[int] = None, by: Optional[str] = None,
                    at: Optional[str] = None, summary: Optional[str] = None,
                    url: Optional[str] = None, evidence: Optional[Iterable[str]] = None,
                    **extra: Any) -> R:
        """`verdict.add`: {"id", "claim_rev"}. rating: true, mostly-true, mixed, mostly-false,
        false, misleading, unproven, in-review; score 1-5. `extra` passes e.g. rating_value,
        best_rating, worst_rating, by_url."""
        return self._call("verdict.add", dict(extra, claim=claim, rating=rating, label=label,
                                              score=score, by=by, at=at, summary=summary, url=url,
                                              evidence=list(evidence) if evidence is not None else None))

    def verdict_list(self, claim: int, as_of: Optional[str] = None) -> R:
        """`verdict.list`: {"items": [verdict]}, oldest first by `at`."""
        return self._call("verdict.list", {"claim": claim, "as_of": as_of})

    def appearance_add(self, claim: int, url: Optional[str] = None,
                       outlet: Optional[EntityRef] = None, title: Optional[str] = None,
                       published_at: Optional[str] = None, lang: Optional[str] = None,
                       by: Optional[str] = None) -> R:
        """`appearance.add`: {"claim_rev"}; a `url` or an `outlet` is required."""
        return self._call("appearance.add", {"claim": claim, "url": url, "outlet": outlet,
                                             "title": title, "published_at": published_at,
                                             "lang": lang, "by": by})

    def relation_add(self, from_: int, to: int, kind: str, note: Optional[str] = None,
                     by: Optional[str] = None) -> R:
        """`relation.add`: {}. kind: confirms, contradicts, repeats, clarifies, retracts,
        responds-to."""
        return self._call("relation.add", {"from": from_, "to": to, "kind": kind, "note": note,
                                           "by": by})

    def relation_list(self, claim: int) -> R:
        """`relation.list`: {"items": [{"from", "to", "kind", "note"}]}, both directions."""
        return self._call("relation.list", {"claim": claim})

    # --- change feed --------------------------------------------------------------------------
    def changes(self, since: Optional[int] = None, limit: Optional[int] = None) -> R:
        """`changes`: {"items": [{"seq", "at", "op", "type", "id"}], "next"}, the changes after
        `since`, oldest first. iter_changes() pages through them."""
        return self._call("changes", {"since": since, "limit": limit})

    def unsubscribe(self, subscription: int) -> R:
        """`unsubscribe`: {}; NotFound (field "subscription") when it is not live here."""
        return self._call("unsubscribe", {"subscription": subscription})
