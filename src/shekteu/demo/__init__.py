"""A demo platform for newcomers (`shekteu demo`): invented shops, reports, walls, zones, field sites and
takedowns in every state, loaded through the library's own calls (``load.py``)."""
