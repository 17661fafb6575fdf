"""Covert seismic sensors at plantations and suspected labs (issue 22): detect, classify, alert.

Recordings and SeedLink streams go through ``read`` (safe opening with size, sample and rate
limits; gaps and overlaps split into continuous segments), ``detect`` (per-station band-pass and
recursive STA/LTA carried across chunks, then network coincidence per site), ``features`` and
``model`` (footstep / vehicle / other from a small tree ensemble shipped as arrays, run with numpy),
``synth`` (modelled footsteps and vehicles embedded in real background, for training), ``sensors``
(the registry), ``alerts`` (episodes, quiet rules, sensor health) and ``watch`` (the real-time loop).
ObsPy is the ``seismic`` extra and is imported only inside this package.
"""


class SeismicError(ValueError):
    """A recording, stream or parameter that cannot be used; the message names it and the problem."""


def need_extra() -> None:
    """Fail with a one-line message when the ``seismic`` extra is missing, instead of an ImportError."""
    try:
        import obspy  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        raise SeismicError(
            f"seismic work needs the seismic extra: pip install 'shekteu[seismic]' ({exc.name} missing)"
        ) from None
