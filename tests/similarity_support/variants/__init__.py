"""One module per assignment: ``ASSIGNMENT`` and ``VARIANTS = {grade_id: [answer cell source, ...]}``."""
