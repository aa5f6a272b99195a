"""``returns top``: a live per-crossing view of the pipeline, read from its topics.

:func:`services.top.cli.top` is the command; :mod:`services.observe` computes the
figures; :mod:`services.top.reader` reads the topics and the consumer groups' offsets;
:mod:`services.top.view` draws a frame. docs/adr/0010-live-view-and-surge-isolation.md
explains the choices.
"""
