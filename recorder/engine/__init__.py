"""The engine: set up once, it captures, ingests and trains in the background.

`install.py` makes `claude` run through the recorder and writes the systemd unit;
`daemon.py` is the engine itself (watch, ingest, trigger training); `pidfile.py` keeps
one engine per data directory; `settings.py` reads its thresholds; `status.py` says
where things stand; `commands.py` is the thin CLI over all of it.
"""
