"""The numbers panel's own pages' addresses: read by the declaration (``__init__``, no UI) and the pages."""

CONVERSION = "/numbers/conversion"
IMPORT = "/numbers/import"
SOFTPHONE = "/numbers/softphone"
