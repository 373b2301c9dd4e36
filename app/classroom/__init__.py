"""The classroom: classes with join codes, students (signed cookies), quiz answers, shared runs.

``tables`` holds the SQLAlchemy rows (on ``app.db.Base``), ``service`` every database operation,
``auth`` the instructor token and the signed cookies, ``hub`` the live notifications to dashboards
and student pages, ``limits`` what students may run. No HTTP here except the FastAPI dependencies
in ``auth``; the routes are in ``app/api/classes.py``.
"""
