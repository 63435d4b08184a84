# The kept mistakes are notebook-cell sources, not modules: don't import them for doctests.
collect_ignore = ["mistakes"]
