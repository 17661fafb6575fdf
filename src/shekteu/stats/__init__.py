"""Operation statistics (issue 23): figures from press releases and from the platform itself.

``numbers`` finds the numbers a Russian or Kazakh text states (digits, words, thousands and millions,
mixed units), ``extract`` turns them into figures — measure, value, unit, substance, qualifier, scope,
period, region and the span they came from — and ``measures`` holds the vocabulary (a data file that
grows as releases name new things).
"""

from __future__ import annotations


class StatsError(Exception):
    """A problem with statistics input the user can fix; printed as one line."""
