"""Claim predicates of claimable balances, as stellar-core checks, rewrites and evaluates them (CAP-23).

A predicate is valid when it nests at most 4 deep, AND/OR have exactly two
children, NOT has one, and times are not negative. At creation relative times
become absolute (close time + seconds, saturating at INT64_MAX); at claim time a
predicate is evaluated against the ledger close time.
"""
from __future__ import annotations

from stellar_sdk import xdr

from devnet.entries import MAX_INT64

Kind = xdr.ClaimPredicateType
MAX_DEPTH = 4


def valid(predicate: xdr.ClaimPredicate, depth: int = 1) -> bool:
    """Whether core's checkValid accepts the predicate."""
    if depth > MAX_DEPTH:
        return False
    kind = predicate.type
    if kind in (Kind.CLAIM_PREDICATE_AND, Kind.CLAIM_PREDICATE_OR):
        children = predicate.and_predicates if kind == Kind.CLAIM_PREDICATE_AND else predicate.or_predicates
        return len(children) == 2 and all(valid(child, depth + 1) for child in children)
    if kind == Kind.CLAIM_PREDICATE_NOT:
        return predicate.not_predicate is not None and valid(predicate.not_predicate, depth + 1)
    if kind == Kind.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME:
        return predicate.abs_before.int64 >= 0
    if kind == Kind.CLAIM_PREDICATE_BEFORE_RELATIVE_TIME:
        return predicate.rel_before.int64 >= 0
    return kind == Kind.CLAIM_PREDICATE_UNCONDITIONAL


def absolute(predicate: xdr.ClaimPredicate, close_time: int) -> xdr.ClaimPredicate:
    """The predicate stored in the entry: every relative time made absolute from `close_time`."""
    kind = predicate.type
    if kind == Kind.CLAIM_PREDICATE_AND:
        return xdr.ClaimPredicate(kind, and_predicates=[absolute(p, close_time) for p in predicate.and_predicates])
    if kind == Kind.CLAIM_PREDICATE_OR:
        return xdr.ClaimPredicate(kind, or_predicates=[absolute(p, close_time) for p in predicate.or_predicates])
    if kind == Kind.CLAIM_PREDICATE_NOT:
        return xdr.ClaimPredicate(kind, not_predicate=absolute(predicate.not_predicate, close_time))
    if kind == Kind.CLAIM_PREDICATE_BEFORE_RELATIVE_TIME:
        before = min(close_time + predicate.rel_before.int64, MAX_INT64)
        return xdr.ClaimPredicate(Kind.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME, abs_before=xdr.Int64(before))
    return predicate


def holds(predicate: xdr.ClaimPredicate, close_time: int) -> bool:
    """Whether a stored predicate lets its claimant claim in a ledger closing at `close_time`."""
    kind = predicate.type
    if kind == Kind.CLAIM_PREDICATE_UNCONDITIONAL:
        return True
    if kind == Kind.CLAIM_PREDICATE_AND:
        return all(holds(p, close_time) for p in predicate.and_predicates)
    if kind == Kind.CLAIM_PREDICATE_OR:
        return any(holds(p, close_time) for p in predicate.or_predicates)
    if kind == Kind.CLAIM_PREDICATE_NOT:
        return not holds(predicate.not_predicate, close_time)
    if kind == Kind.CLAIM_PREDICATE_BEFORE_ABSOLUTE_TIME:
        return close_time < predicate.abs_before.int64
    return False  # a relative time never survives creation
