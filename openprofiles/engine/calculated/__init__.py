"""Calculated attributes (REFERENCE 3): definitions, their Expression, Filter and values.

``expression`` parses ``{ObjectTypeName.AttributeName}`` arithmetic; ``filters`` decides which
objects feed an attribute; ``definitions`` checks and keeps definitions; ``values`` computes a
profile's value from its objects' observations (kept by ``observations``, backfilled for
UseHistoricalData by ``backfill``); ``sql`` computes the same value inside a query, for segments.
"""
