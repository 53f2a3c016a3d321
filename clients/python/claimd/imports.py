"""The report of import_claims(): what was stored and what was rejected, by input index."""
from typing import Any, Dict, List, Mapping, Optional

from .errors import Error, error_from_reply

__all__ = ["ImportReport", "Rejected"]


class Rejected:
    """One input the daemon refused: its 0-based `index` in the iterable, the `error` (an Error
    subclass, e.g. Invalid with field "claims[7].said_at" within its batch) and the `claim`
    map as it was sent."""

    __slots__ = ("index", "error", "claim")

    def __init__(self, index: int, error: Error, claim: Mapping[str, Any]) -> None:
        self.index = index
        self.error = error
        self.claim = claim

    def __repr__(self) -> str:
        return "Rejected(index=%d, error=%r)" % (self.index, self.error)


class ImportReport:
    """`imported`: inputs stored or matched to an existing claim; `created`: those that made a
    new claim (the rest were duplicates, merged or skipped); `rejected`: [Rejected] in input
    order; `ids`: the claim id of every input (None where rejected); `batches`: requests sent;
    `failed_batches`: [(first index, Error)] for batches refused whole (e.g. storage_full,
    too_large), whose inputs are also listed in `rejected` with that error."""

    def __init__(self) -> None:
        self.imported = 0
        self.created = 0
        self.rejected: List[Rejected] = []
        self.ids: List[Optional[int]] = []
        self.batches = 0
        self.failed_batches: List[Any] = []

    @property
    def duplicates(self) -> int:
        """Inputs that matched an existing claim (imported but not created)."""
        return self.imported - self.created

    @property
    def total(self) -> int:
        """Inputs read from the iterable."""
        return len(self.ids)

    def add_batch(self, start: int, claims: List[Dict[str, Any]], result: Any) -> None:
        """Records the reply of the batch whose first input is number `start`."""
        self.batches += 1
        results = result.get("results") if isinstance(result, dict) else None
        if not isinstance(results, list) or len(results) != len(claims):
            self.fail_batch(start, claims, Error("claim.import answered %d results for %d claims"
                                                 % (len(results or []), len(claims)), raw=result))
            return
        for i, (claim, r) in enumerate(zip(claims, results)):
            err = r.get("error") if isinstance(r, dict) else None
            if err is not None or not isinstance(r, dict):
                self.rejected.append(Rejected(start + i, error_from_reply(err), claim))
                self.ids.append(None)
                continue
            self.imported += 1
            if r.get("created"):
                self.created += 1
            self.ids.append(r.get("id"))

    def fail_batch(self, start: int, claims: List[Dict[str, Any]], error: Error) -> None:
        """Records a batch refused as a whole: every input of it is rejected with `error`."""
        self.failed_batches.append((start, error))
        for i, claim in enumerate(claims):
            self.rejected.append(Rejected(start + i, error, claim))
            self.ids.append(None)

    def __repr__(self) -> str:
        return ("ImportReport(imported=%d, created=%d, rejected=%d, batches=%d)"
                % (self.imported, self.created, len(self.rejected), self.batches))


def batches(iterable: Any, size: int):
    """Yields (start index, [claim dict]) of at most `size` inputs each."""
    batch: List[Dict[str, Any]] = []
    start = 0
    for claim in iterable:
        batch.append(dict(claim))
        if len(batch) >= size:
            yield start, batch
            start += len(batch)
            batch = []
    if batch:
        yield start, batch
