"""The site config's rules, as pure functions over the raw `elma365:*` config values.

The program runs them before any resource exists (site.parse_site), and so does `make verify`
before it reads a server; the policy pack does not repeat them (policies/elma365_pack.py), it takes
only the production rule's message from here. Each rule yields
Violations that name the config key, the bad value and the rule, so an operator can fix every
problem of a site config in one pass, and returns what builds its part of the model (site.py)
from the values it checked: the config is walked once.

Modules: core (Violation, RawSite, the registry, building the model, value checks), defaults (the
one table), then one module of rules per config section; importing them here registers their rules
in this order, which is the order violations are reported in.
"""
from .core import *  # noqa: F401,F403
from .defaults import DEFAULTS, WHILE_OFF  # noqa: F401  (the one table of defaults)
from .site_rules import *  # noqa: F401,F403
from .haproxy_rules import *  # noqa: F401,F403
from .preflight_rules import *  # noqa: F401,F403
from .kubernetes_rules import *  # noqa: F401,F403
from .shape_rules import *  # noqa: F401,F403
