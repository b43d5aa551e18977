"""The stock panel's own pages' addresses: read by the declaration (``__init__``, no UI) and the pages."""

ANALYTICS = "/stock/analytics"
OVERVIEW = "/stock/overview"
