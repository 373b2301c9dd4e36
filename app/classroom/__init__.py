"""The classroom: classes with join codes, students (signed cookies), quiz answers, shared runs.

``tables`` holds the SQLAlchemy rows (on ``app.db.Base``), ``service`` every database operation,
``auth`` the instructor token and the signed cookies, ``hub`` the live notifications to dashboards
and student pages, ``limits`` what students may run, ``room`` all of them together. No HTTP here:
the web layer reads requests, hands these modules plain values (``auth.Credentials``) and maps
their exceptions to status codes.
"""
