"""Sign-in throttling: who may try a password now, decided in Redis before the password is checked.

The policy (docs/security.md, "Sign-in"; OWASP Authentication and Credential Stuffing cheat
sheets) keeps guessing slow without letting an attacker lock the owner out:

* **(account, client address)**: ``login_max_per_account`` wrong passwords within
  ``login_window_seconds``, then *that address* is refused for that account until the window
  ends. The owner signing in from another address is not affected.
* **client address**: ``login_max_per_ip`` wrong passwords across all accounts within the window
  (password spraying); an IPv6 client counts as its /64, which one subscriber usually holds.
* **account, from anywhere** (a distributed attack): after ``login_account_free_failures``
  wrong passwords each further attempt must wait — 1 s, 2 s, 4 s … up to
  ``login_delay_max_seconds`` — for a server-side "not before" time; earlier attempts get 429
  with ``Retry-After``, and no worker ever sleeps. Addresses the account signed in from within
  ``login_known_days`` skip the wait (they keep their own per-address limit), so a botnet slows
  the account down for strangers, not for its owner at their usual place.

Every decision is one Lua script: the counters are checked *and* incremented atomically before
the slow argon2 check, so a burst of parallel attempts cannot slip past the limits (before, the
counter was read, the hash checked, and only then incremented: 100 parallel wrong passwords
reached 91 checks against a limit of 5). A success clears the account's counters and gives back
the address's attempt; a failure keeps them.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from app.core.config import settings
from app.core.errors import Throttled
from app.core.redis import redis_client

PREFIX = "pult:login"

# KEYS: pair, ip, account, account "not before", known addresses.
# ARGV: now, pair limit, ip limit, window, free failures, max delay, account window,
#       known-since, client member, has-ip flag.
_ADMIT = """
local now = tonumber(ARGV[1])
local pair_limit, ip_limit, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local free, delay_max, acct_window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local known_since, member, has_ip = tonumber(ARGV[8]), ARGV[9], ARGV[10] == '1'

if tonumber(redis.call('GET', KEYS[1]) or '0') >= pair_limit then
  return {'locked', tostring(redis.call('TTL', KEYS[1]))}
end
if has_ip and tonumber(redis.call('GET', KEYS[2]) or '0') >= ip_limit then
  return {'ip', tostring(redis.call('TTL', KEYS[2]))}
end
local failures = tonumber(redis.call('GET', KEYS[3]) or '0')
if failures >= free then
  local seen = has_ip and redis.call('ZSCORE', KEYS[5], member)
  if not (seen and tonumber(seen) >= known_since) then
    local not_before = tonumber(redis.call('GET', KEYS[4]) or '0')
    if now < not_before then
      return {'wait', string.format('%.6f', not_before - now)}
    end
    -- This attempt takes the slot; the next one waits twice as long as the last.
    local delay = math.min(2 ^ (failures - free), delay_max)
    redis.call('SET', KEYS[4], string.format('%.6f', now + delay), 'EX', acct_window)
  end
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], window) end
if has_ip and redis.call('INCR', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], window) end
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], acct_window)
return {'ok', '0'}
"""

# KEYS: ip. Give back one attempt, never below zero.
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
return 0
"""


def _clock() -> float:
    """Seconds since the epoch; one function so tests can move time forward."""
    return time.time()


def client_key(ip: str | None) -> str:
    """How an address is counted: itself, or its /64 for IPv6; ``-`` when unknown."""
    if not ip:
        return "-"
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:  # ::ffff:1.2.3.4 is that IPv4 client
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


@dataclass(frozen=True)
class Attempt:
    """The Redis keys of one sign-in attempt."""

    account: str
    client: str
    has_ip: bool

    @classmethod
    def of(cls, username: str, ip: str | None) -> "Attempt":
        return cls(username.strip().lower()[:100], client_key(ip), bool(ip))

    @property
    def pair_key(self) -> str:
        return f"{PREFIX}:pair:{self.account}:{self.client}"

    @property
    def ip_key(self) -> str:
        return f"{PREFIX}:ip:{self.client}"

    @property
    def account_key(self) -> str:
        return f"{PREFIX}:acct:{self.account}"

    @property
    def not_before_key(self) -> str:
        return f"{PREFIX}:acct_nb:{self.account}"

    @property
    def known_key(self) -> str:
        return f"{PREFIX}:known:{self.account}"

    def keys(self) -> list[str]:
        return [self.pair_key, self.ip_key, self.account_key, self.not_before_key, self.known_key]


def admit(attempt: Attempt) -> None:
    """Count this attempt, or refuse it with :class:`Throttled` (429 + ``Retry-After``).

    Redis errors propagate (the caller turns an outage into 503): a sign-in is never let through
    unthrottled because the counters cannot be read.
    """
    from app.core.security_policy import login_limits  # Administration → Security's limits, else the environment's

    limits = login_limits(defaults=settings)
    now = _clock()
    verdict, value = redis_client().eval(
        _ADMIT, 5, *attempt.keys(),
        f"{now:.6f}", limits.max_per_account, limits.max_per_ip, limits.window_seconds,
        settings.login_account_free_failures, settings.login_delay_max_seconds, settings.login_account_window_seconds,
        f"{now - settings.login_known_days * 86400:.6f}", attempt.client, "1" if attempt.has_ip else "0",
    )
    if verdict == "ok":
        return
    seconds = max(1, math.ceil(float(value) - 0.001))  # whole seconds, not 1.000001 → 2
    if verdict == "wait" and seconds < 60:
        raise Throttled("login.wait", retry_after=seconds, seconds=seconds)
    raise Throttled("login.throttled", retry_after=seconds, minutes=math.ceil(seconds / 60))


def succeeded(attempt: Attempt) -> None:
    """The password was right: forget the account's failures, give the address its attempt back,
    and remember the address as the owner's."""
    r = redis_client()
    pipe = r.pipeline()
    pipe.delete(attempt.pair_key, attempt.account_key, attempt.not_before_key)
    if attempt.has_ip:
        pipe.eval(_GIVE_BACK, 1, attempt.ip_key)
        pipe.zadd(attempt.known_key, {attempt.client: _clock()})
        pipe.zremrangebyscore(attempt.known_key, "-inf", _clock() - settings.login_known_days * 86400)
        pipe.expire(attempt.known_key, settings.login_known_days * 86400)
    pipe.execute()


def not_attempted(attempt: Attempt) -> None:
    """The password could not be checked (the database is down): the attempt does not count."""
    r = redis_client()
    pipe = r.pipeline()
    for key in (attempt.pair_key, attempt.account_key) + ((attempt.ip_key,) if attempt.has_ip else ()):
        pipe.eval(_GIVE_BACK, 1, key)
    pipe.execute()
