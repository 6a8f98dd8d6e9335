"""fienet: visible-infrared person re-identification with FIENet (PFAM, MPIM, IGCL).

Data flows one way: ``config`` -> ``data`` -> ``model`` -> ``engine`` -> ``evaluation`` ->
``explain`` / ``plots``; the CLI (``fienet ...``) and the notebooks sit on top.
"""

__version__ = "0.1.0"
