"""The equipment panel's own pages' addresses: read by the declaration (``__init__``, no UI) and the pages."""

DASHBOARD = "/equipment/dashboard"
INTEGRATIONS = "/equipment/integrations"
STORE_CARD = "/equipment/stores/[id]/card"
