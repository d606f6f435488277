"""The token bucket behind rate limiting."""
from web.ratelimit import RateLimiter, retry_after


def test_a_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(60)] == [0.0] * 60
    assert limiter.take("k") == 1.0
    now[0] += 1.0
    assert limiter.take("k") == 0.0
    assert limiter.take("other") == 0.0


def test_retry_after_is_whole_seconds_at_least_one():
    assert (retry_after(0.01), retry_after(1.2)) == ("1", "2")
