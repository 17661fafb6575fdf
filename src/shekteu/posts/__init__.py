"""Checkpoint planning (issue 26): where to put the mobile posts on the roads out of the hemp zone,
and a rota that moves them so that couriers who watch cannot learn it.

``roads`` builds a routable graph from the OpenStreetMap data a user has, ``flows`` routes what the
field sites produce to where it goes, ``placement`` chooses k posts (exact ILP or greedy with a bound),
``rota`` turns the plan into a randomised daily roster, ``plan`` ties them together and writes the
outputs. Post positions are sensitive: everything that shows them goes through the ``posts`` permission
and the audit log (``store``).
"""

from __future__ import annotations


class PostsError(Exception):
    """A problem with the planner's input the user can fix; printed as one line."""
