"""Every limit's numbers in one place. A classroom sits behind one NAT address: limits per address
are sized for a whole class arriving together, limits per seat or client for one person."""

from __future__ import annotations

from app.limits.counters import Rate

# Wrong instructor tokens (login form, bearer headers, forged cookies, dashboard websockets).
WRONG_TOKENS_PER_ADDRESS = Rate(30, 60.0)
# Joining a class: a whole class (up to 200 students, plus rejoins) behind one address joins within a
# few minutes; one client flooding joins gets at most this many seats a window (then remove + block).
JOINS_PER_ADDRESS = Rate(250, 300.0)
# Unknown class codes asked for, per address: a class's typos stay far below it; guessing codes stops
# there (every join from the address is refused until the window slides, the right code included).
WRONG_CODES_PER_ADDRESS = Rate(100, 300.0)
# Job submissions by anyone but the instructor, per address (across every seat behind it).
SUBMISSIONS_PER_ADDRESS = Rate(60, 600.0)
# Generation requests per client (seat, or address for anonymous use) and per address.
GENERATIONS_PER_CLIENT = Rate(30, 60.0)
GENERATIONS_PER_ADDRESS = Rate(120, 60.0)
# Uploads per owner (seat, or address for anonymous use).
UPLOADS_PER_OWNER = Rate(10, 3600.0)
