"""Identity resolution: rule-based matching (``rules``, run by ``runner``, read by ``results``)."""
