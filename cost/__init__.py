"""Monthly cost estimates of a stack from its recorded graph (``offline.graph`` JSON).

The package reads graph JSON dicts only: it never imports the program, the components or the
offline engine (``cli/cost.py`` composes the engine with it). ``prices`` loads the reviewed price
table, ``coverage`` says how every resource type is billed, ``profile`` holds the traffic
assumptions, ``estimators`` prices one resource, ``model`` adds a stack up, ``render`` prints it.
``catalog`` reads Google's public SKU catalog (the HTTP layer is passed in) and ``price_check``
compares the price table with it (``omni cost check-prices``).
"""
