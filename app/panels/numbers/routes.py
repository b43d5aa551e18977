"""The numbers panel's own pages' addresses: read by the declaration (``__init__``, no UI) and the pages."""

CONVERSION = "/numbers/conversion"
IMPORT = "/numbers/import"
SETUP = "/numbers/setup"
SOFTPHONE = "/numbers/softphone"
