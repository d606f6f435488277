"""The pool's money-moving work: outbox, plant, harvest, TTL guard, settlement, scheduler."""
