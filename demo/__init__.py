"""The demo store (``manage.py seed_demo``, run by ``make run``): an adapter on top of every app,
kept out of the kernel."""
