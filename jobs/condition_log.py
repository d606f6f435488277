"""Log a persisting condition once and then only when it changes, not on every scheduler pass."""
from __future__ import annotations

import logging
from typing import Any, Hashable


class ConditionLog:
    """Remembers the last message logged per subject (a farmer, a pail); the same message for the
    same subject is not logged again until it changes or `clear` says the condition ended."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self._last: dict[Hashable, str] = {}

    def log(self, level: int, subject: Hashable, message: str, *args: Any, **kwargs: Any) -> bool:
        """Log `message % args` unless it is what was last logged for `subject`; True when logged."""
        text = message % args if args else message
        if self._last.get(subject) == text:
            return False
        self._last[subject] = text
        self.logger.log(level, message, *args, **kwargs)
        return True

    def clear(self, subject: Hashable) -> None:
        """The condition of `subject` ended: its next occurrence is logged again."""
        self._last.pop(subject, None)
